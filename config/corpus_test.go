package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusCase is one fleet of testdata/herdctl-corpus (see its README).
type corpusCase struct {
	Name    string   // valid/ex-hello-world
	Dir     string   // the case directory
	Fleet   string   // fleet file or directory, relative to Dir
	Valid   bool     // herdctl accepts it
	Migrate bool     // herdbot refuses it for a reason `herdbot migrate` fixes
	Fields  []string // invalid: the fields herdctl names
}

// corpusCases reads every CASE file under root.
func corpusCases(t testing.TB, root string) []corpusCase {
	t.Helper()
	var out []corpusCase
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "CASE" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dir := filepath.Dir(p)
		rel, _ := filepath.Rel(root, dir)
		c := corpusCase{Name: filepath.ToSlash(rel), Dir: dir, Fleet: "herdctl.yaml"}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.TrimSpace(k) {
			case "fleet":
				c.Fleet = v
			case "herdctl":
				c.Valid = v == "valid"
			case "herdbot":
				c.Migrate = v == "migrate"
			case "field":
				for _, f := range strings.Split(v, " | ") {
					c.Fields = append(c.Fields, strings.TrimSpace(f))
				}
			}
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// copyTree copies the directory src to dst (created), keeping modes.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// corpusOutcome is what herdbot did with one case.
type corpusOutcome struct {
	Accepted bool
	Problems []Problem
	Warnings []string
}

// loadCase copies c to a temporary directory and loads it with an empty
// process environment.
func loadCase(t testing.TB, c corpusCase) (corpusOutcome, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), filepath.Base(c.Dir))
	copyTree(t, c.Dir, dir)
	f, err := load(filepath.Join(dir, c.Fleet), mapLookup(nil))
	if err == nil {
		return corpusOutcome{Accepted: true, Warnings: f.Warnings}, dir
	}
	var es *Errors
	if !errors.As(err, &es) {
		return corpusOutcome{Problems: []Problem{{Message: err.Error()}}}, dir
	}
	return corpusOutcome{Problems: es.Problems, Warnings: es.Warnings}, dir
}

// namesField reports whether a problem names one of fields, or an element
// of it (herdctl names "docker.volumes" for a bad "docker.volumes[0]").
func namesField(ps []Problem, fields []string) bool {
	for _, p := range ps {
		for _, f := range fields {
			if p.Field == f || strings.HasPrefix(p.Field, f+"[") {
				return true
			}
		}
	}
	return false
}

// TestHerdctlCorpus measures herdbot against herdctl's own material: every
// herdctl-valid fleet loads (or, for the few marked "herdbot: migrate",
// is refused only with problems that say `herdbot migrate` fixes them),
// and every herdctl-invalid fleet is refused with a problem naming the
// field herdctl names.
func TestHerdctlCorpus(t *testing.T) {
	cases := corpusCases(t, filepath.Join("testdata", "herdctl-corpus"))
	var valid, validOK, validMigrate, invalid, invalidRefused, invalidNamed int
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			out, _ := loadCase(t, c)
			switch {
			case c.Valid && out.Accepted:
				valid++
				validOK++
				if c.Migrate {
					t.Errorf("marked herdbot: migrate but loads; drop the mark")
				}
			case c.Valid:
				valid++
				if !c.Migrate {
					t.Errorf("herdctl accepts this fleet; herdbot refuses it:\n%s", (&Errors{Problems: out.Problems}).Error())
					return
				}
				for _, p := range out.Problems {
					if !strings.Contains(p.Message, "herdbot migrate") {
						t.Errorf("a refusal of a herdctl-valid fleet that does not say how to fix it (`herdbot migrate`):\n%s", p)
					}
				}
				if !t.Failed() {
					validMigrate++
				}
			case out.Accepted:
				invalid++
				t.Errorf("herdctl refuses this fleet (%s); herdbot accepts it", strings.Join(c.Fields, " | "))
			default:
				invalid++
				invalidRefused++
				if !namesField(out.Problems, c.Fields) {
					t.Errorf("refused, but no problem names %s:\n%s", strings.Join(c.Fields, " | "), (&Errors{Problems: out.Problems}).Error())
					return
				}
				invalidNamed++
			}
		})
	}
	t.Logf("herdctl-valid fleets: %d; herdbot accepts %d (%.0f%%), refuses %d with a `herdbot migrate` fix",
		valid, validOK, 100*float64(validOK)/float64(max(valid, 1)), validMigrate)
	t.Logf("herdctl-invalid fleets: %d; herdbot refuses %d (%.0f%%), %d naming herdctl's field; accepts %d (%.0f%%)",
		invalid, invalidRefused, 100*float64(invalidRefused)/float64(max(invalid, 1)), invalidNamed,
		invalid-invalidRefused, 100*float64(invalid-invalidRefused)/float64(max(invalid, 1)))
}
