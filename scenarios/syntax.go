package scenarios

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// syntaxLocation is where a YAML syntax error is, and what to say of it.
type syntaxLocation struct {
	pos     Pos
	problem string // yaml.v3's words
	where   string // " in the list that starts on line 4", or ""
	hint    string // after "expected well-formed YAML", or ""
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlContexts are the parser errors that yaml.v3 reports at the line of
// the enclosing collection, with how to name that collection.
var yamlContexts = map[string]struct{ what, hint string }{
	"did not find expected '-' indicator": {"the list that starts on line %d", " (check the indentation of this line against the lines above it)"},
	"did not find expected key":           {"the mapping that starts on line %d", " (check the indentation and quoting of this line)"},
	"did not find expected ',' or ']'":    {"the list opened with '[' on line %d", " (is a ',' between entries or the closing ']' missing?)"},
	"did not find expected ',' or '}'":    {"the mapping opened with '{' on line %d", " (is a ',' between entries or the closing '}' missing?)"},
}

// yamlParserErrors are the other errors of yaml.v3's parser (rather than
// its scanner), whose line counts from 0.
var yamlParserErrors = []string{
	"did not find expected node content",
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
	"found undefined tag handle",
}

// locateBudget bounds the bytes parsed in the search for a column: a huge
// file gets the first column of the line instead of a slow answer.
const locateBudget = 64 << 20

// yamlMessage parses every document of data and returns yaml.v3's error,
// or "" when data is well-formed.
func yamlMessage(data []byte) string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if err == io.EOF {
				return ""
			}
			return err.Error()
		}
	}
}

// splitYAMLMessage takes "yaml: line N: PROBLEM" apart; line is 0 when the
// message has none.
func splitYAMLMessage(msg string) (line int, problem string) {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		return line, m[2]
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

// shifted is data with a blank line put first (after a byte order mark).
func shifted(data []byte) []byte {
	bom := 0
	if bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		bom = 3
	}
	out := make([]byte, 0, len(data)+1)
	out = append(out, data[:bom]...)
	out = append(out, '\n')
	return append(out, data[bom:]...)
}

// lineStart is the offset of the start of 1-based line n in data, or
// len(data) past its end.
func lineStart(data []byte, n int) int {
	off := 0
	for ; n > 1; n-- {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return len(data)
		}
		off += i + 1
	}
	return off
}

// locateSyntax finds where the problem of yaml.v3's message msg about
// data is, for it is often not where yaml.v3 says.
//
// yaml.v3 (v3.0.1) reports a syntax error as "yaml: line N: PROBLEM", or
// "yaml: PROBLEM" when N would be 0, and never with a column. N is not
// where the problem is:
//
//   - it is the line of the problem's context when there is one (the
//     start of the collection being parsed, or of the quoted scalar being
//     scanned), and only otherwise the line of the problem itself;
//   - it counts from 1 for errors of the scanner (a quote never closed, a
//     tab in the indentation) but from 0 for errors of the parser (a list
//     entry without "-", a flow list without "]"), which therefore name
//     the line before.
//
// So a misindented key on line 6 of a list that starts on line 4 is
// reported at "line 3". locateSyntax finds the real place by parsing
// variations of the file, where yaml.v3's own rules give it away (each
// a parse of the file, so only on the way to an error):
//
//   - with a blank line put first, every context is on a line other than
//     0, so N is the context's line (0-based, in the shifted file: the
//     original line, 1-based; or 1-based, one more than it);
//   - from the context's line on (a suffix of the file, its aliases
//     replaced, for their anchors may be before it), the context is on
//     line 0, so N is the 0-based line of the problem in the suffix;
//   - cut after a character of the problem's line, with a line break
//     appended, the file fails in the same way exactly when the cut keeps
//     the token yaml.v3 stumbled on; were the cut before it, the end of
//     the file would stand in its place, a line further on. The shortest
//     such cut gives the column;
//   - yaml.v3 takes a word for a key only at its ':', so a misplaced key is
//     found there; the key, which starts at the line's first word (after
//     any list indicators), is then the place.
//
// A file in UTF-16 is left to yaml.v3's line.
func locateSyntax(data []byte, msg string) syntaxLocation {
	n, problem := splitYAMLMessage(msg)
	loc := syntaxLocation{problem: problem}
	context, isContext := yamlContexts[problem]
	parser := isContext || slices.Contains(yamlParserErrors, problem)
	if bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		if parser {
			n++
		}
		loc.pos = Pos{max(n, 1), 1}
		return loc
	}
	// atEnd reports whether the problem yaml.v3 reports in msg about d is
	// the end of the file, which two more line breaks would move.
	atEnd := func(d []byte, msg string) bool {
		return yamlMessage(append(d[:len(d):len(d)], '\n', '\n')) != msg
	}

	// The context's line, or the problem's when it has none.
	msgS := yamlMessage(shifted(data))
	nS, problemS := splitYAMLMessage(msgS)
	var line int
	switch {
	case problemS != problem || nS == 0: // not the same failure: keep yaml.v3's line
		line = max(n, 1)
		if parser {
			line = n + 1
		}
	case parser:
		line = nS
	default:
		line = nS - 1
	}
	budget := locateBudget
	if problemS != problem {
		budget = 0 // nothing to compare the cuts with
	}
	if !isContext || problemS != problem {
		if problemS == problem && parser && atEnd(shifted(data), msgS) {
			loc.pos, loc.where = endOf(data), " at the end of the file"
			return loc
		}
		off := locateOnLine(data, line, &budget, func(cut []byte) bool {
			return yamlMessage(append(shifted(cut), '\n')) == msgS
		})
		switch {
		case problem == "found unexpected end of stream" && off < len(data) && (data[off] == '"' || data[off] == '\''):
			loc.hint = " (the quoted string that starts here is never closed)"
		case strings.Contains(problem, "tab character") || problem == "found character that cannot start any token":
			// A tab in the indentation, which yaml.v3 finds only at the
			// next token.
			start := lineStart(data, line)
			if i := bytes.IndexByte(data[start:off], '\t'); i >= 0 && len(bytes.TrimLeft(data[start:off], " \t")) == 0 {
				off = start + i
				loc.hint = " (YAML indents with spaces, not tabs)"
			}
		}
		loc.pos = posOf(data, off)
		return loc
	}

	// A collection's problem: parsed from the collection's line on, the
	// file fails with the problem's line in the message.
	loc.hint = context.hint
	in := fmt.Sprintf(" in "+context.what, line)
	suffix := withoutAliases(data[lineStart(data, line):])
	msgU := yamlMessage(suffix)
	r, problemU := splitYAMLMessage(msgU)
	switch {
	case problemU != problem || yamlMessage(shifted(suffix)) != "yaml: line 1: "+problem:
		// The suffix fails otherwise: say where the collection starts.
		budget = 0
		loc.pos, loc.where = posOf(data, locateOnLine(data, line, &budget, nil)), in
		return loc
	case atEnd(suffix, msgU):
		// The end of the file stands where more of the collection should.
		loc.pos, loc.where = endOf(data), " at the end of the file,"+in
		return loc
	}
	start := lineStart(suffix, r+1)
	off := locateOnLine(suffix, r+1, &budget, func(cut []byte) bool {
		return yamlMessage(append(cut, '\n')) == msgU
	})
	if off < len(suffix) && suffix[off] == ':' && !strings.Contains(problem, ",") {
		// yaml.v3 takes a word for a key only at its ':', but the key
		// starts the problem: on its line, after any list indicators.
		key := start
		for key < off && (suffix[key] == ' ' || suffix[key] == '-' && key+1 < off && suffix[key+1] == ' ') {
			key++
		}
		off = key
	}
	rel := posOf(suffix, off)
	loc.pos = Pos{line + rel.Line - 1, rel.Column}
	if rel.Line > 1 {
		loc.where = in
	}
	return loc
}

// locateOnLine returns the offset of the first character on 1-based line
// n of data that, kept in a cut of data, makes same true; without one (or
// past the budget), that of the line's first character that is not blank.
func locateOnLine(data []byte, n int, budget *int, same func(cut []byte) bool) int {
	start := lineStart(data, n)
	end := len(data)
	if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
		end = start + i
	}
	first := start
	for first < end && (data[first] == ' ' || data[first] == '\t') {
		first++
	}
	for off := first; off < end; {
		_, size := utf8.DecodeRune(data[off:])
		cut := off + size
		if *budget -= cut; *budget < 0 {
			break
		}
		if same(data[:cut:cut]) {
			return off
		}
		off = cut
	}
	return first
}

// withoutAliases returns a copy of data with each alias (*name) replaced
// by an empty flow list padded to its length: a node of one token, as the
// alias is, which no text after it continues (a word would run on into a
// more indented line), and which needs no anchor. A '*' that cannot start
// an alias, within a word, stays.
func withoutAliases(data []byte) []byte {
	out := bytes.Clone(data)
	for i := 0; i < len(out); i++ {
		if out[i] != '*' || i > 0 && !bytes.ContainsRune([]byte(" \t\r\n[{,"), rune(out[i-1])) {
			continue
		}
		j := i + 1
		for j < len(out) && (isAlnum(out[j]) || out[j] == '_' || out[j] == '-') {
			j++
		}
		if j-i >= 2 {
			out[i], out[i+1] = '[', ']'
			for k := i + 2; k < j; k++ {
				out[k] = ' '
			}
		}
		i = j - 1
	}
	return out
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// endOf is the position just after the last character of data that is not
// white space: where a closing bracket the file lacks would go.
func endOf(data []byte) Pos {
	return posOf(data, len(bytes.TrimRight(data, " \t\r\n")))
}
