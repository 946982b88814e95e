package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// builtinFS holds the scenario files shipped with Liaison, so that
// `liaison run ctg-threat-warning` works without a file at hand.
//
//go:embed *.yaml
var builtinFS embed.FS

// Info names a built-in scenario.
type Info struct {
	Name  string // what Builtin and Open take: the file name without .yaml
	Title string
}

// List returns the built-in scenarios sorted by name.
func List() []Info {
	entries, _ := fs.Glob(builtinFS, "*.yaml")
	var out []Info
	for _, e := range entries {
		var head struct {
			Title string `yaml:"title"`
		}
		data, _ := builtinFS.ReadFile(e)
		_ = yaml.Unmarshal(data, &head) // a broken file still lists; Builtin reports why
		out = append(out, Info{Name: strings.TrimSuffix(e, ".yaml"), Title: head.Title})
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Builtin loads the built-in scenario with the given name. Its Source is
// scenarios/NAME.yaml, the file's place in the source tree, so that errors
// point at a file a developer can open.
func Builtin(name string) (*Scenario, error) {
	data, err := builtinFS.ReadFile(name + ".yaml")
	if err != nil || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("scenarios: no built-in scenario %q; expected one of: %s", name, builtinNames())
	}
	return Parse(path.Join("scenarios", name+".yaml"), data)
}

// Open loads a scenario from a file if fileOrName names one, else the
// built-in of that name, which is how the command line takes either.
func Open(fileOrName string) (*Scenario, error) {
	file, data, err := ReadSource(fileOrName)
	if err != nil {
		return nil, err
	}
	return Parse(file, data)
}

// ReadSource returns what Open parses: the file name its errors use and
// the bytes, so that another process (a liaison worker) can parse the very
// same scenario with Parse.
func ReadSource(fileOrName string) (file string, data []byte, err error) {
	if fi, err := os.Stat(fileOrName); err == nil && fi.Mode().IsRegular() {
		data, err := os.ReadFile(fileOrName)
		return fileOrName, data, err
	}
	if data, err := builtinFS.ReadFile(fileOrName + ".yaml"); err == nil && !strings.ContainsAny(fileOrName, `/\`) {
		return path.Join("scenarios", fileOrName+".yaml"), data, nil
	}
	return "", nil, fmt.Errorf("scenarios: %q is neither a scenario file nor a built-in scenario; expected a path or one of: %s", fileOrName, builtinNames())
}

func builtinNames() string {
	var names []string
	for _, i := range List() {
		names = append(names, i.Name)
	}
	if len(names) == 0 {
		return "(none built in)"
	}
	return strings.Join(names, ", ")
}
