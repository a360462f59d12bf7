package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/sandbox/docker/dockertest"
)

// TestDoctorSSHEngine: `herdbot doctor` reaches an ssh:// engine of the
// fleet file (a real sshd in the second engine's namespace) with the key
// and known_hosts named there, and shows it reachable with its version;
// with a known_hosts holding another key for that host, it says the
// engine is not reachable (key mismatch).
func TestDoctorSSHEngine(t *testing.T) {
	t.Parallel()
	eng := dockertest.Start(t)
	sshd := eng.StartSSHD()
	dir := t.TempDir()
	for name, src := range map[string]string{"id": sshd.Key, "known_hosts": sshd.KnownHosts} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "ssh"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ssh", name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fleet := filepath.Join(dir, "herdbot.yaml")
	write(t, fleet, "version: 1\nfleet:\n  name: doctor-ssh\n"+
		"engines:\n  nas:\n    host: "+sshd.Host+"\n    ssh:\n      key: ssh/id\n      known_hosts: ssh/known_hosts\n      socket: "+sshd.Socket+"\n"+
		"agents:\n  - path: agents/a\n    overrides:\n      docker:\n        enabled: false\n")
	write(t, filepath.Join(dir, "agents", "a", "agent.yaml"), "name: a\napprovers:\n  console: [local]\n")
	out, err := cli(t, fleet, "doctor")
	if !strings.Contains(out, "engine nas: reachable at "+sshd.Host+" (Engine ") {
		t.Fatalf("doctor does not show engine nas over SSH: %s %v", out, err)
	}

	// Another host key for the same address (the client's own public
	// key, which the server does not have): refused.
	b, err := os.ReadFile(filepath.Join(dir, "ssh", "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b)) // host, key type, key
	pub, err := os.ReadFile(filepath.Join(eng.Dir, "ssh", "authorized_keys"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ssh", "known_hosts"), []byte(f[0]+" "+strings.TrimSpace(string(pub))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = cli(t, fleet, "doctor")
	if !strings.Contains(out, "engine nas: not reachable at "+sshd.Host) || !strings.Contains(out, "key mismatch") {
		t.Fatalf("doctor with a changed host key: %s %v", out, err)
	}
}
