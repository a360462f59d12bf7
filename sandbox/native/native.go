// Package native is the sandbox.Backend that runs the agent's process as a
// plain local child process. It gives NO isolation: the process runs as the
// herdbot user with the host's file system and network. It exists for
// development and for hosts without Docker, and must be opted into
// explicitly (docker.enabled: false); it warns once that nothing is isolated.
//
// What it does keep from the contract: the child sees only Spec.Env (plus
// HOME, see Start), runs in Spec.Workspace, and lives in its own process
// group so a signal reaches the tools it started too.
package native

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/herdbot/herdbot/sandbox"
)

// Backend starts agent processes as local children. The zero value is not
// usable; call New.
type Backend struct {
	log  *slog.Logger
	warn sync.Once
}

var _ sandbox.Backend = (*Backend)(nil)

// New returns a Backend that logs to log (nil discards).
func New(log *slog.Logger) *Backend {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Backend{log: log.With("component", "sandbox.native")}
}

// Start runs spec.Command in spec.Workspace with only spec.Env. When
// spec.StateDir is set and spec.Env has no HOME, HOME is set to
// spec.StateDir/home (created 0700) so the CLI's config and sessions stay
// private to the agent. PATH reaches the child only if spec.Env lists it; a
// Command[0] without a slash is looked up in that PATH when listed, else in
// herdbot's own PATH. Image, mounts, limits and network policy are ignored:
// this backend cannot enforce them.
//
// ctx bounds only the start itself; the process lives until it exits or is
// signalled. The caller must call Wait.
func (b *Backend) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Process, error) {
	b.warn.Do(func() {
		b.log.Warn("native sandbox: agent processes run WITHOUT isolation (no container, no network policy, no limits); use only for development")
	})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("native start: %w", err)
	}
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return nil, errors.New("native start: empty command")
	}
	if spec.Workspace == "" {
		return nil, errors.New("native start: no workspace")
	}
	if fi, err := os.Stat(spec.Workspace); err != nil {
		return nil, fmt.Errorf("native start: workspace: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("native start: workspace %s is not a directory", spec.Workspace)
	}
	env, err := childEnv(spec)
	if err != nil {
		return nil, fmt.Errorf("native start: %w", err)
	}
	prog, err := lookPath(spec.Command[0], env)
	if err != nil {
		return nil, fmt.Errorf("native start: %w", err)
	}
	return start(prog, spec, env)
}

// childEnv returns spec.Env plus HOME when StateDir asks for it.
func childEnv(spec sandbox.Spec) ([]string, error) {
	env := make([]string, 0, len(spec.Env)+1)
	hasHome := false
	for _, kv := range spec.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("env entry %q is not KEY=VALUE", redactEntry(kv))
		}
		if k == "HOME" {
			hasHome = true
		}
		env = append(env, kv)
	}
	if spec.StateDir != "" && !hasHome {
		home := filepath.Join(spec.StateDir, "home")
		if err := os.MkdirAll(home, 0o700); err != nil {
			return nil, fmt.Errorf("state dir: %w", err)
		}
		abs, err := filepath.Abs(home)
		if err != nil {
			return nil, fmt.Errorf("state dir: %w", err)
		}
		env = append(env, "HOME="+abs)
	}
	return env, nil
}

// redactEntry keeps only a short prefix of a malformed env entry so a
// secret value is never echoed in an error.
func redactEntry(kv string) string {
	if len(kv) > 8 {
		return kv[:8] + "…"
	}
	return kv
}

// lookPath resolves prog the way a shell with the child's PATH would, falling
// back to herdbot's own PATH when the child has none.
func lookPath(prog string, env []string) (string, error) {
	if strings.Contains(prog, "/") {
		return prog, nil
	}
	path := ""
	listed := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path, listed = v, true
		}
	}
	if !listed {
		p, err := exec.LookPath(prog)
		if err != nil {
			return "", fmt.Errorf("find %s: %w", prog, err)
		}
		return p, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, prog)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("find %s: %w in the agent's PATH", prog, exec.ErrNotFound)
}
