package egress

import (
	"context"
	"errors"
	"io"
)

// Main runs the egress proxy as the `herdbot egress` subcommand.
// (Placeholder: the egress proxy is being written.)
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("egress: not implemented yet")
}
