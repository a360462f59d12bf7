package docker

import (
	"testing"

	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/sandboxtest"
)

// TestContract runs the sandbox contract suite against the real engine,
// without networking (the network is covered by the escape tests).
func TestContract(t *testing.T) {
	a := testArtefacts(t)
	sandboxtest.TestBackend(t, func(t *testing.T) sandboxtest.Harness {
		b := newTestBackend(t)
		return sandboxtest.Harness{
			Backend: b,
			Spec: func(t *testing.T, args ...string) sandbox.Spec {
				return testSpec(t, a, "contract", append([]string{"/helper"}, args...)...)
			},
			// Docker adds PATH and HOSTNAME; the backend sets HOME.
			ExtraEnv: []string{"HOME", "PATH", "HOSTNAME"},
		}
	})
}
