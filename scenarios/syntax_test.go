package scenarios

import (
	"strings"
	"testing"
)

// TestSyntaxPositions checks that YAML syntax errors point at the line
// and column of the problem, whatever line yaml.v3 names; the golden
// files under testdata/bad have more. It checks what yaml.v3 says too,
// which locateSyntax relies on: a new yaml.v3 that says it otherwise
// fails here first.
func TestSyntaxPositions(t *testing.T) {
	for _, c := range []struct{ name, text, yaml, want string }{
		{"key at the list's indentation", "list:\n  - a\n  - b\n  c: 1\n",
			"yaml: line 1: did not find expected '-' indicator",
			"f.yaml:4:3: YAML syntax error: did not find expected '-' indicator in the list that starts on line 2; expected well-formed YAML (check the indentation of this line against the lines above it)"},
		// The root list's line is 0: yaml.v3 names the problem's line,
		// counted from 0.
		// The list's line on, the file has aliases whose anchor is before.
		{"key after an alias", "anchors: &all [a, b]\nitems:\n  - id: x\n    members: *all\n   name: y\n",
			"yaml: line 2: did not find expected '-' indicator", "f.yaml:5:4: YAML syntax error: did not find expected '-' indicator in the list that starts on line 3;"},
		{"key indented under an alias", "anchors: &all [a, b]\nitems:\n  - id: x\n    members: *all\n     name: y\n",
			"yaml: line 2: did not find expected key", "f.yaml:5:6: YAML syntax error: did not find expected key in the mapping that starts on line 3;"},
		{"key at the list's column", "- a\nb: 1\n", "yaml: line 1: did not find expected '-' indicator", "f.yaml:2:1: "},
		{"word after a quoted value", "a: 1\nb: \"x\" extra\n", "yaml: line 1: did not find expected key", "f.yaml:2:8: "},
		{"word after a nested quoted value", "a:\n  b: 1\n  c: \"x\" extra\n", "yaml: line 1: did not find expected key", "f.yaml:3:10: "},
		{"value after a block scalar", "a: |\n  text\n b: 1\n", "yaml: line 2: did not find expected key", "f.yaml:3:2: "},
		{"bracket too many", "a: 1\nb: [1, 2]]\n", "yaml: line 1: did not find expected key", "f.yaml:2:10: "},
		{"inner mapping closed by the list's bracket", "a: [1, {b: 2, c: [3, 4}\nd: 1\n", "yaml: did not find expected ',' or ']'", "f.yaml:1:23: "},
		{"list continued by a key", "x:\n  y: [a,\n      b,\n      c\n  z: 1\n",
			"yaml: line 1: did not find expected ',' or ']'",
			"f.yaml:5:4: YAML syntax error: did not find expected ',' or ']' in the list opened with '[' on line 2; expected well-formed YAML (is a ',' between entries or the closing ']' missing?)"},
		{"unclosed at the end", "a: {b: 1\n", "yaml: line 1: did not find expected ',' or '}'",
			"f.yaml:1:9: YAML syntax error: did not find expected ',' or '}' at the end of the file, in the mapping opened with '{' on line 1;"},
		{"unclosed at the end, no line break", "a: {b: 1", "yaml: line 1: did not find expected ',' or '}'", "f.yaml:1:9: "},
		{"unclosed before blank lines", "a: [1,\n  2\n\n\n", "yaml: line 4: did not find expected ',' or ']'",
			"f.yaml:2:4: YAML syntax error: did not find expected ',' or ']' at the end of the file, in the list opened with '[' on line 1;"},
		{"nothing after a bracket", "a:\n  - b\n  - c: [\n", "yaml: line 3: did not find expected node content",
			"f.yaml:3:9: YAML syntax error: did not find expected node content at the end of the file;"},
		// Errors of the scanner count from 1, and name the line of the
		// context (here the quote) unless it is line 0.
		{"quote never closed", "a: 1\nb: \"abc\nc: 2\n", "yaml: line 2: found unexpected end of stream",
			"f.yaml:2:4: YAML syntax error: found unexpected end of stream; expected well-formed YAML (the quoted string that starts here is never closed)"},
		{"quote never closed on line 1", "a: 'it''s\n", "yaml: line 2: found unexpected end of stream", "f.yaml:1:4: "},
		{"tab in the indentation", "a:\n\t- b\n", "yaml: line 2: found character that cannot start any token",
			"f.yaml:2:1: YAML syntax error: found character that cannot start any token; expected well-formed YAML (YAML indents with spaces, not tabs)"},
		{"character that starts nothing", "a: @x\n", "yaml: found character that cannot start any token", "f.yaml:1:4: "},
		{"byte order mark", "\xEF\xBB\xBFa: 1\n  b: 2\n", "yaml: line 2: mapping values are not allowed in this context", "f.yaml:2:4: "},
		{"key that is no key", "k1: v\nk2 v\nk3: v\n", "yaml: line 2: could not find expected ':'", "f.yaml:2:1: "},
		{"non-ASCII before the problem", "a:\n  - \"é ü\" extra\n", "yaml: line 1: did not find expected '-' indicator", "f.yaml:2:11: "},
		{"indented first line", "  a: 1\n b: 2\n", "yaml: line 1: did not find expected <document start>", "f.yaml:2:2: "},
	} {
		if got := yamlMessage([]byte(c.text)); got != c.yaml {
			t.Errorf("%s: yaml.v3 says %q, want %q", c.name, got, c.yaml)
		}
		_, err := Parse("f.yaml", []byte(c.text))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error starting %q", c.name, err, c.want)
		}
	}
}
