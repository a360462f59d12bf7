package config

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

//go:embed all:scaffold
var scaffoldFS embed.FS

// Scaffold writes a new fleet into dir (created if missing): herdbot.yaml,
// .env.example, .gitignore and one agent with its own .env.example, every
// field commented. The fleet is called fleet (default "myfleet"), its agent
// agent (default "assistant", its variables AGENT_…). It refuses to
// overwrite: if any of those files exists it writes nothing and says which.
func Scaffold(dir, fleet, agent string) error {
	for _, n := range []string{fleet, agent} {
		if n != "" {
			if err := validName(n); err != nil {
				return fmt.Errorf("scaffold: %w", err)
			}
		}
	}
	name := func(s string) string {
		if agent != "" {
			s = strings.ReplaceAll(s, "assistant", agent)
			s = strings.ReplaceAll(s, "ASSISTANT", strings.ToUpper(strings.ReplaceAll(agent, "-", "_")))
		}
		if fleet != "" {
			s = strings.ReplaceAll(s, "myfleet", fleet)
		}
		return s
	}
	var files []string
	err := fs.WalkDir(scaffoldFS, "scaffold", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(p, "scaffold/"))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("scaffold: %w", err)
	}
	var existing []string
	for _, f := range files {
		if p := filepath.Join(dir, filepath.FromSlash(name(f))); exists(p) {
			existing = append(existing, p)
		}
	}
	if len(existing) > 0 {
		return fmt.Errorf("scaffold %s: refusing to overwrite %s", dir, strings.Join(existing, ", "))
	}
	for _, f := range files {
		b, err := scaffoldFS.ReadFile("scaffold/" + f)
		if err != nil {
			return fmt.Errorf("scaffold: %w", err)
		}
		b = []byte(name(string(b)))
		dst := filepath.Join(dir, filepath.FromSlash(name(f)))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("scaffold: %w", err)
		}
		// O_EXCL: never clobber a file created since the check above.
		fh, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("scaffold %s: refusing to overwrite %s", dir, dst)
			}
			return fmt.Errorf("scaffold: %w", err)
		}
		_, werr := fh.Write(b)
		if cerr := fh.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("scaffold: write %s: %w", dst, werr)
		}
	}
	return nil
}
