package msel

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"liaison/scenarios"
)

func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"ctg-threat-warning", "sis-hit-oresund", "siena-drug-case", "interpol-notice", "ctg-research"} {
		t.Run(name, func(t *testing.T) {
			file := "../scenarios/" + name + ".yaml"
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
			out, err := Import("injects.csv", csv.Bytes(), file, data)
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
		_, err := Import("injects.csv", []byte(c.csv), file, data)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want prefix %q", c.name, err, c.want)
		}
	}
	// Both bad rows of one file are reported.
	_, err = Import("injects.csv", []byte(head+"I-1,2h,xx.a,warning,text,,,\nI-2,later,dk.pet,warning,text,,,\n"), file, data)
	if err == nil || !strings.Contains(err.Error(), "injects.csv:2:3:") || !strings.Contains(err.Error(), "injects.csv:3:2:") {
		t.Errorf("want errors on rows 2 and 3, got %v", err)
	}
}
