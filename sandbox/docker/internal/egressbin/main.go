// Command egressbin is a stand-in for the herdbot binary in the docker
// backend's tests when cmd/herdbot does not build (it is being changed
// beside them): it answers `egressbin egress ARGS` exactly as `herdbot egress
// ARGS` does, by calling egress.Main.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/herdbot/herdbot/sandbox/egress"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "egress" {
		fmt.Fprintln(os.Stderr, "usage: egressbin egress [args]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := egress.Main(ctx, os.Args[2:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "herdbot:", err)
		os.Exit(1)
	}
}
