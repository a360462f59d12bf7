package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInterpolate(t *testing.T) {
	env := mapLookup(map[string]string{"A": "1", "EMPTY": "", "REF": "${A}"})
	for _, tc := range []struct {
		in, out string
		missing string
		literal bool
	}{
		{in: "plain", out: "plain"},
		{in: "${A}", out: "1"},
		{in: "x${A}y${A}", out: "x1y1"},
		{in: "${B:-def}", out: "def"},
		{in: "${EMPTY:-def}", out: "def"},
		{in: "${EMPTY}", out: ""},
		{in: "${A:-def}", out: "1"},
		{in: "${REF}", out: "${A}"},
		{in: "$${A}", out: "${A}"},
		{in: "$A $(echo hi) $", out: "$A $(echo hi) $"},
		{in: "${B:-a b:c}", out: "a b:c"},
		{in: "${B}", out: "", missing: "B"},
		// Not references: kept as written, as herdctl keeps them.
		{in: "${", out: "${", literal: true},
		{in: "${A", out: "${A", literal: true},
		{in: "${}", out: "${}", literal: true},
		{in: "${A-B}", out: "${A-B}", literal: true},
		{in: "${ A }", out: "${ A }", literal: true},
		{in: "echo ${{ github.token }} ${A}", out: "echo ${{ github.token }} 1", literal: true},
	} {
		out, missing, literal := interpolate(tc.in, env)
		if (len(literal) > 0) != tc.literal {
			t.Errorf("interpolate(%q) literal = %q", tc.in, literal)
		}
		if out != tc.out || strings.Join(missing, ",") != tc.missing {
			t.Errorf("interpolate(%q) = %q, missing %v; want %q, %q", tc.in, out, missing, tc.out, tc.missing)
		}
	}
}

func TestParseDotenv(t *testing.T) {
	src := "# comment\n\nA=1\nexport B = two words # trailing\nC='single $X # not comment'\nD=\"dq\\n\\\"x\\\" $(cmd)\"\nE=\"multi\nline\"\nF=\nG=a#b\n"
	got, errs := parseDotenv(src)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := map[string]string{"A": "1", "B": "two words", "C": "single $X # not comment", "D": "dq\n\"x\" $(cmd)", "E": "multi\nline", "F": "", "G": "a#b"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	_, errs = parseDotenv("OK=1\nNOEQUALS\n1X=2\nQ='open\n")
	if len(errs) != 3 || errs[0].Line != 2 || errs[1].Line != 3 || errs[2].Line != 4 {
		t.Errorf("errs = %v", errs)
	}
	for _, e := range errs {
		if strings.Contains(e.Msg, "NOEQUALS") {
			t.Errorf("error echoes the line (may be a secret): %s", e.Msg)
		}
	}
}

// FuzzInterpolate: never panics; text without "${" is unchanged; a value
// substituted is never expanded again.
func FuzzInterpolate(f *testing.F) {
	for _, s := range []string{"", "plain", "${A}", "${A:-d}", "$${A}", "${", "${A", "${}", "${A:-${B}}", "x${A}y${REF}z", "\xff${A}", "${A:-}}}"} {
		f.Add(s)
	}
	env := mapLookup(map[string]string{"A": "${A}", "REF": "${REF}${REF}"})
	f.Fuzz(func(t *testing.T, s string) {
		out, _, _ := interpolate(s, env)
		if !strings.Contains(s, "${") && out != s {
			t.Fatalf("interpolate(%q) = %q; changed text without references", s, out)
		}
		if len(out) > 2*len(s)+16 {
			t.Fatalf("interpolate(%q) grew to %d bytes: recursion?", s, len(out))
		}
	})
}

// FuzzLoad: Load never panics on any agent file content; it returns a
// Fleet or an *Errors.
func FuzzLoad(f *testing.F) {
	seeds := []string{
		"", "name: a\n", "name: a\nschedules:\n  s:\n    cron: \"* * * * *\"\n    prompt: p\n",
		"a: &a [1,2]\nb: [*a,*a]\n", "name: [\n", "- 1\n", "name: a\ndocker:\n  image: x\n",
		"name: ${X}\n", "name: a\nchat:\n  discord:\n    bot_token_env: T\n    guilds: [{id: 1}]\n",
		"name: a\nworking_directory: {root: .}\n", "? [a]\n: b\n", "name: !!binary aGk=\n", "<<: {name: a}\n",
		"name: a\nnetwork: {allow: [\"*.x.com\"]}\n", "name: a\ndocker: {tmpfs: {/x: 5}}\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	if b, err := os.ReadFile("testdata/herdctl/agents/gardener/herdctl-agent.yaml"); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, agent string) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "agents", "a"), 0o755)
		os.WriteFile(filepath.Join(dir, "herdbot.yaml"), []byte("defaults:\n  network: {allow: [\"*.com\"]}\nagents:\n  - path: agents/a\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "agents", "a", "agent.yaml"), []byte(agent), 0o644)
		fl, err := load(dir, mapLookup(nil))
		if err != nil {
			var es *Errors
			if !errors.As(err, &es) || len(es.Problems) == 0 {
				t.Fatalf("error %T %v is not *Errors with problems", err, err)
			}
			return
		}
		if fl == nil || len(fl.Agents) != 1 {
			t.Fatalf("no error and no agent")
		}
	})
}
