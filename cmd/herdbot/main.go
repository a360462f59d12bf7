// Command herdbot runs a fleet of Claude Code agents that people talk to
// from Discord and Slack. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"

	"syscall"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		var ee exitError
		if errors.As(err, &ee) { // the command already said why
			os.Exit(int(ee))
		}
		fmt.Fprintln(os.Stderr, "herdbot:", err)
		os.Exit(1)
	}
}

// exitError is an error that only sets the exit code (its message was
// already printed).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// stdio is the standard streams every command gets.
type stdio struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	summary string
	usage   string
	run     func(ctx context.Context, e stdio, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"start":     {"run the fleet until SIGINT/SIGTERM", "start [--demo] [-c herdbot.yaml]", cmdStart},
		"validate":  {"check the fleet and agent files; print a summary or every error", "validate [-c herdbot.yaml]", cmdValidate},
		"init":      {"scaffold a fleet with one agent and print the commands to check and run it", "init [dir] [--fleet NAME] [--agent NAME]", cmdInit},
		"version":   {"print the version", "version", cmdVersion},
		"agents":    {"list the agents with their spend today and this month against their budgets (also while herdbot is stopped)", "agents [agent] [--json]", cmdAgents},
		"jobs":      {"list jobs (also while herdbot is stopped)", "jobs [agent] [--status S] [--limit N] [--json]", cmdJobs},
		"job":       {"show a job and its transcript (also while herdbot is stopped)", "job ID [--json]", cmdJob},
		"logs":      {"print a job's events (also while herdbot is stopped); -f follows new ones", "logs [-f] [--job ID] [agent] [--json]", cmdLogs},
		"trigger":   {"run an agent now; --wait follows it (Ctrl-C detaches)", "trigger AGENT [-p PROMPT] [--schedule NAME] [--wait] [--json]", cmdTrigger},
		"cancel":    {"stop a running job", "cancel JOB_ID", cmdCancel},
		"sessions":  {"list conversations and their session ids (also while herdbot is stopped)", "sessions [agent] [--json]", cmdSessions},
		"approvals": {"list approval requests (also while herdbot is stopped)", "approvals [agent] [--pending] [--json]", cmdApprovals},
		"approve":   {"decide an approval request", "approve ID once|session|deny [--reason TEXT]", cmdApprove},
		"chat":      {"talk to an agent from this terminal, through the running service", "chat AGENT", cmdChat},
		"schedules": {"list schedules with their next fire times and last outcome (also while herdbot is stopped)", "schedules [agent] [--json]", cmdSchedules},
		"audit":     {"list the audit trail: approvals, control requests, egress… (also while herdbot is stopped)", "audit [agent] [--action PREFIX] [--subject S] [--limit N] [--json]", cmdAudit},
		"workspace": {"list or fetch the files of an agent whose workspace is on a remote engine", "workspace ls AGENT [PATH] | get AGENT PATH [--json]", cmdWorkspace},
		"setup":     {"print setup help for an agent's Discord bot or Slack app", "setup discord|slack AGENT", cmdSetup},
		"docs":      {"print generated docs (configuration reference, herdctl's fields)", "docs config|herdctl", cmdDocs},
		"migrate":   {"turn a herdctl fleet into herdbot's secure layout (prints the changes; --write applies them)", "migrate [-c herdctl.yaml] [--write]", cmdMigrate},
		"doctor":    {"check the engine, images, tokens, permissions, CLI and clock", "doctor [-c herdbot.yaml]", cmdDoctor},
		"web":       {"hash-password: read a password and print the HERDBOT_WEB_PASSWORD_HASH line for the fleet .env", "web hash-password [--cost N] (the password: typed twice, or the first line of stdin)", cmdWeb},
		"egress":    {"run the egress proxy (inside the sidecar container)", "egress [flags]", cmdEgress},
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := stdio{stdin: stdin, stdout: stdout, stderr: stderr}
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := cmds[args[1]]; ok {
				fmt.Fprintf(stdout, "usage: herdbot %s\n\n%s\n", c.usage, c.summary)
				return nil
			}
		}
		usage(stdout, cmds)
		if len(args) == 0 {
			return errors.New("no command")
		}
		return nil
	}
	if args[0] == "--version" || args[0] == "-v" || args[0] == "-version" {
		return cmdVersion(ctx, e, args[1:])
	}
	c, ok := cmds[args[0]]
	if !ok {
		names := make([]string, 0, len(cmds))
		for n := range cmds {
			names = append(names, n)
		}
		sort.Strings(names)
		if s := suggest(args[0], names); s != "" {
			return fmt.Errorf("unknown command %q: did you mean `herdbot %s`? (`herdbot help` lists the commands)", args[0], s)
		}
		return fmt.Errorf("unknown command %q; `herdbot help` lists the commands", args[0])
	}
	return c.run(ctx, e, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "herdbot runs a fleet of Claude Code agents that people talk to from Discord and Slack.")
	fmt.Fprintln(w, "\nUsage: herdbot COMMAND [flags]   (every command takes -c/--config PATH and --help)")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}

// flags is a subcommand's flag set with the flags every command takes.
type flags struct {
	*flag.FlagSet
	config string
	json   bool
}

func newFlags(name string, e stdio, withJSON bool) *flags {
	f := &flags{FlagSet: flag.NewFlagSet("herdbot "+name, flag.ContinueOnError)}
	f.SetOutput(e.stderr)
	f.StringVar(&f.config, "c", "", "fleet file (default ./herdbot.yaml, then ./herdctl.yaml)")
	f.StringVar(&f.config, "config", "", "fleet file (same as -c)")
	if withJSON {
		f.BoolVar(&f.json, "json", false, "print JSON")
	}
	c := commands()[name]
	f.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: herdbot %s\n\n%s\n\nFlags:\n", c.usage, c.summary)
		f.PrintDefaults()
	}
	return f
}

// one parses args and returns the single positional argument the command
// takes (what names it in the error).
func (f *flags) one(args []string, what string) (string, error) {
	pos, err := f.parse(args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		f.Usage()
		return "", fmt.Errorf("%s: need %s", strings.TrimPrefix(f.Name(), "herdbot "), what)
	}
	return pos[0], nil
}

// parse parses args, allowing flags after positional arguments.
func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			return nil, err
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
