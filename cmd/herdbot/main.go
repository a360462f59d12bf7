// Command herdbot runs a fleet of Claude Code agents that people talk to from
// Discord and Slack. See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/herdbot/herdbot/sandbox/egress"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "herdbot:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no command; try `herdbot help`")
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, "herdbot", version)
		return nil
	case "egress":
		return egress.Main(ctx, args[1:], stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q; try `herdbot help`", args[0])
	}
}
