// Command agentimage builds the local agent image holding the real pinned
// Claude Code CLI, without any registry (see docker.Backend.BuildCLIImage).
// `make agent-image` and scripts/agent-image.sh run it.
//
//	go run ./scripts/agentimage [-tag herdbot-agent:2.1.332] [-claude .tools/node_modules/.bin/claude]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/herdbot/herdbot/sandbox/docker"
)

func main() {
	tag := flag.String("tag", docker.DefaultAgentImage, "image tag")
	claude := flag.String("claude", ".tools/node_modules/.bin/claude", "the Claude Code CLI (installed by `make tools`)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *tag, *claude)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentimage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, tag, claude string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	b, err := docker.New(ctx, docker.Config{}, log)
	if err != nil {
		return err
	}
	defer b.Close(context.WithoutCancel(ctx))
	start := time.Now()
	if err := b.BuildCLIImage(ctx, tag, claude); err != nil {
		return err
	}
	fmt.Printf("%s ready (%s)\n", tag, time.Since(start).Round(100*time.Millisecond))
	return nil
}
