package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herdbot/herdbot/config"
)

// cmdMigrate prints, or with --write applies, the changes that turn a
// herdctl fleet into herdbot's secure layout (config.PlanMigration), then
// validates the result.
func cmdMigrate(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("migrate", e, false)
	write := fs.Bool("write", false, "apply the changes (each replaced file is kept as FILE.pre-migrate)")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	m, err := config.PlanMigration(fs.config)
	if err != nil {
		fmt.Fprintln(e.stdout, err)
		return exitError(1)
	}
	if err := m.Print(e.stdout); err != nil {
		return err
	}
	if len(m.Changes) == 0 {
		return validateAfterMigrate(e, m.Fleet)
	}
	if !*write {
		fmt.Fprintf(e.stdout, "\nNothing was written. Run `herdbot migrate -c %s --write` to apply these changes; it keeps each replaced file as FILE.pre-migrate and validates the result.\n", m.Fleet)
		return nil
	}
	backups, err := m.Write()
	for _, b := range backups {
		fmt.Fprintf(e.stdout, "kept %s\n", b)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(e.stdout, "wrote %d file(s)\n", len(m.Changes))
	return validateAfterMigrate(e, m.Fleet)
}

// validateAfterMigrate loads the fleet and prints its summary, or what is
// still wrong (which migrate could not fix).
func validateAfterMigrate(e stdio, fleet string) error {
	fmt.Fprintln(e.stdout)
	cfg, err := config.Load(fleet)
	if err != nil {
		var es *config.Errors
		if errors.As(err, &es) {
			fmt.Fprintf(e.stdout, "%s still does not validate; fix these by hand:\n%v\n", fleet, err)
			return exitError(1)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "%s validates:\n\n", fleet)
	return config.Summary(cfg, e.stdout, time.Now(), nextRuns)
}
