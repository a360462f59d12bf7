package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/internal/testenv"
)

// TestDocsConfigurationUpToDate keeps docs/configuration.md equal to the
// output of `herdbot docs config`, so the reference cannot drift from the
// schema. Regenerate with:
//
//	go run ./cmd/herdbot docs config > docs/configuration.md
func TestDocsConfigurationUpToDate(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"docs", "config"}, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("herdbot docs config: %v\n%s", err, errb.String())
	}
	path := filepath.Join(testenv.ModuleRoot(), "docs", "configuration.md")
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Bytes(); !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("docs/configuration.md is stale (first difference at line %d):\n  file:    %q\n  command: %q\nregenerate: go run ./cmd/herdbot docs config > docs/configuration.md", i+1, w, g)
			}
		}
	}
}

func TestDocsUnknownTopic(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"docs", "nope"}, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "config") {
		t.Fatalf("err %v; want one naming the config topic", err)
	}
}
