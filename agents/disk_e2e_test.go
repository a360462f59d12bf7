package agents_test

import (
	"testing"

	"github.com/herdbot/herdbot/agents/agentstest"
)

// TestDiskFillIsStoppedThenRefused: the real CLI (native backend) runs a
// pre-approved Bash command that writes 32 MiB past an 8 MiB limit, into
// the workspace or into HOME; the disk watcher stops the run, the next run
// is refused with the use and the limit, and the audit, the metrics and
// the store say so. The same attack from inside a real container is in
// sandbox/docker.
func TestDiskFillIsStoppedThenRefused(t *testing.T) {
	for _, tc := range []struct{ name, command string }{
		{"Workspace", "head -c 33554432 /dev/zero > big.bin && echo written"},
		{"Home", `head -c 33554432 /dev/zero > "$HOME/big.bin" && echo written`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agentstest.NewDiskFill(tc.command, "workspace and HOME", 8<<20).Run(t, agentstest.Options{})
		})
	}
}
