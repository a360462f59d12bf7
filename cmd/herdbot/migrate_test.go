package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/internal/testenv"
	"github.com/herdbot/herdbot/sched"
)

// copyCorpusCase copies a fleet of config/testdata/herdctl-corpus to a
// temporary directory and returns it.
func copyCorpusCase(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(testenv.ModuleRoot(), "config", "testdata", "herdctl-corpus", filepath.FromSlash(name))
	dst := filepath.Join(t.TempDir(), filepath.Base(name))
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// snapshot reads every file under dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return err
	})
	return out
}

// TestMigrateCommand runs `herdbot migrate` on herdctl's star-trek
// example (six agents in one directory, reading the fleet .env): the plan
// writes nothing and shows no secret value; --write gives each agent its
// own directory and a 0600 .env with its variables, keeps the replaced
// fleet file as a backup, and the fleet then validates; a second run has
// nothing to change.
func TestMigrateCommand(t *testing.T) {
	dir := copyCorpusCase(t, "valid/ex-star-trek-captains")
	fleet := filepath.Join(dir, "herdctl.yaml")
	before := snapshot(t, dir)
	secret := "kirk-bot-token-000000001"

	if _, err := runCmd(t, "validate", "-c", fleet); err == nil {
		t.Fatal("the herdctl layout validates before migrating; the test needs one that does not")
	}
	out, err := runCmd(t, "migrate", "-c", fleet)
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	for _, want := range []string{"update " + fleet, "create " + filepath.Join(dir, "agents", "captain-kirk", "herdctl-agent.yaml"),
		"create " + filepath.Join(dir, "agents", "captain-kirk", ".env"), "KIRK_BOT_TOKEN", "Nothing was written", "--write"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, secret) {
		t.Errorf("the plan shows a secret value:\n%s", out)
	}
	if after := snapshot(t, dir); len(after) != len(before) {
		t.Fatalf("the plan wrote files: %d before, %d after", len(before), len(after))
	}

	out, err = runCmd(t, "migrate", "-c", fleet, "--write")
	if err != nil {
		t.Fatalf("migrate --write: %v\n%s", err, out)
	}
	if strings.Contains(out, secret) || !strings.Contains(out, "kept "+fleet+".pre-migrate") || !strings.Contains(out, "validates") {
		t.Errorf("migrate --write output:\n%s", out)
	}
	if b, err := os.ReadFile(fleet + ".pre-migrate"); err != nil || string(b) != before[fleet] {
		t.Errorf("the backup is not the original fleet file: %v", err)
	}
	for _, a := range []string{"captain-kirk", "captain-picard", "captain-janeway", "captain-sisko", "ambassador-spock", "gorn-captain"} {
		old := filepath.Join(dir, "agents", a+".yaml")
		if b, _ := os.ReadFile(old); string(b) != before[old] {
			t.Errorf("%s changed; migrate leaves the old agent files as they were", old)
		}
		env := filepath.Join(dir, "agents", a, ".env")
		st, err := os.Stat(env)
		if err != nil {
			t.Errorf("%s: %v", env, err)
			continue
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v; want 0600", env, st.Mode().Perm())
		}
		b, _ := os.ReadFile(env)
		if !strings.Contains(string(b), "DISCORD_GUILD_ID=111111111111111111") || strings.Contains(string(b), "ANTHROPIC") {
			t.Errorf("%s:\n%s", env, b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "agents", "captain-kirk", ".env")); !strings.Contains(string(b), "KIRK_BOT_TOKEN="+secret) ||
		strings.Contains(string(b), "PICARD") {
		t.Errorf("kirk's .env holds another agent's token, or not its own:\n%s", b)
	}
	out, err = runCmd(t, "validate", "-c", fleet)
	if err != nil || strings.Contains(out, "comes from the fleet .env") {
		t.Fatalf("validate after migrate: %v\n%s", err, out)
	}
	out, err = runCmd(t, "migrate", "-c", fleet, "--write")
	if err != nil || !strings.Contains(out, "nothing to change") || strings.Contains(out, "kept ") {
		t.Errorf("second migrate: %v\n%s", err, out)
	}
}

// TestMigrateKeepsOperatorFiles: an agent .env the operator wrote is added
// to, and kept as a backup; an agent file migrate did not write is never
// replaced.
func TestMigrateKeepsOperatorFiles(t *testing.T) {
	dir := copyCorpusCase(t, "valid/ex-bragdoc-developer")
	fleet := filepath.Join(dir, "herdctl.yaml")
	env := filepath.Join(dir, "agents", ".env")
	// The operator's own agent .env: migrate adds to it, keeping it.
	if err := os.WriteFile(env, []byte("# mine\nMINE='keep me'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "migrate", "-c", fleet, "--write")
	if err != nil {
		t.Fatalf("migrate --write: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(env)
	if !strings.HasPrefix(string(b), "# mine\nMINE='keep me'\n") || !strings.Contains(string(b), "DISCORD_GUILD_ID=") {
		t.Errorf("agent .env after migrate:\n%s", b)
	}
	if old, err := os.ReadFile(env + ".pre-migrate"); err != nil || string(old) != "# mine\nMINE='keep me'\n" {
		t.Errorf("backup of the agent .env: %v %q", err, old)
	}
	agent := filepath.Join(dir, "agents", "developer.yaml")
	if b, _ := os.ReadFile(agent); strings.Contains(string(b), "bypassPermissions") {
		t.Errorf("bypassPermissions still in the agent file:\n%s", b)
	}
	if b, _ := os.ReadFile(fleet); !strings.Contains(string(b), "permission_mode: bypassPermissions") {
		t.Errorf("bypassPermissions not moved to the fleet's overrides:\n%s", b)
	}

	// A directory migrate would use already holds an agent file: it
	// picks another name and leaves that file alone.
	dir = copyCorpusCase(t, "valid/ex-star-trek-captains")
	fleet = filepath.Join(dir, "herdctl.yaml")
	blocker := filepath.Join(dir, "agents", "captain-kirk", "herdctl-agent.yaml")
	if err := os.MkdirAll(filepath.Dir(blocker), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, []byte("name: someone-else\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runCmd(t, "migrate", "-c", fleet, "--write")
	if err != nil {
		t.Fatalf("migrate --write: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(blocker); string(b) != "name: someone-else\n" {
		t.Errorf("migrate replaced a file it did not create: %s", b)
	}
	if !strings.Contains(out, "captain-kirk-2") {
		t.Errorf("want kirk moved beside the existing directory:\n%s", out)
	}
}

// runCmd runs herdbot in-process and returns its output.
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String() + errb.String(), err
}

// TestDocsHerdctlFieldsUpToDate keeps the field list of
// docs/migrating-from-herdctl.md equal to `herdbot docs herdctl` (the table
// of herdctl's schema in config/herdctl.go). Regenerate the part between
// the markers with: go run ./cmd/herdbot docs herdctl
func TestDocsHerdctlFieldsUpToDate(t *testing.T) {
	out, err := runCmd(t, "docs", "herdctl")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "docs", "migrating-from-herdctl.md"))
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- herdbot docs herdctl: begin -->\n", "<!-- herdbot docs herdctl: end -->\n"
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/migrating-from-herdctl.md lacks the markers %q and %q", begin, end)
	}
	if got := doc[i+len(begin) : j]; got != out {
		gl, wl := strings.Split(got, "\n"), strings.Split(out, "\n")
		for k := 0; k < len(gl) || k < len(wl); k++ {
			var g, w string
			if k < len(gl) {
				g = gl[k]
			}
			if k < len(wl) {
				w = wl[k]
			}
			if g != w {
				t.Fatalf("docs/migrating-from-herdctl.md is stale (line %d of the list):\n  file:    %q\n  command: %q\nregenerate the part between the markers with `go run ./cmd/herdbot docs herdctl`", k+1, g, w)
			}
		}
	}
}

// TestValidateAndStartAgreeOnSchedules: every schedule of every fleet of
// the herdctl corpus (migrated where it needs it) is one the scheduler takes
// (sched.Validate on what start hands it); config checks timing with the
// scheduler's own parser, and this keeps the rest in step.
func TestValidateAndStartAgreeOnSchedules(t *testing.T) {
	root := filepath.Join(testenv.ModuleRoot(), "config", "testdata", "herdctl-corpus", "valid")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		dir := copyCorpusCase(t, "valid/"+e.Name())
		fleet := dir
		if _, err := os.Stat(filepath.Join(dir, "root.yaml")); err == nil {
			fleet = filepath.Join(dir, "root.yaml")
		}
		cfg, err := config.Load(fleet)
		if err != nil { // refused until migrated
			m, err := config.PlanMigration(fleet)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Write(); err != nil {
				t.Fatal(err)
			}
			if cfg, err = config.Load(fleet); err != nil {
				t.Fatalf("%s after migrate: %v", e.Name(), err)
			}
		}
		for _, s := range schedules(cfg) {
			n++
			if err := sched.Validate(s); err != nil {
				t.Errorf("%s: validate accepts it, the scheduler does not: %v", e.Name(), err)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d schedules checked", n)
	}
}
