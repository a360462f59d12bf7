package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/sandbox/egress"
)

func cmdVersion(ctx context.Context, e env, args []string) error {
	fs := newFlags("version", e, false)
	if _, err := fs.parse(args); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "herdbot", version)
	return nil
}

func cmdValidate(ctx context.Context, e env, args []string) error {
	fs := newFlags("validate", e, false)
	if _, err := fs.parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(fs.config)
	if err != nil {
		fmt.Fprintln(e.stdout, err)
		return exitError(1)
	}
	return config.Summary(cfg, e.stdout, time.Now(), nextRuns)
}

func cmdInit(ctx context.Context, e env, args []string) error {
	fs := newFlags("init", e, false)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	dir := "."
	if len(pos) > 0 {
		dir = pos[0]
	}
	if err := config.Scaffold(dir); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Scaffolded a fleet in %s. Next: copy each .env.example to .env, fill in tokens, then `herdbot validate -c %s/herdbot.yaml`.\n", dir, dir)
	return nil
}

func cmdDocs(ctx context.Context, e env, args []string) error {
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

func cmdEgress(ctx context.Context, e env, args []string) error {
	return egress.Main(ctx, args, e.stdout, e.stderr)
}

func cmdSetup(ctx context.Context, e env, args []string) error {
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
