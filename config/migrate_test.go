package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigrateCorpus: after `herdbot migrate --write`, every herdctl-valid
// fleet of the corpus loads, with no warning about variables read from the
// fleet .env; a second migration changes nothing.
func TestMigrateCorpus(t *testing.T) {
	ok := 0
	cases := corpusCases(t, filepath.Join("testdata", "herdctl-corpus"))
	valid := 0
	for _, c := range cases {
		if !c.Valid {
			continue
		}
		valid++
		t.Run(c.Name, func(t *testing.T) {
			_, dir := loadCase(t, c)
			fleet := filepath.Join(dir, c.Fleet)
			m, err := planMigration(fleet, mapLookup(nil))
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			var plan bytes.Buffer
			m.Print(&plan)
			if _, err := m.Write(); err != nil {
				t.Fatalf("write: %v\n%s", err, plan.String())
			}
			f, err := load(fleet, mapLookup(nil))
			if err != nil {
				t.Fatalf("after migrate:\n%v\nplan:\n%s", err, plan.String())
			}
			for _, w := range f.Warnings {
				if strings.Contains(w, "comes from the fleet .env") {
					t.Errorf("after migrate, still: %s", w)
				}
			}
			again, err := planMigration(fleet, mapLookup(nil))
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Changes) != 0 {
				var b bytes.Buffer
				again.Print(&b)
				t.Errorf("a second migration changes things:\n%s", b.String())
			}
			for _, ch := range m.Changes {
				if filepath.Base(ch.Path) != EnvFileName {
					continue
				}
				st, err := os.Stat(ch.Path)
				if err != nil || st.Mode().Perm() != 0o600 && ch.Create {
					t.Errorf("%s: %v mode %v; want 0600", ch.Path, err, st.Mode())
				}
			}
			if !t.Failed() {
				ok++
			}
		})
	}
	t.Logf("after herdbot migrate --write: %d of %d herdctl-valid fleets load", ok, valid)
}

// TestMigrateWriteRefusesChangedFiles: a file that appeared, or changed,
// after the plan was made stops Write before anything is written.
func TestMigrateWriteRefusesChangedFiles(t *testing.T) {
	for _, change := range []string{"created", "changed"} {
		t.Run(change, func(t *testing.T) {
			var c corpusCase
			for _, cc := range corpusCases(t, filepath.Join("testdata", "herdctl-corpus")) {
				if cc.Name == "valid/ex-star-trek-captains" {
					c = cc
				}
			}
			_, dir := loadCase(t, c)
			fleet := filepath.Join(dir, "herdctl.yaml")
			m, err := planMigration(fleet, mapLookup(nil))
			if err != nil {
				t.Fatal(err)
			}
			orig, _ := os.ReadFile(fleet)
			target := filepath.Join(dir, "agents", "gorn-captain", "herdctl-agent.yaml")
			switch change {
			case "created":
				os.MkdirAll(filepath.Dir(target), 0o755)
				if err := os.WriteFile(target, []byte("name: mine\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			case "changed":
				orig = append(orig, "# edited meanwhile\n"...)
				if err := os.WriteFile(fleet, orig, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			backups, err := m.Write()
			if err == nil || len(backups) != 0 {
				t.Fatalf("Write = %v, %v; want a refusal before anything is written", backups, err)
			}
			if b, _ := os.ReadFile(fleet); !bytes.Equal(b, orig) {
				t.Errorf("the fleet file was written")
			}
			if _, err := os.Stat(filepath.Join(dir, "agents", "captain-kirk", "herdctl-agent.yaml")); err == nil {
				t.Errorf("an agent file was created")
			}
		})
	}
}
