package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/internal/testenv"
)

// TestArchitectureListsEveryPackage keeps docs/architecture.md true: every
// package of the module is named in it, and every package its table
// names exists.
func TestArchitectureListsEveryPackage(t *testing.T) {
	root := testenv.ModuleRoot()
	var pkgs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			rel, err := filepath.Rel(root, filepath.Dir(p))
			if err != nil {
				return err
			}
			if rel = filepath.ToSlash(rel); !slices.Contains(pkgs, rel) {
				pkgs = append(pkgs, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, "docs/architecture.md")
	for _, p := range pkgs {
		if !strings.Contains(doc, "`"+p+"`") {
			t.Errorf("docs/architecture.md does not name package %s", p)
		}
	}
	cell := regexp.MustCompile("`([a-z0-9/]+)`")
	table := section(t, doc, "## Packages")
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.SplitN(line, "|", 3)[1]
		for _, m := range cell.FindAllStringSubmatch(first, -1) {
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(m[1]))); err != nil || !slices.Contains(pkgs, m[1]) {
				t.Errorf("docs/architecture.md lists %s, which is not a package", m[1])
			}
		}
	}
	if len(pkgs) < 20 {
		t.Fatalf("found only %d packages under %s", len(pkgs), root)
	}
}
