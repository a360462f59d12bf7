package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// baseFleet is a minimal valid fleet: one agent "a" in agents/a.
var baseFleet = map[string]string{
	"herdbot.yaml":        "agents:\n  - path: agents/a\n",
	"agents/a/agent.yaml": "name: a\n",
}

// writeFiles writes files (path relative to a new temp dir → content) and
// returns the dir. A nil-content entry is not possible; use "" for empty.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// with returns base with files replaced or added.
func with(base map[string]string, files map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(files))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range files {
		out[k] = v
	}
	return out
}

// loadFiles writes files and loads the fleet with a fixed process
// environment (nil: empty).
func loadFiles(t *testing.T, files map[string]string, procEnv map[string]string) (*Fleet, string, error) {
	t.Helper()
	dir := writeFiles(t, files)
	f, err := load(dir, mapLookup(procEnv))
	return f, dir, err
}

// mustLoad loads files and fails the test on any error.
func mustLoad(t *testing.T, files map[string]string, procEnv map[string]string) *Fleet {
	t.Helper()
	f, _, err := loadFiles(t, files, procEnv)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return f
}

// problemsOf returns the problems of err, failing unless it is *Errors.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	if err == nil {
		t.Fatal("load succeeded; want an error")
	}
	var es *Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T (%v); want *config.Errors", err, err)
	}
	return es.Problems
}

// findProblem returns the problem in file (suffix) at field whose message
// contains msg, or fails listing what there was.
func findProblem(t *testing.T, err error, fileSuffix, field, msg string) Problem {
	t.Helper()
	ps := problemsOf(t, err)
	for _, p := range ps {
		if strings.HasSuffix(p.File, filepath.FromSlash(fileSuffix)) && p.Field == field && strings.Contains(p.Message, msg) {
			return p
		}
	}
	t.Fatalf("no problem in %s at %q containing %q; got:\n%v", fileSuffix, field, msg, err)
	return Problem{}
}
