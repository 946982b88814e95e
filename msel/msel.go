// Package msel converts between a scenario's injects and the Master
// Scenario Events List (MSEL) spreadsheet that exercise planners keep: one
// row per inject with the usual columns (Inject No., Scenario Time, From,
// To, Delivery Method / Channel, Message, Expected Action, Objective) plus
// the ones Liaison needs (Type, TLP, Audience, Deadline, Originator
// Control, Originator, Urgent).
package msel

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

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
}

// DeliveryMethod is what the Delivery Method / Channel column says on
// export: an inject reaches its player directly.
const DeliveryMethod = "direct (inject)"

// fieldOrder is the order of the keys of an inject in the scenario file.
var fieldOrder = []string{"id", "at", "to", "from", "type", "summary", "tlp", "originator-control", "originator",
	"audience", "deadline", "urgent", "expected", "objective"}

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
		row := []string{string(in.ID), in.At.String(), in.From, string(in.To), DeliveryMethod, in.Summary,
			in.Expected, in.Objective, string(in.Type), tlp, strings.Join(aud, "; "), dl,
			yesNo(in.OriginatorControl), orig, yesNo(in.Urgent)}
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
// column 1-based).
type Errors []string

func (e Errors) Error() string { return strings.Join(e, "\n") }

type cell struct {
	line, col int
}

// Import replaces the injects of a scenario file with the rows of an MSEL
// CSV and returns the new file. The rest of the file, comments included,
// is kept as far as yaml.v3 keeps them. The result is checked with
// scenarios.Parse; any problem with a row is reported at its row and
// column and no file is returned.
func Import(csvName string, csvData []byte, yamlName string, yamlData []byte) ([]byte, error) {
	rows, cells, err := readRows(csvName, csvData)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(yamlData, &root); err != nil {
		return nil, fmt.Errorf("%s: %v", yamlName, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a scenario file (expected a mapping at the top)", yamlName)
	}
	doc := root.Content[0]
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: rows}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "injects" {
			keepComments(doc.Content[i+1], rows)
		}
	}
	section := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "injects"}, seq}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(section); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	out := splice(yamlData, doc, buf.Bytes())
	if _, err := scenarios.Parse(yamlName, out); err != nil {
		return nil, mapErrors(err, csvName, yamlName, cells)
	}
	return out, nil
}

// keepComments carries the comments of the file's injects over to the
// imported ones with the same id: on the inject, on each key and after
// each value.
func keepComments(old *yaml.Node, rows []*yaml.Node) {
	byID := map[string]*yaml.Node{}
	for _, in := range old.Content {
		if in.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(in.Content); j += 2 {
			if in.Content[j].Value == "id" {
				byID[in.Content[j+1].Value] = in
			}
		}
	}
	for _, in := range rows {
		var o *yaml.Node
		for j := 0; j+1 < len(in.Content); j += 2 {
			if in.Content[j].Value == "id" {
				o = byID[in.Content[j+1].Value]
			}
		}
		if o == nil {
			continue
		}
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
}

// splice puts the new injects section in place of the file's own, line for
// line, so that everything else in the file (comments, folded text,
// alignment) stays exactly as it was. The section runs from the injects key
// to the next top-level key, less the comments and blank lines that lead
// into that key. A file without injects gets the section at its end.
func splice(data []byte, doc *yaml.Node, section []byte) []byte {
	lines := bytes.SplitAfter(data, []byte("\n"))
	start := -1
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "injects" {
			start = doc.Content[i].Line - 1
		}
	}
	if start < 0 {
		out := slices.Clone(data)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		return append(append(out, '\n'), section...)
	}
	end := len(lines)
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if l := doc.Content[i].Line - 1; l > start && l < end {
			end = l
		}
	}
	if end < len(lines) {
		for end > start+1 {
			t := bytes.TrimSpace(lines[end-1])
			if len(t) != 0 && !(t[0] == '#' && lines[end-1][0] == '#') {
				break
			}
			end--
		}
	}
	var out []byte
	for _, l := range lines[:start] {
		out = append(out, l...)
	}
	out = append(out, section...)
	for _, l := range lines[end:] {
		out = append(out, l...)
	}
	return out
}

var injectPath = regexp.MustCompile(`^injects\[(\d+)\](?:\.([a-z-]+))?`)

// mapErrors points the scenario's complaints about injects back at the CSV.
func mapErrors(err error, csvName, yamlName string, cells []map[string]cell) error {
	var list scenarios.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	var out Errors
	for _, e := range list {
		m := injectPath.FindStringSubmatch(e.Path)
		if m == nil {
			out = append(out, fmt.Sprintf("%s (in the scenario outside the injects)", e.Error()))
			continue
		}
		i, _ := strconv.Atoi(m[1])
		if i >= len(cells) {
			out = append(out, e.Error())
			continue
		}
		c, ok := cells[i][m[2]]
		if !ok {
			c = cells[i][""]
		}
		msg := e.Msg
		if m[2] == "" && e.Kind == scenarios.Missing {
			msg = strings.Replace(msg, "field", "column", 1)
		}
		out = append(out, fmt.Sprintf("%s:%d:%d: %s", csvName, c.line, c.col, msg))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// readRows reads the CSV into inject mapping nodes, and where each field's
// cell is (the row itself under "").
func readRows(name string, data []byte) ([]*yaml.Node, []map[string]cell, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		if err == io.EOF {
			return nil, nil, fmt.Errorf("%s:1:1: empty file; expected a header row with %s", name, columnList())
		}
		return nil, nil, csvError(name, err)
	}
	field := make([]string, len(head))
	var errs Errors
	seen := map[string]bool{}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		for _, c := range Columns {
			if strings.EqualFold(h, c.Name) {
				field[i] = c.Field
				if c.Field == "" {
					field[i] = "-"
				}
			}
		}
		switch {
		case field[i] == "" && h != "":
			errs = append(errs, fmt.Sprintf("%s:1:%d: unknown column %q; expected %s", name, i+1, h, columnList()))
		case field[i] != "" && seen[field[i]] && field[i] != "-":
			errs = append(errs, fmt.Sprintf("%s:1:%d: column %q given twice", name, i+1, h))
		}
		seen[field[i]] = true
	}
	for _, f := range required {
		if !seen[f] {
			errs = append(errs, fmt.Sprintf("%s:1:1: missing column %q", name, columnName(f)))
		}
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	var nodes []*yaml.Node
	var cells []map[string]cell
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, csvError(name, err)
		}
		line, _ := r.FieldPos(0)
		if allEmpty(rec) {
			continue
		}
		if len(rec) > len(head) {
			errs = append(errs, fmt.Sprintf("%s:%d:%d: %d fields but the header has %d columns", name, line, len(head)+1, len(rec), len(head)))
			continue
		}
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		where := map[string]cell{"": {line, 1}}
		vals := map[string]string{}
		for i, v := range rec {
			v = strings.TrimSpace(v)
			if field[i] == "-" || v == "" {
				continue
			}
			vals[field[i]] = v
			where[field[i]] = cell{line, i + 1}
		}
		for _, f := range fieldOrder {
			c := Columns[slices.IndexFunc(Columns, func(c struct{ Name, Field string }) bool { return c.Field == f })]
			v, ok := vals[c.Field]
			if !ok {
				continue
			}
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: c.Field}
			var val *yaml.Node
			switch c.Field {
			case "originator-control", "urgent":
				b, ok := parseBool(v)
				if !ok {
					p := where[c.Field]
					errs = append(errs, fmt.Sprintf("%s:%d:%d: %s: %q is not yes or no", name, p.line, p.col, c.Name, v))
					continue
				}
				if !b {
					continue
				}
				val = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}
			case "audience":
				val = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
				for _, a := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '\n' }) {
					val.Content = append(val.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: a})
				}
			default:
				val = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
			}
			m.Content = append(m.Content, key, val)
		}
		nodes = append(nodes, m)
		cells = append(cells, where)
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return nodes, cells, nil
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
