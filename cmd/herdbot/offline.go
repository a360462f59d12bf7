// Commands that need no running herdbot: version, validate, init, docs,
// egress (the sidecar's entry point) and setup.

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/sandbox/egress"
)

func cmdVersion(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("version", e, false)
	if _, err := fs.parse(args); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "herdbot", version)
	return nil
}

func cmdValidate(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("validate", e, false)
	if _, err := fs.parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(fs.config)
	if err != nil {
		fmt.Fprintln(e.stdout, err)
		return exitError(1)
	}
	cfg.Warnings = append(cfg.Warnings, consoleApproverWarnings(cfg)...)
	return config.Summary(cfg, e.stdout, time.Now(), nextRuns)
}

func cmdInit(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("init", e, false)
	fleet := fs.String("fleet", "", "the fleet's name (default: the directory's name)")
	agent := fs.String("agent", "assistant", "the agent's name")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	dir := "."
	if len(pos) > 0 {
		dir = pos[0]
	}
	if *fleet == "" {
		abs, _ := filepath.Abs(dir)
		if b := filepath.Base(abs); validFleetName.MatchString(b) {
			*fleet = b
		}
	}
	if err := config.Scaffold(dir, *fleet, *agent); err != nil {
		return err
	}
	self, c := selfCommand(), ""
	if filepath.Clean(dir) != "." {
		c = " -c " + shellQuote(filepath.Join(dir, "herdbot.yaml"))
	}
	fmt.Fprintf(e.stdout, `Scaffolded a fleet in %[1]s: herdbot.yaml, one agent in agents/%[6]s/, .env.example files.

Check it, then talk to it in this terminal with the demo model (no tokens, no model account; Docker runs the agent):
  %[2]s validate%[3]s
  %[2]s start --demo%[3]s

To run it for real: copy %[4]s to %[5]s and put the model API key in it, give the agent a chat bot
(%[2]s setup discord %[6]s%[3]s), then:
  %[2]s start%[3]s
`, dir, self, c, filepath.Join(dir, ".env.example"), filepath.Join(dir, ".env"), *agent)
	return nil
}

// consoleApproverWarnings name console approvers that can never match:
// the console's user is always console.Operator ("local"), whatever the
// login name (earlier herdbot took $USER).
func consoleApproverWarnings(cfg *config.Fleet) []string {
	var out []string
	for _, a := range cfg.Agents {
		for _, n := range a.Approvers.Console {
			if n != console.Operator && n != "*" {
				out = append(out, fmt.Sprintf("agent %s: approvers.console lists %q, which never matches: the console's person is %q (the local operator, whatever the login name); write console: [%q]",
					a.Name, n, console.Operator, console.Operator))
			}
		}
	}
	return out
}

// validFleetName is what a directory's name must be to name its fleet.
var validFleetName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]*$`)

// selfCommand is how a person runs this herdbot from here: "herdbot" when
// that is this binary on PATH, else the path it was started by.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "herdbot"
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	if p, err := exec.LookPath("herdbot"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil && r == exe {
			return "herdbot"
		}
	}
	if strings.Contains(os.Args[0], "/") {
		if a, err := filepath.Abs(os.Args[0]); err == nil {
			if r, err := filepath.EvalSymlinks(a); err == nil && r == exe {
				return shellQuote(os.Args[0])
			}
		}
	}
	return shellQuote(exe)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func cmdDocs(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("docs", e, false)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 1 && pos[0] == "config":
		return config.WriteReference(e.stdout)
	case len(pos) == 1 && pos[0] == "herdctl":
		return config.WriteHerdctlFields(e.stdout)
	}
	fs.Usage()
	return errors.New("docs: the topics are `config` and `herdctl`")
}

func cmdEgress(ctx context.Context, e stdio, args []string) error {
	return egress.Main(ctx, args, e.stdout, e.stderr)
}

func cmdSetup(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("setup", e, false)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return errors.New("setup: want `setup discord AGENT` or `setup slack AGENT`")
	}
	cfg, err := config.Load(fs.config)
	if err != nil {
		return err
	}
	a := cfg.Agent(pos[1])
	if a == nil {
		return fmt.Errorf("setup: no agent %q in %s", pos[1], cfg.Path)
	}
	switch pos[0] {
	case "discord":
		return setupDiscord(e, a)
	case "slack":
		return setupSlack(e, a)
	}
	return fmt.Errorf("setup: unknown platform %q (discord or slack)", pos[0])
}
