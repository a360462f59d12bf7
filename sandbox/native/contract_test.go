package native_test

import (
	"testing"

	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/native"
	"github.com/herdbot/herdbot/sandbox/sandboxtest"
)

// TestContract runs the shared sandbox.Backend contract suite against the
// native backend.
func TestContract(t *testing.T) {
	helper, err := sandboxtest.BuildHelper(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sandboxtest.TestBackend(t, func(t *testing.T) sandboxtest.Harness {
		state := t.TempDir()
		return sandboxtest.Harness{
			Backend: native.New(testLog(t)),
			Spec: func(t *testing.T, args ...string) sandbox.Spec {
				return sandbox.Spec{
					Agent:     "contract",
					Command:   append([]string{helper}, args...),
					Workspace: t.TempDir(),
					StateDir:  state,
				}
			},
			ExtraEnv: []string{"HOME"},
		}
	})
}
