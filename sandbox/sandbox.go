// Package sandbox is the contract for starting an agent's process somewhere
// isolated. Implementations live in subpackages named for what they wrap:
// sandbox/docker (hardened containers) and sandbox/native (a local child
// process, no isolation, development only).
package sandbox

import (
	"context"
	"errors"
	"io"
	"syscall"

	"github.com/herdbot/herdbot/internal/pathguard"
)

// ErrImageMissing is returned by Start when the agent image is not present
// locally. The error text names the image and how to build it.
var ErrImageMissing = errors.New("agent image missing")

// ErrEngineLost is matched (errors.Is) by the errors of Start and of a
// Process's Wait when the container engine itself stopped answering: the
// process's fate is unknown, and nothing of the agent's can run until the
// engine is back. A backend that sees the engine again recreates what the
// agent needs on the next Start.
var ErrEngineLost = errors.New("container engine lost")

// EngineLostError is the ErrEngineLost error with its cause ("Cannot
// connect to the Docker daemon …").
type EngineLostError struct{ Cause error }

func (e *EngineLostError) Error() string { return ErrEngineLost.Error() + ": " + e.Cause.Error() }

// Is matches ErrEngineLost.
func (e *EngineLostError) Is(target error) bool { return target == ErrEngineLost }

// Unwrap returns the cause.
func (e *EngineLostError) Unwrap() error { return e.Cause }

// Backend starts agent processes.
//
// Start returns once the process is running and its stdio is attached. The
// process belongs to the caller, who must Wait for it; a backend removes what
// it created for the process (a container, say) once the process has exited
// and been waited for.
type Backend interface {
	Start(ctx context.Context, spec Spec) (Process, error)
}

// Process is one running agent process.
//
// Stdin, Stdout and Stderr are valid until Wait returns. Closing Stdin sends
// EOF to the process. Wait blocks until the process exits or ctx is done and
// may be called more than once; it returns the same status each time.
// Signal delivers a signal (SIGTERM, SIGKILL, SIGINT) to the process.
type Process interface {
	Stdin() io.WriteCloser
	Stdout() io.Reader
	Stderr() io.Reader
	Wait(ctx context.Context) (ExitStatus, error)
	Signal(ctx context.Context, sig syscall.Signal) error
}

// ExitStatus says how a process ended.
type ExitStatus struct {
	Code      int  // exit code; -1 when killed by a signal and no code is known
	OOMKilled bool // the kernel killed the process for exceeding its memory limit
}

// Spec describes one agent process. Only what is listed here reaches the
// process: there is no inherited environment.
type Spec struct {
	Fleet string // fleet name, for labels
	Agent string // agent name
	Job   string // job or conversation id, for labels and container names

	Image   string   // container image (docker only)
	Command []string // argv; Command[0] is the program
	Env     []string // KEY=VALUE pairs, the explicit list only

	// Workspace is the host directory of the agent's working directory.
	// It is mounted (docker) or used as cwd (native). Secret files in it
	// (.env*, *.pem, *.key) are masked inside a container.
	Workspace         string
	WorkspaceReadOnly bool
	// ContainerWorkspace is the workspace path inside the container
	// (default /workspace). It stays the same across runs so that the
	// CLI's sessions, which are keyed by cwd, resume.
	ContainerWorkspace string
	// ReadOnly lists host files or directories inside Workspace that the
	// process may read but never change, create or remove, even in a rw
	// workspace: every agent file name and the .env of the agent's own
	// directory, so it cannot widen its own permissions (approvers,
	// schedules, allowed tools) and have herdbot reload them. In a
	// writable workspace the docker backend creates an absent one as an
	// empty read-only placeholder (mode 0444) before it mounts it
	// read-only; one named like a secret (.env) stays masked. Paths
	// outside Workspace are ignored.
	ReadOnly []string
	// Protected lists host paths the workspace must keep clear of
	// (herdbot's state directory, the fleet directory, other agents'
	// directories and workspaces), besides / and the system directories,
	// which are always refused. The docker backend checks them on paths
	// with symbolic links resolved just before it mounts the workspace,
	// because a link can change after the configuration was checked.
	Protected []pathguard.Rule
	// StateDir is a host directory private to this agent where the
	// backend keeps the CLI's config dir (HOME), so sessions survive
	// ephemeral containers.
	StateDir string

	User   string            // "uid:gid"; empty means the workspace owner
	Limits Limits            // resource limits
	Tmpfs  map[string]string // extra tmpfs mounts: path -> options
	Labels map[string]string // extra labels (herdbot.* are always set)

	Network Network

	// Options only one backend has a meaning for (the docker backend's
	// host_config passthrough, extra volumes, privileges) are not here:
	// main gives them to that backend, typed (docker.Options, Backend.With).
}

// Limits are resource limits for one process.
type Limits struct {
	MemoryBytes int64 // hard memory limit; swap is set equal (no swap)
	NanoCPUs    int64 // CPU quota in units of 1e-9 CPUs
	CPUShares   int64
	CPUPeriod   int64
	CPUQuota    int64
	PidsLimit   int64
	TmpBytes    int64 // size of the /tmp tmpfs
}

// Network is the agent's network policy.
type Network struct {
	// Allow lists host names reachable through the egress proxy: exact
	// ("api.github.com") or wildcard ("*.github.com").
	Allow []string
	// Private lists fleet-level private destinations, "host:port" or
	// "CIDR:port", that the proxy may reach even though they resolve to
	// private addresses.
	Private []string
	// Model is where the proxy forwards model API traffic, adding the
	// credential so it never enters the sandbox.
	Model ModelUpstream
	// None disables all networking (no proxy, no network).
	None bool
}

// ModelUpstream is the model API the egress proxy forwards to.
type ModelUpstream struct {
	URL        string // e.g. https://api.anthropic.com
	APIKey     string // sent as x-api-key
	OAuthToken string // sent as Authorization: Bearer
}
