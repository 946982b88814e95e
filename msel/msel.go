// Package msel converts between a scenario's injects and the Master
// Scenario Events List (MSEL) spreadsheet that exercise planners keep: one
// row per inject with the usual columns (Inject No., Scenario Time, From,
// To, Delivery Method / Channel, Message, Expected Action, Objective) plus
// the ones Liaison needs (Type, TLP, Audience, Deadline, Originator
// Control, Originator, Urgent).
package msel

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"liaison"
	"liaison/scenarios"
)

// Columns of the MSEL CSV, in export order, with the scenario field each
// fills ("" for none: Delivery Method / Channel is kept for planners;
// Liaison delivers injects straight to the player).
var Columns = []struct{ Name, Field string }{
	{"Inject No.", "id"},
	{"Scenario Time", "at"},
	{"From", "from"},
	{"To", "to"},
	{"Delivery Method / Channel", ""},
	{"Message", "summary"},
	{"Expected Action", "expected"},
	{"Objective", "objective"},
	{"Type", "type"},
	{"TLP", "tlp"},
	{"Audience", "audience"},
	{"Deadline", "deadline"},
	{"Originator Control", "originator-control"},
	{"Originator", "originator"},
	{"Urgent", "urgent"},
	{"When", "when"},
	{"Trigger", "trigger"},
	{"After", "after"},
}

// DeliveryMethod is what the Delivery Method / Channel column says on
// export: an inject reaches its player directly.
const DeliveryMethod = "direct (inject)"

// fieldOrder is the order of the keys of an inject in the scenario file.
var fieldOrder = []string{"id", "at", "to", "from", "type", "summary", "tlp", "originator-control", "originator",
	"audience", "deadline", "urgent", "expected", "objective", "when", "trigger", "after"}

var required = []string{"id", "at", "to", "type", "summary"}

// Export writes the scenario's injects as an MSEL CSV.
func Export(sc *scenarios.Scenario, w io.Writer) error {
	cw := csv.NewWriter(w)
	var head []string
	for _, c := range Columns {
		head = append(head, c.Name)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, in := range sc.Injects {
		tlp, dl, orig := "", "", ""
		if in.TLP.Set {
			tlp = in.TLP.Level.String()
		}
		if in.Deadline > 0 {
			dl = in.Deadline.String()
		}
		if in.Originator != "" && in.Originator != in.To {
			orig = string(in.Originator)
		}
		var aud []string
		for _, a := range in.Audience {
			aud = append(aud, string(a))
		}
		after := ""
		if in.After > 0 {
			after = in.After.String()
		}
		row := []string{string(in.ID), in.At.String(), in.From, string(in.To), DeliveryMethod, in.Summary,
			in.Expected, in.Objective, string(in.Type), tlp, strings.Join(aud, "; "), dl,
			yesNo(in.OriginatorControl), orig, yesNo(in.Urgent), in.When, triggerText(in.Trigger), after}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "no", "n", "false", "0", "-":
		return false, true
	case "yes", "y", "true", "1", "x":
		return true, true
	}
	return false, false
}

// Errors is every problem found in an MSEL file, one per line as
// file:row:column: message (row as the spreadsheet counts, header = 1;
// column 1-based), in row order.
type Errors []string

func (e Errors) Error() string { return strings.Join(e, "\n") }

// maxErrors is how many row problems Import lists before it only counts
// the rest: a file whose every row is wrong needs one fix, not a screen
// per row.
const maxErrors = 100

// Import replaces the injects of a scenario file with the rows of an MSEL
// CSV read from csvData, writing the new file to w. The rest of the file
// is kept byte for byte, and the comments of injects whose id is imported
// again are carried over. Each row is checked as it is read, as `liaison
// validate` checks a scenario's injects (against the base scenario and
// every variant); any problem is reported at its row and column, and then
// what was written to w is incomplete and must be discarded (write
// through atomicfile).
//
// The rows are streamed: memory grows with the scenario, not with the
// number of rows, beyond the set of inject ids.
//
// The CSV may be separated by commas, semicolons (Excel's default where
// the decimal mark is a comma, as in the Nordic countries) or tabs: the
// header row decides. Scenario Time takes a duration since the start
// (2h30m) or a calendar time (2026-03-06 18:30, 06.03.2026 18:30, or RFC
// 3339), read in the scenario's time zone unless it has an offset.
func Import(csvName string, csvData io.Reader, yamlName string, yamlData []byte, w io.Writer) error {
	sec := findSection(yamlData)
	base, err := scenarios.Parse(yamlName, sec.without(yamlData))
	if err != nil {
		return outsideInjects(err)
	}
	comments, err := sec.comments(yamlData)
	if err != nil {
		return fmt.Errorf("%s: %v", yamlName, err)
	}
	r, err := newReader(csvName, csvData)
	if err != nil {
		return err
	}
	imp := &importer{name: csvName, r: r, base: base, check: base.NewInjectChecker(), comments: comments}
	if err := imp.header(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(sec.before(yamlData))
	rows := 0
	for {
		row, err := imp.next()
		if err != nil {
			return err
		}
		if row == nil {
			break
		}
		if len(imp.errs) > 0 {
			continue // keep checking; nothing more is written
		}
		if rows == 0 {
			bw.WriteString("injects:\n")
		}
		rows++
		if err := writeInject(bw, row); err != nil {
			return err
		}
	}
	if err := imp.check.Done(); err != nil {
		imp.report(err)
	}
	if len(imp.errs) > 0 {
		out := imp.errs
		if imp.more > 0 {
			out = append(out, fmt.Sprintf("%s: and %d more problems", csvName, imp.more))
		}
		return out
	}
	if rows == 0 {
		bw.WriteString("injects: []\n")
	}
	bw.Write(sec.after(yamlData))
	return bw.Flush()
}

// outsideInjects marks the scenario's own problems as not the CSV's.
func outsideInjects(err error) error {
	var list scenarios.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	var out Errors
	for _, e := range list {
		out = append(out, e.Error()+" (in the scenario outside the injects)")
	}
	return out
}

// section is where the injects section of a scenario file lies, in lines
// [start, end); start is -1 when the file has none.
type section struct {
	lines      [][]byte
	start, end int
}

// topKey matches a line that starts a top-level key of a block mapping.
var topKey = regexp.MustCompile(`^[^\s#\-][^:]*:(\s|$)|^"[^"]*"\s*:(\s|$)`)

// findSection finds the injects section by its lines: it runs from the
// injects key to the next top-level key, less the comments and blank
// lines that lead into that key. Reading the lines rather than the YAML
// keeps a long section from being parsed whole; scenario files are block
// mappings at the top, where every key starts a line at column 1.
func findSection(data []byte) section {
	s := section{lines: bytes.SplitAfter(data, []byte("\n")), start: -1}
	var keys []int
	for i, l := range s.lines {
		if topKey.Match(l) && !bytes.HasPrefix(l, []byte("---")) && !bytes.HasPrefix(l, []byte("...")) {
			keys = append(keys, i)
			if k, _, _ := strings.Cut(string(l), ":"); strings.Trim(strings.TrimSpace(k), `"'`) == "injects" && s.start < 0 {
				s.start = i
			}
		}
	}
	if s.start < 0 {
		return s
	}
	s.end = len(s.lines)
	for _, k := range keys {
		if k > s.start {
			s.end = k
			break
		}
	}
	if s.end < len(s.lines) {
		for s.end > s.start+1 {
			t := bytes.TrimSpace(s.lines[s.end-1])
			if len(t) != 0 && !(t[0] == '#' && s.lines[s.end-1][0] == '#') {
				break
			}
			s.end--
		}
	}
	return s
}

func join(lines [][]byte) []byte { return bytes.Join(lines, nil) }

// before is the file up to the section, or all of it (ending in a blank
// line) when it has no injects section.
func (s section) before(data []byte) []byte {
	if s.start < 0 {
		out := slices.Clone(data)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		return append(out, '\n')
	}
	return join(s.lines[:s.start])
}

func (s section) after(data []byte) []byte {
	if s.start < 0 {
		return nil
	}
	return join(s.lines[s.end:])
}

// without is the file with the section's lines blanked, so that the rest
// of the scenario can be checked and its errors keep their line numbers.
func (s section) without(data []byte) []byte {
	if s.start < 0 {
		return data
	}
	var b bytes.Buffer
	b.Write(join(s.lines[:s.start]))
	for range s.end - s.start {
		b.WriteByte('\n')
	}
	b.Write(join(s.lines[s.end:]))
	return b.Bytes()
}

// comments returns the old injects that carry comments, by id. Only the
// items of the section that contain a '#' are parsed, each on its own, so
// that a long section without comments costs a scan of its lines.
func (s section) comments(data []byte) (map[string]*yaml.Node, error) {
	out := map[string]*yaml.Node{}
	if s.start < 0 {
		return out, nil
	}
	body := s.lines[s.start:s.end]
	if !slices.ContainsFunc(body, func(l []byte) bool { return bytes.IndexByte(l, '#') >= 0 }) {
		return out, nil
	}
	// Items start where a line at the section's item indent starts with
	// "-"; comment lines before an item belong to it.
	indent := -1
	var items [][][]byte
	var pending [][]byte
	for _, l := range body[1:] {
		t := bytes.TrimLeft(l, " ")
		if indent < 0 && bytes.HasPrefix(t, []byte("-")) {
			indent = len(l) - len(t)
		}
		if indent >= 0 && len(l)-len(t) == indent && bytes.HasPrefix(t, []byte("-")) {
			items = append(items, append(pending, l))
			pending = nil
			continue
		}
		if len(items) == 0 || len(bytes.TrimSpace(l)) == 0 || bytes.HasPrefix(t, []byte("#")) && len(l)-len(t) <= indent {
			pending = append(pending, l)
			continue
		}
		items[len(items)-1] = append(items[len(items)-1], l)
	}
	first := body[0]
	if indent < 0 || len(bytes.TrimSpace(first[bytes.IndexByte(first, ':')+1:])) > 0 && bytes.TrimSpace(first[bytes.IndexByte(first, ':')+1:])[0] != '#' {
		items = [][][]byte{body[1:]} // a flow list or something unusual: parse it whole
		first = []byte("injects:\n")
	}
	for _, item := range items {
		chunk := join(item)
		if bytes.IndexByte(chunk, '#') < 0 {
			continue
		}
		var root yaml.Node
		if err := yaml.Unmarshal(append(slices.Clone(first), chunk...), &root); err != nil {
			// An alias to an anchor outside the section, or an item
			// that is not one: read the whole file instead.
			return wholeFileComments(data)
		}
		addCommented(out, &root)
	}
	return out, nil
}

// wholeFileComments is comments for files whose items cannot be read on
// their own.
func wholeFileComments(data []byte) (map[string]*yaml.Node, error) {
	out := map[string]*yaml.Node{}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	addCommented(out, &root)
	return out, nil
}

// addCommented adds the injects of a document (a mapping with an injects
// list) by id.
func addCommented(out map[string]*yaml.Node, root *yaml.Node) {
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return
	}
	doc := root.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "injects" {
			continue
		}
		for _, in := range doc.Content[i+1].Content {
			if in.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(in.Content); j += 2 {
				if in.Content[j].Value == "id" {
					out[in.Content[j+1].Value] = in
				}
			}
		}
	}
}

// keepComments carries the comments of the file's inject with the same id
// over to an imported one: on the inject, on each key and after each
// value.
func keepComments(in, o *yaml.Node) {
	in.HeadComment, in.FootComment = o.HeadComment, o.FootComment
	for j := 0; j+1 < len(in.Content); j += 2 {
		for k := 0; k+1 < len(o.Content); k += 2 {
			if o.Content[k].Value == in.Content[j].Value {
				in.Content[j].HeadComment = o.Content[k].HeadComment
				in.Content[j+1].LineComment = o.Content[k+1].LineComment
			}
		}
	}
}

// writeInject writes one inject as an item of the injects list, as
// yaml.v3 writes the list with an indent of 2.
func writeInject(w io.Writer, in *yaml.Node) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	section := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "injects"},
		{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{in}}}}
	if err := enc.Encode(section); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, item, _ := bytes.Cut(buf.Bytes(), []byte("injects:\n"))
	_, err := w.Write(item)
	return err
}

// newReader opens the CSV: a UTF-8 byte order mark is dropped, and the
// separator is whichever of comma, semicolon and tab the header row has
// most of outside quotes.
func newReader(name string, data io.Reader) (*csv.Reader, error) {
	br := bufio.NewReaderSize(data, 64<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\ufeff")) {
		br.Discard(3)
	}
	peek, err := br.Peek(br.Size())
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	r := csv.NewReader(br)
	r.Comma = sniff(peek)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	return r, nil
}

// sniff picks the separator of the header line.
func sniff(data []byte) rune {
	counts := map[rune]int{}
	quoted := false
	for _, c := range string(data) {
		if c == '"' {
			quoted = !quoted
		}
		if c == '\n' && !quoted {
			break
		}
		if !quoted && (c == ',' || c == ';' || c == '\t') {
			counts[c]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

// importer turns CSV rows into checked inject nodes.
type importer struct {
	name     string
	r        *csv.Reader
	base     *scenarios.Scenario
	check    *scenarios.InjectChecker
	comments map[string]*yaml.Node
	field    []string // the scenario field of each column, "-" for none
	rowOf    []int    // the CSV line of each imported inject, by index
	errs     Errors
	more     int // problems past maxErrors
}

func (imp *importer) errorf(line, col int, format string, args ...any) {
	if len(imp.errs) >= maxErrors {
		imp.more++
		return
	}
	imp.errs = append(imp.errs, fmt.Sprintf("%s:%d:%d: %s", imp.name, line, col, fmt.Sprintf(format, args...)))
}

// header reads the header row and maps its columns to fields.
func (imp *importer) header() error {
	head, err := imp.r.Read()
	if err == io.EOF {
		return fmt.Errorf("%s:1:1: empty file; expected a header row with %s", imp.name, columnList())
	}
	if err != nil {
		return csvError(imp.name, err)
	}
	imp.field = make([]string, len(head))
	seen := map[string]bool{}
	for i, h := range head {
		h = strings.TrimSpace(h)
		for _, c := range Columns {
			if strings.EqualFold(h, c.Name) {
				imp.field[i] = cmp.Or(c.Field, "-")
			}
		}
		switch {
		case imp.field[i] == "" && h != "":
			imp.errorf(1, i+1, "unknown column %q; expected %s", h, columnList())
		case imp.field[i] != "" && seen[imp.field[i]] && imp.field[i] != "-":
			imp.errorf(1, i+1, "column %q given twice", h)
		}
		seen[imp.field[i]] = true
	}
	for _, f := range required {
		if !seen[f] {
			imp.errorf(1, 1, "missing column %q", columnName(f))
		}
	}
	if len(imp.errs) > 0 {
		return imp.errs
	}
	return nil
}

// next reads and checks the next non-empty row; it returns nil at the end
// of the file. Problems with the row are collected in imp.errs; err is a
// CSV that cannot be read on.
func (imp *importer) next() (*yaml.Node, error) {
	for {
		rec, err := imp.r.Read()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, csvError(imp.name, err)
		}
		if allEmpty(rec) {
			continue
		}
		line, _ := imp.r.FieldPos(0)
		n, ok := imp.row(line, rec)
		if !ok {
			continue
		}
		imp.rowOf = append(imp.rowOf, line)
		if _, err := imp.check.Check(imp.name, n); err != nil {
			imp.report(err)
			continue
		}
		if o := imp.comments[idOf(n)]; o != nil {
			keepComments(n, o)
		}
		return n, nil
	}
}

// row builds the inject mapping of one record. Every node is positioned
// at its cell (line, spreadsheet column), so the scenario checker's
// errors point into the CSV.
func (imp *importer) row(line int, rec []string) (*yaml.Node, bool) {
	if len(rec) > len(imp.field) {
		imp.errorf(line, len(imp.field)+1, "%d fields but the header has %s; expected at most one field per column", len(rec), liaison.Plural(len(imp.field), "column", "columns"))
		return nil, false
	}
	ok := true
	type cellValue struct {
		v         string
		line, col int
	}
	vals := map[string]cellValue{}
	for i, v := range rec {
		v = strings.TrimSpace(v)
		if imp.field[i] == "-" || v == "" {
			continue
		}
		l, _ := imp.r.FieldPos(i)
		if !utf8.ValidString(v) {
			imp.errorf(l, i+1, "%s: not UTF-8 text; expected a CSV saved as UTF-8 (in Excel: CSV UTF-8)", columnName(imp.field[i]))
			ok = false
			continue
		}
		vals[imp.field[i]] = cellValue{v, l, i + 1}
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Column: 1}
	for _, f := range fieldOrder {
		c, found := vals[f]
		if !found {
			continue
		}
		scalar := func(tag, v string) *yaml.Node {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v, Line: c.line, Column: c.col}
		}
		var val *yaml.Node
		switch f {
		case "originator-control", "urgent":
			b, valid := parseBool(c.v)
			if !valid {
				imp.errorf(c.line, c.col, "%s: %q is not yes or no", columnName(f), c.v)
				ok = false
				continue
			}
			if !b {
				continue
			}
			val = scalar("!!bool", "true")
		case "audience":
			val = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: c.line, Column: c.col}
			for _, a := range strings.FieldsFunc(c.v, func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '\n' }) {
				val.Content = append(val.Content, scalar("!!str", a))
			}
		case "trigger":
			// A YAML flow mapping, as the scenario file writes it:
			// {item: I-1, agency: dk.police}.
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(c.v), &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
				imp.errorf(c.line, c.col, "%s: %q is not a condition; expected e.g. {item: I-1, agency: dk.police}", columnName(f), c.v)
				ok = false
				continue
			}
			val = doc.Content[0]
			relocate(val, c.line, c.col)
		case "at":
			at, err := imp.scenarioTime(c.v)
			if err != nil {
				imp.errorf(c.line, c.col, "%s: %v", columnName(f), err)
				ok = false
				continue
			}
			val = scalar("!!str", at)
		default:
			val = scalar("!!str", c.v)
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f, Line: c.line, Column: c.col}, val)
	}
	return m, ok
}

// relocate gives a node parsed from one cell, and its children, the cell's
// position, so that errors point at the cell.
func relocate(n *yaml.Node, line, col int) {
	n.Line, n.Column = line, col
	for _, c := range n.Content {
		relocate(c, line, col)
	}
}

// triggerText writes a conditional inject's condition as the Trigger
// column holds it: a YAML flow mapping.
func triggerText(tr *scenarios.Trigger) string {
	if tr == nil {
		return ""
	}
	return tr.String()
}

func idOf(n *yaml.Node) string {
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == "id" {
			return n.Content[j+1].Value
		}
	}
	return ""
}

// report turns the scenario checker's errors into CSV messages: the path
// in front becomes the column's name, and other injects are named by
// their rows.
func (imp *importer) report(err error) {
	var list scenarios.ErrorList
	if !errors.As(err, &list) {
		imp.errorf(imp.rowOf[len(imp.rowOf)-1], 1, "%v", err)
		return
	}
	for _, e := range list {
		msg := e.Msg
		if m := injectPath.FindStringSubmatch(e.Path); m != nil && m[2] != "" && strings.HasPrefix(msg, e.Path+": ") {
			msg = columnName(m[2]) + ": " + msg[len(e.Path)+2:]
		}
		msg = missingField.ReplaceAllStringFunc(msg, func(s string) string {
			f := missingField.FindStringSubmatch(s)[1]
			return fmt.Sprintf("empty %q cell in this row", columnName(f))
		})
		msg = injectRef.ReplaceAllStringFunc(msg, func(s string) string {
			i, _ := strconv.Atoi(injectRef.FindStringSubmatch(s)[1])
			if i < len(imp.rowOf) {
				return "row " + strconv.Itoa(imp.rowOf[i])
			}
			return s
		})
		imp.errorf(e.Line, e.Column, "%s", msg)
	}
}

var (
	injectPath   = regexp.MustCompile(`^injects\[(\d+)\](?:\.([a-z-]+))?`)
	injectRef    = regexp.MustCompile(`injects\[(\d+)\]`)
	missingField = regexp.MustCompile(`missing field "([a-z-]+)" in injects\[\d+\]`)
	dateLike     = regexp.MustCompile(`^\d{4}-\d{1,2}-\d{1,2}[T ]|^\d{1,2}[./-]\d{1,2}[./-]\d{4}`)
)

// calendarLayouts are the calendar times Scenario Time takes: ISO dates,
// and day-first dates with dots or dashes as Nordic spreadsheets write
// them; with or without seconds.
var calendarLayouts = []string{
	time.RFC3339,
	"2006-1-2T15:04:05", "2006-1-2T15:04", "2006-1-2 15:04:05", "2006-1-2 15:04",
	"2006-1-2 15:04:05Z07:00", "2006-1-2 15:04Z07:00",
	"2.1.2006 15:04:05", "2.1.2006 15:04", "2-1-2006 15:04:05", "2-1-2006 15:04",
}

// scenarioTime returns Scenario Time as the scenario's at: a duration is
// kept as written, a calendar time becomes the duration since the start.
func (imp *importer) scenarioTime(v string) (string, error) {
	if !dateLike.MatchString(v) {
		return v, nil // a duration, checked by the scenario's decoder
	}
	loc := imp.base.Location
	for _, layout := range calendarLayouts {
		t, err := time.ParseInLocation(layout, v, loc)
		if err != nil {
			continue
		}
		start := imp.base.Start.Time
		if t.Before(start) {
			return "", fmt.Errorf("%s is before the scenario's start, %s; expected a time at or after it, or a duration since the start such as 2h30m", v, start.In(loc).Format("2006-01-02 15:04 MST"))
		}
		at := liaison.FromDuration(t.Sub(start))
		return scenarios.Duration(at).String(), nil
	}
	return "", fmt.Errorf("%q looks like a date but is not one Liaison reads; expected 2026-03-06 18:30, 06.03.2026 18:30, 2026-03-06T18:30:00+01:00, or a duration since the start such as 2h30m", v)
}

func allEmpty(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %v", name, err)
}

func columnName(field string) string {
	for _, c := range Columns {
		if c.Field == field {
			return c.Name
		}
	}
	return field
}

func columnList() string {
	var names []string
	for _, c := range Columns {
		names = append(names, strconv.Quote(c.Name))
	}
	return strings.Join(names, ", ")
}
