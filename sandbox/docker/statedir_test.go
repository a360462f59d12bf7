package docker

import (
	"bufio"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestHerdbotStateUnreachableFromAgent lays out a fleet as herdbot does
// (agent directories and the state dir under the fleet directory) with
// herdbot's files owned by the agent container's own uid, the systemd
// unit's layout, and checks from inside the agent's hardened container
// that nothing of herdbot's is reachable: not the state dir, the database,
// the control socket (a live one), the fleet .env, nor another agent's
// directory or HOME. Same uid or not, what is not mounted cannot be
// reached.
func TestHerdbotStateUnreachableFromAgent(t *testing.T) {
	a := testArtefacts(t)
	b := newTestBackend(t)
	const uid, gid = 1000, 1000 // herdbot's uid here, and the agent's

	fleet, err := os.MkdirTemp("", "hbfleet") // short: the socket path is limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(fleet) })
	const (
		dbMarker      = "TRANSCRIPT-OF-ANOTHER-JOB-4711"
		envMarker     = "FLEET-ENV-SECRET-4711"
		otherMarker   = "OTHER-AGENT-SECRET-4711"
		controlMarker = "GARDEN-OWN-HOME-FILE-4711"
	)
	state := filepath.Join(fleet, ".herdbot")
	files := map[string]string{
		".env":                "ANTHROPIC_API_KEY=" + envMarker + "\n",
		"herdbot.yaml":        "version: 1\n",
		".herdbot/herdbot.db": "SQLite format 3\x00" + dbMarker,
		".herdbot/agents/other/home/.claude.json": otherMarker,
		".herdbot/agents/garden/home/notes.txt":   controlMarker,
		"agents/garden/agent.yaml":                "name: garden\n",
		"agents/garden/README.md":                 "garden's workspace\n",
		"agents/other/agent.yaml":                 "name: other\n",
		"agents/other/.env":                       "OTHER_TOKEN=" + otherMarker + "\n",
	}
	for name, content := range files {
		p := filepath.Join(fleet, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A live control socket, as `herdbot start` leaves it.
	sock := filepath.Join(state, "herdbot.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = bufio.NewWriter(c).WriteString("herdbot control\n")
			c.Close()
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	// A socket of the agent's own, in its workspace: the socket search
	// must find it (and nothing else).
	own, err := net.Listen("unix", filepath.Join(fleet, "agents", "garden", "own.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { own.Close() })
	// Everything belongs to the agent's uid.
	if err := filepath.Walk(fleet, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}); err != nil {
		t.Fatal(err)
	}

	spec := testSpec(t, a, "garden", "/probe", "sleep")
	spec.Workspace = filepath.Join(fleet, "agents", "garden")
	spec.StateDir = filepath.Join(state, "agents", "garden")
	spec.User = "1000:1000"
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	var checks []probeCheck
	mustFail := map[string]bool{}
	add := func(fail bool, name, kind, target string) {
		checks = append(checks, probeCheck{Name: name, Kind: kind, Target: target})
		mustFail[name] = fail
	}
	add(true, "a file named herdbot.db, herdbot.sock or herdbot.yaml anywhere", "find", "herdbot.db,herdbot.sock,herdbot.yaml")
	add(false, "unix sockets anywhere (only its own)", "find", "SOCKET")
	add(true, "the database's content anywhere", "grep", b64(dbMarker))
	add(true, "the fleet .env's content anywhere", "grep", b64(envMarker))
	add(true, "another agent's .env or HOME anywhere", "grep", b64(otherMarker))
	add(true, "the control socket at its host path", "unix", sock)
	add(true, "the state dir at its host path", "exists", state)
	add(true, "the fleet dir at its host path", "exists", fleet)
	add(false, "its own HOME file (control)", "grep", b64(controlMarker))
	add(false, "its own workspace (control)", "find", "README.md")
	add(false, "status", "status", "")
	res := runProbe(t, b, spec, checks)
	for _, c := range checks {
		r := res[c.Name]
		switch {
		case mustFail[c.Name] && r.OK:
			t.Errorf("REACHABLE: %s: %s", c.Name, r.Detail)
		case !mustFail[c.Name] && !r.OK:
			t.Errorf("%s failed, want it to work: %s", c.Name, r.Detail)
		default:
			t.Logf("ok  %-60s %s", c.Name, r.Detail)
		}
	}
	if got := res["unix sockets anywhere (only its own)"].Detail; got != "/workspace/own.sock" {
		t.Errorf("unix sockets in the container: %s, want only /workspace/own.sock", got)
	}
	if st := res["status"].Fields; st["uid"] != "1000" {
		t.Errorf("the agent ran as uid %s, want 1000 (herdbot's uid in this layout)", st["uid"])
	}
}
