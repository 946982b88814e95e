package msel

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"liaison/internal/golden"
	"liaison/scenarios"
)

func TestRoundTrip(t *testing.T) {
	var files []string
	for _, info := range scenarios.List() {
		files = append(files, "../scenarios/"+info.Name+".yaml")
	}
	// Contingency and conditional injects, players.
	files = append(files, "../sim/testdata/triggers.yaml", "../sim/testdata/exercise.yaml")
	for _, file := range files {
		t.Run(strings.TrimSuffix(file[strings.LastIndexByte(file, '/')+1:], ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := scenarios.Parse(file, data)
			if err != nil {
				t.Fatal(err)
			}
			var csv bytes.Buffer
			if err := Export(sc, &csv); err != nil {
				t.Fatal(err)
			}
			out, err := importBytes("injects.csv", csv.String(), file, data)
			if err != nil {
				t.Fatal(err)
			}
			back, err := scenarios.Parse(file, out)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sc.Injects, back.Injects) {
				t.Errorf("injects changed:\n%+v\n%+v", sc.Injects, back.Injects)
			}
			if !reflect.DeepEqual(sc.Agencies, back.Agencies) || !reflect.DeepEqual(sc.Rules, back.Rules) {
				t.Error("the rest of the scenario changed")
			}
			// Everything before the injects section is kept byte for byte.
			head := data[:bytes.Index(data, []byte("\ninjects:"))]
			if !bytes.HasPrefix(out, head) {
				t.Error("the file before injects: changed")
			}
			var again bytes.Buffer
			if err := Export(back, &again); err != nil {
				t.Fatal(err)
			}
			if again.String() != csv.String() {
				t.Errorf("second export differs:\n%s\n%s", csv.String(), again.String())
			}
		})
	}
}

// importBytes imports a CSV given as text and returns the new file.
func importBytes(csvName, csv, yamlName string, yamlData []byte) ([]byte, error) {
	var out bytes.Buffer
	err := Import(csvName, strings.NewReader(csv), yamlName, yamlData, &out)
	return out.Bytes(), err
}

func TestImportErrors(t *testing.T) {
	file := "../scenarios/ctg-threat-warning.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	head := "Inject No.,Scenario Time,To,Type,Message,Audience,Deadline,Originator Control\n"
	for _, c := range []struct{ name, csv, want string }{
		{"bad duration", head + "I-1,2h,dk.pet,warning,text,,,\nI-2,soon,dk.pet,warning,text,,,\n", "injects.csv:3:2: "},
		{"unknown agency", head + "I-1,2h,dk.pet,warning,text,,,\nI-2,3h,dk.pet,warning,text,dk.nobody,,\nI-3,3h,xx.none,warning,text,,,\n",
			"injects.csv:3:6: "},
		{"bad bool", head + "I-1,2h,dk.pet,warning,text,,,perhaps\n", `injects.csv:2:8: Originator Control: "perhaps" is not yes or no`},
		{"unknown column", "Inject No.,Colour\n", `injects.csv:1:2: unknown column "Colour"`},
		{"missing column", "Inject No.,To\n", `injects.csv:1:1: missing column "Scenario Time"`},
		{"bad quote", head + "I-1,2h,\"dk.pet,warning\n", "injects.csv:2:"},
		{"missing value", head + "I-1,2h,,warning,text,,,\n", "injects.csv:2:"},
	} {
		_, err := importBytes("injects.csv", c.csv, file, data)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want prefix %q", c.name, err, c.want)
		}
	}
	// Both bad rows of one file are reported.
	_, err = importBytes("injects.csv", head+"I-1,2h,xx.a,warning,text,,,\nI-2,later,dk.pet,warning,text,,,\n", file, data)
	if err == nil || !strings.Contains(err.Error(), "injects.csv:2:3:") || !strings.Contains(err.Error(), "injects.csv:3:2:") {
		t.Errorf("want errors on rows 2 and 3, got %v", err)
	}
}

// TestImportFormats: semicolons (Excel in Nordic locales), tabs, a byte
// order mark, CRLF line ends and calendar times in Scenario Time all give
// the file that commas and durations give.
func TestImportFormats(t *testing.T) {
	file := "../scenarios/ctg-threat-warning.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// The scenario starts 2026-03-06T16:00:00+01:00 in Europe/Copenhagen.
	want, err := importBytes("a.csv", "Inject No.,Scenario Time,To,Type,Message,Audience\nI-1,2h30m,dk.pet,threat-warning,\"Text, with a comma\",se.sapo; dk.police\nI-2,0,dk.pet,threat-warning,x,\n", file, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, csv string }{
		{"semicolons", "Inject No.;Scenario Time;To;Type;Message;Audience\r\nI-1;2h30m;dk.pet;threat-warning;Text, with a comma;\"se.sapo; dk.police\"\r\nI-2;0;dk.pet;threat-warning;x;\r\n"},
		{"tabs", "Inject No.\tScenario Time\tTo\tType\tMessage\tAudience\nI-1\t2h30m\tdk.pet\tthreat-warning\tText, with a comma\tse.sapo dk.police\nI-2\t0\tdk.pet\tthreat-warning\tx\t\n"},
		{"byte order mark", "\ufeff\"Inject No.\";Scenario Time;To;Type;Message;Audience\nI-1;2h30m;dk.pet;threat-warning;Text, with a comma;se.sapo,dk.police\nI-2;0;dk.pet;threat-warning;x;\n"},
		{"ISO calendar time", "Inject No.,Scenario Time,To,Type,Message,Audience\nI-1,2026-03-06 18:30,dk.pet,threat-warning,\"Text, with a comma\",se.sapo; dk.police\nI-2,2026-03-06 16:00:00,dk.pet,threat-warning,x,\n"},
		{"day-first calendar time", "Inject No.;Scenario Time;To;Type;Message;Audience\nI-1;06.03.2026 18:30;dk.pet;threat-warning;Text, with a comma;se.sapo, dk.police\nI-2;6.3.2026 16:00;dk.pet;threat-warning;x;\n"},
		{"calendar time with offset", "Inject No.,Scenario Time,To,Type,Message,Audience\nI-1,2026-03-06T17:30:00Z,dk.pet,threat-warning,\"Text, with a comma\",se.sapo; dk.police\nI-2,2026-03-06T15:00:00Z,dk.pet,threat-warning,x,\n"},
	} {
		got, err := importBytes("a.csv", c.csv, file, data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the file differs from the comma-separated import:\n%s", c.name, got[bytes.Index(got, []byte("\ninjects:")):])
		}
	}
}

// TestImportRowErrors: problems name the CSV's row and column, in row
// order, with the column's name rather than the scenario's path.
func TestImportRowErrors(t *testing.T) {
	file := "../scenarios/ctg-threat-warning.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	head := "Inject No.;Scenario Time;To;Type;Message;Audience\n"
	var rows strings.Builder
	for i := range 11 {
		fmt.Fprintf(&rows, "I-%d;%dh;dk.pet;threat-warning;text;se.sapo\n", i+1, i)
	}
	rows.WriteString("I-3;1h;dk.pet;threat-warning;again;se.sapo\n")
	rows.WriteString("I-20;2026-03-06 12:00;dk.pet;threat-warning;early;se.sapo\n")
	rows.WriteString("I-21;03/06/2026 18:00;dk.pet;threat-warning;US date;se.sapo\n")
	rows.WriteString("I-22;1h;;threat-warning;nobody;se.sapo\n")
	rows.WriteString("I-23;1h;dk.pet;threat-warning;Malm\xf6;se.sapo\n")
	rows.WriteString("I-24;1h;dk.pet;threat-warning;x;se.sapo, xx.nobody\n")
	rows.WriteString("I-25;99h;dk.pet;threat-warning;late;se.sapo\n")
	_, err = importBytes("a.csv", head+rows.String(), file, data)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v", err)
	}
	golden.AssertString(t, "testdata/row-errors.golden", err.Error()+"\n")
}

// TestImportErrorCap: a file whose every row is wrong lists the first
// problems and counts the rest.
func TestImportErrorCap(t *testing.T) {
	data, err := os.ReadFile("../scenarios/interpol-notice.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("Inject No.,Scenario Time,To,Type,Message\n")
	for i := range 250 {
		fmt.Fprintf(&b, "I-%d,soon,nobody,x,y\n", i)
	}
	_, err = importBytes("a.csv", b.String(), "s.yaml", data)
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || !strings.HasSuffix(lines[maxErrors], "and 400 more problems") {
		t.Errorf("got %d lines ending %q", len(lines), lines[len(lines)-1])
	}
}

// rowSource generates an MSEL of n rows for ctg-threat-warning as it is
// read, noting the peak of the heap in use every 1,000 rows.
type rowSource struct {
	n, i int
	buf  bytes.Buffer
	peak uint64
}

func (r *rowSource) Read(p []byte) (int, error) {
	for r.buf.Len() < len(p) && r.i <= r.n {
		if r.i == 0 {
			r.buf.WriteString("Inject No.,Scenario Time,To,Type,Message,Audience,Deadline,TLP\n")
		} else {
			fmt.Fprintf(&r.buf, "I-%d,%ds,dk.pet,threat-warning,%s,se.sapo; dk.police; no.pst,6h,AMBER\n", r.i, r.i%200000, strings.Repeat("A source reports a planned attack. ", 16))
		}
		if r.i%1000 == 0 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			r.peak = max(r.peak, ms.HeapInuse)
		}
		r.i++
	}
	if r.buf.Len() == 0 {
		return 0, io.EOF
	}
	return r.buf.Read(p)
}

// BenchmarkImport imports 100,000 rows (about 60 MB of CSV) and reports
// the peak heap, which stays flat as rows stream through
// (go test ./msel -run '^$' -bench Import -benchtime 1x).
func BenchmarkImport(b *testing.B) {
	data, err := os.ReadFile("../scenarios/ctg-threat-warning.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		src := &rowSource{n: 100_000}
		if err := Import("big.csv", src, "s.yaml", data, io.Discard); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(src.peak)/(1<<20), "peak-heap-MiB")
	}
}
