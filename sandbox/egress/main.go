package egress

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// ConfigEnv is the environment variable holding the JSON Config.
const ConfigEnv = "HERDBOT_EGRESS_CONFIG"

// Main runs the egress proxy as the `herdbot egress` subcommand until ctx
// is done. The Config comes from $HERDBOT_EGRESS_CONFIG (JSON) and flags,
// which override it; the credentials only from the credential file it
// names (never from the environment or argv). Records go to stdout as JSON
// lines, logs to stderr as JSON.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return run(ctx, args, os.Getenv, stdout, stderr)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("component", "egress", "agent", cfg.Agent)
	p, err := New(cfg, log, jsonRecorder(stdout))
	if err != nil {
		return err
	}
	cfg = p.cfg
	var lc net.ListenConfig
	fwdLn, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("egress: listen: %w", err)
	}
	modelLn, err := lc.Listen(ctx, "tcp", cfg.ModelListen)
	if err != nil {
		_ = fwdLn.Close()
		return fmt.Errorf("egress: model listen: %w", err)
	}
	log.Info("egress proxy listening", "listen", fwdLn.Addr().String(), "model_listen", modelLn.Addr().String(), "config", cfg)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.Serve(gctx, fwdLn) })
	g.Go(func() error { return p.ServeModel(gctx, modelLn) })
	err = g.Wait()
	log.Info("egress proxy stopped")
	return err
}

// loadConfig reads $HERDBOT_EGRESS_CONFIG, applies flags, then reads the
// credential file.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var cfg Config
	if s := getenv(ConfigEnv); strings.TrimSpace(s) != "" {
		c, err := ParseConfig([]byte(s))
		if err != nil {
			return Config{}, fmt.Errorf("egress: %s: %w", ConfigEnv, err)
		}
		cfg = c
	}
	fs := flag.NewFlagSet("herdbot egress", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Agent, "agent", cfg.Agent, "agent name, stamped on every record")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "forward proxy address (default "+DefaultListen+")")
	fs.StringVar(&cfg.ModelListen, "model-listen", cfg.ModelListen, "model API proxy address (default "+DefaultModelListen+")")
	fs.StringVar(&cfg.ModelURL, "model-url", cfg.ModelURL, "model API upstream (default "+DefaultModelURL+")")
	fs.IntVar(&cfg.MaxConns, "max-conns", cfg.MaxConns, "concurrent connections per listener")
	fs.StringVar(&cfg.CredentialFile, "credential-file", cfg.CredentialFile, `JSON file {"model_api_key": …, "model_oauth_token": …} read at start`)
	fs.Func("allow", "allowed host name, host:port, *.domain or *.domain:port (repeatable, comma-separated)", listFlag(&cfg.Allow))
	fs.Func("private", "private destination host:port or CIDR:port (repeatable, comma-separated)", listFlag(&cfg.Private))
	fs.Func("deny-cidr", "network always refused (repeatable, comma-separated)", listFlag(&cfg.DenyCIDRs))
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: herdbot egress [flags]\n\nConfig JSON is read from $%s; flags override it.\n"+
			"Credentials (model_api_key, model_oauth_token) are read only from the credential file.\n\n", ConfigEnv)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("egress: %w", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("egress: unexpected argument %q", fs.Arg(0))
	}
	if cfg.CredentialFile != "" {
		c, err := ReadCredentials(cfg.CredentialFile)
		if err != nil {
			return Config{}, fmt.Errorf("egress: %w", err)
		}
		cfg.ModelAPIKey, cfg.ModelOAuthToken = c.ModelAPIKey, c.ModelOAuthToken
	}
	return cfg, nil
}

// listFlag appends comma-separated values; the first use on the command
// line replaces what the JSON config said.
func listFlag(dst *[]string) func(string) error {
	replaced := false
	return func(s string) error {
		if !replaced {
			*dst, replaced = nil, true
		}
		for v := range strings.SplitSeq(s, ",") {
			if v = strings.TrimSpace(v); v == "" {
				return errors.New("empty value")
			}
			*dst = append(*dst, v)
		}
		return nil
	}
}

// jsonRecorder writes each Record as one JSON line to w.
func jsonRecorder(w io.Writer) func(Record) {
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	return func(r Record) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(r)
	}
}
