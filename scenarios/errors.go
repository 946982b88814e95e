package scenarios

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Kind classifies a scenario error, so that tests and tools can tell a
// misspelt field from an unreachable audience without parsing messages.
type Kind int

// The kinds of scenario error.
const (
	Other            Kind = iota
	Syntax                // the file is not well-formed YAML
	UnknownField          // a key the format does not have
	Missing               // a required field is absent
	BadValue              // a value of the wrong shape or out of range
	BadDuration           // a duration that does not parse
	BadDistribution       // a delay distribution that does not parse
	BadRate               // a rate that does not parse
	BadHours              // office hours that do not parse
	BadTLP                // an unknown TLP level
	BadTime               // a calendar time or time zone that does not resolve
	BadID                 // an id with characters or a form it may not have
	UnknownAgency         // a reference to an agency that is not declared
	UnknownChannel        // a reference to a channel that is not declared
	UnknownVariant        // a variant name that is not declared
	Duplicate             // an id or key declared twice
	BadTopology           // a channel whose topology is incomplete or inconsistent
	BadLatency            // a channel without a positive minimum latency
	BadRule               // a rule that does not say one clear thing
	Unreachable           // an audience member no rule can reach
	TooLarge              // a document whose aliases expand past the loader's caps
	UnaskableConsent      // warning: an audience member reached only through a consent that cannot be asked
)

var kindNames = [...]string{
	Other:            "other",
	Syntax:           "syntax",
	UnknownField:     "unknown field",
	Missing:          "missing",
	BadValue:         "bad value",
	BadDuration:      "bad duration",
	BadDistribution:  "bad distribution",
	BadRate:          "bad rate",
	BadHours:         "bad hours",
	BadTLP:           "bad TLP",
	BadTime:          "bad time",
	BadID:            "bad id",
	UnknownAgency:    "unknown agency",
	UnknownChannel:   "unknown channel",
	UnknownVariant:   "unknown variant",
	Duplicate:        "duplicate",
	BadTopology:      "bad topology",
	BadLatency:       "bad latency",
	BadRule:          "bad rule",
	Unreachable:      "unreachable",
	TooLarge:         "too large",
	UnaskableConsent: "unaskable consent",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Pos is a position in a scenario file, 1-based as editors count.
type Pos struct{ Line, Column int }

// Positions maps a path in the document, such as "channels[2].latency" or
// "variants[1].channels[0].id", to where its node starts. Later stages (the
// agents, the report) use it to point back into the file.
type Positions map[string]Pos

// Error is one problem in a scenario file. It carries the position and the
// document path so that tools can jump to it and tests can match it, and a
// message that says both what is wrong and what was expected.
type Error struct {
	File string
	Pos
	Path string // e.g. channels[2].latency; empty for the whole file
	Kind Kind
	Msg  string
	// Warning marks a problem that does not stop the file from loading
	// (Scenario.Warnings): the file may mean it, but it is likely a mistake.
	Warning bool
}

// Error formats the problem the way compilers do, file:line:column: message,
// which editors and terminals turn into links; a warning's message starts
// with "warning: ".
func (e *Error) Error() string {
	msg := e.Msg
	if e.Warning {
		msg = "warning: " + msg
	}
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, msg)
	}
}

// ErrorList is every problem found in a file. Loading never stops at the
// first, so that one edit-and-retry fixes them all.
type ErrorList []*Error

// Error prints one problem per line in file order.
func (l ErrorList) Error() string {
	s := slices.Clone(l)
	s.sort()
	lines := make([]string, len(s))
	for i, e := range s {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sort orders by file, line, column and message, and drops exact repeats
// (a base problem seen again while checking a variant).
func (l *ErrorList) sort() {
	slices.SortStableFunc(*l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column), cmp.Compare(a.Msg, b.Msg))
	})
	*l = slices.CompactFunc(*l, func(a, b *Error) bool {
		return a.File == b.File && a.Pos == b.Pos && a.Msg == b.Msg
	})
}

// err returns the list as an error, or nil when it is empty, so that a
// function returning ErrorList never yields a non-nil error holding nothing.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	l.sort()
	return l
}

// valueError is what the scalar decoders return: a message plus the kind
// the decoder files it under.
type valueError struct {
	kind Kind
	msg  string
}

func (e *valueError) Error() string { return e.msg }

func badf(kind Kind, format string, args ...any) error {
	return &valueError{kind, fmt.Sprintf(format, args...)}
}

var yamlAnchor = regexp.MustCompile(`^yaml: (?:unknown anchor|anchor) '([^']*)'`)

// syntaxError turns a yaml.v3 parse error ("yaml: line 3: did not find
// expected key") into a positioned Error. yaml.v3's line is not always
// where the problem is, and it gives no column, so locateSyntax finds
// both (see syntax.go). The few errors yaml.v3 reports without a line (an
// unknown or self-containing anchor) are placed at the anchor's first use
// in data, and anything else at 1:1, so that every syntax error has a
// position.
func syntaxError(file string, data []byte, err error) *Error {
	msg := err.Error()
	e := &Error{File: file, Kind: Syntax, Pos: Pos{1, 1}}
	if m := yamlAnchor.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			e.Pos = posOf(data, i)
		}
		e.Msg = "YAML syntax error: " + strings.TrimPrefix(msg, "yaml: ") + "; expected well-formed YAML"
		return e
	}
	loc := locateSyntax(data, msg)
	e.Pos = loc.pos
	e.Msg = "YAML syntax error: " + loc.problem + loc.where + "; expected well-formed YAML" + loc.hint
	return e
}

// posOf is the line and column (counted in characters, as editors do) of
// byte offset off in data.
func posOf(data []byte, off int) Pos {
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	return Pos{line, 1 + utf8.RuneCount(data[start:off])}
}

// textError finds the first byte that cannot be in a YAML file (a NUL or
// other control character, or a byte sequence that is not UTF-8) and says
// where it is. yaml.v3 rejects such files without a position, and binary
// files are a common mistake ("liaison run scenario.yaml.gz"). UTF-16
// files, which start with a byte order mark, are left to yaml.v3.
func textError(file string, data []byte) *Error {
	if bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return nil
	}
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		var what string
		switch {
		case r == utf8.RuneError && size <= 1:
			what = fmt.Sprintf("byte 0x%02X is not valid UTF-8; expected UTF-8 text (is the file saved in another encoding, or not a text file?)", data[off])
		case r == 0:
			what = "a NUL byte; expected UTF-8 text (is this a binary or compressed file?)"
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0x7F, r >= 0x80 && r <= 0x9F && r != 0x85, r == 0xFFFE, r == 0xFFFF:
			what = fmt.Sprintf("control character U+%04X; expected text without control characters other than tab and line breaks (is this a binary file?)", r)
		}
		if what != "" {
			return &Error{File: file, Pos: posOf(data, off), Kind: Syntax, Msg: "not a YAML text file: " + what}
		}
		off += size
	}
	return nil
}

// parseYAML checks that data is text and parses it into a node tree. A
// file holds one document, a scenario or (ParseInject) an inject, which
// what names for the error about a second one.
func parseYAML(file string, data []byte, what string) (*yaml.Node, *Error) {
	if e := textError(file, data); e != nil {
		return nil, e
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && err != io.EOF {
		return nil, syntaxError(file, data, err)
	}
	// yaml.Unmarshal would read the first document only; whatever follows
	// a "---" would be ignored without a word.
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if err == io.EOF {
			return &root, nil
		}
		if err != nil {
			return nil, syntaxError(file, data, err)
		}
		if !emptyDocument(&next) {
			return nil, &Error{File: file, Pos: Pos{next.Line, next.Column}, Kind: Syntax,
				Msg: fmt.Sprintf("a second YAML document starts here; expected one %s per file (a line --- starts a new document: remove it and what follows, or move the second %s to a file of its own)", what, what)}
		}
	}
}

// emptyDocument reports whether a document holds nothing: a "---" at the
// end of a file, maybe with comments after it.
func emptyDocument(doc *yaml.Node) bool {
	for _, n := range doc.Content {
		if n.Kind != yaml.ScalarNode || n.Tag != "!!null" || n.Value != "" || n.Anchor != "" {
			return false
		}
	}
	return true
}
