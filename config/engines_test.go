package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// engineFleet is a fleet with engine box2 (tcp + TLS, files beside the
// fleet file), engine pi (ssh, key and known_hosts beside the fleet file)
// and agent a placed on box2 from the fleet file.
func engineFleet() map[string]string {
	return map[string]string{
		"herdbot.yaml": "engines:\n  box2:\n    host: tcp://10.0.0.2:2376\n    tls:\n      ca: certs/ca.pem\n      cert: certs/cert.pem\n      key: certs/key.pem\n" +
			"  nas:\n    host: unix:///run/nas/docker.sock\n" +
			"  pi:\n    host: ssh://herdbot@10.0.0.3:2222\n    ssh:\n      key: ssh/id_ed25519\n      known_hosts: ssh/known_hosts\n" +
			"agents:\n  - path: agents/a\n    overrides:\n      docker:\n        engine: box2\n  - path: agents/b\n",
		"agents/a/agent.yaml": "name: a\n",
		"agents/b/agent.yaml": "name: b\n",
		"certs/ca.pem":        "ca",
		"certs/cert.pem":      "cert",
		"certs/key.pem":       "key",
		"ssh/id_ed25519":      "key",
		"ssh/known_hosts":     "hosts",
	}
}

// loadEngineFleet writes files, makes the key private, and loads.
func loadEngineFleet(t *testing.T, files map[string]string) (*Fleet, string, error) {
	t.Helper()
	dir := writeFiles(t, files)
	for _, k := range []string{"certs/key.pem", "agents/a/key.pem", "ssh/id_ed25519", "agents/a/id_ed25519"} {
		if p := filepath.Join(dir, k); exists(p) {
			if err := os.Chmod(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	f, err := load(dir, mapLookup(nil))
	return f, dir, err
}

func TestEnginesResolve(t *testing.T) {
	f, dir, err := loadEngineFleet(t, engineFleet())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	box2, ok := f.Engines["box2"]
	if !ok || box2.Host != "tcp://10.0.0.2:2376" {
		t.Fatalf("engines: %+v", f.Engines)
	}
	if want := filepath.Join(dir, "certs", "ca.pem"); box2.CA != want || box2.Cert != filepath.Join(dir, "certs", "cert.pem") || box2.Key != filepath.Join(dir, "certs", "key.pem") {
		t.Fatalf("tls paths not resolved relative to the fleet file: %+v", box2)
	}
	if nas := f.Engines["nas"]; nas.Host != "unix:///run/nas/docker.sock" || nas.CA != "" {
		t.Fatalf("nas: %+v", nas)
	}
	pi := f.Engines["pi"]
	if pi.Host != "ssh://herdbot@10.0.0.3:2222" || pi.SSHKey != filepath.Join(dir, "ssh", "id_ed25519") ||
		pi.KnownHosts != filepath.Join(dir, "ssh", "known_hosts") || pi.Socket != "/var/run/docker.sock" || pi.CA != "" {
		t.Fatalf("pi: ssh paths not resolved relative to the fleet file, or socket not defaulted: %+v", pi)
	}
	byName := map[string]*Agent{}
	for _, a := range f.Agents {
		byName[a.Name] = a
	}
	if byName["a"].Docker.Engine != "box2" || byName["b"].Docker.Engine != "" {
		t.Fatalf("placement: a=%q b=%q", byName["a"].Docker.Engine, byName["b"].Docker.Engine)
	}
}

func TestEngineErrors(t *testing.T) {
	cases := []struct {
		name         string
		files        map[string]string
		file, field  string
		msg          string
		wantLineOver int // the problem's line is at least this (0: any)
	}{
		{
			name:  "agent file may not move itself",
			files: map[string]string{"agents/b/agent.yaml": "name: b\ndocker:\n  engine: box2\n"},
			file:  "agents/b/agent.yaml", field: "docker.engine", msg: "fleet", wantLineOver: 3,
		},
		{
			name:  "unknown engine",
			files: map[string]string{"herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "engine: box2", "engine: box3", 1)},
			file:  "herdbot.yaml", field: "agents[0].overrides.docker.engine", msg: `unknown engine "box3"`, wantLineOver: 12,
		},
		{
			name:  "tcp without tls",
			files: map[string]string{"herdbot.yaml": "engines:\n  box2:\n    host: tcp://10.0.0.2:2375\nagents:\n  - path: agents/a\n"},
			file:  "herdbot.yaml", field: "engines.box2.tls", msg: "needs tls",
		},
		{
			name:  "ssh without key and known_hosts",
			files: map[string]string{"herdbot.yaml": "engines:\n  nas:\n    host: ssh://herdbot@nas\nagents:\n  - path: agents/a\n"},
			file:  "herdbot.yaml", field: "engines.nas.ssh", msg: "needs ssh: {key, known_hosts}",
		},
		{
			name:  "ssh without known_hosts",
			files: map[string]string{"herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "      known_hosts: ssh/known_hosts\n", "", 1)},
			file:  "herdbot.yaml", field: "engines.pi.ssh", msg: "always checks the machine's host key",
		},
		{
			name:  "ssh without user",
			files: map[string]string{"herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "ssh://herdbot@10.0.0.3:2222", "ssh://10.0.0.3", 1)},
			file:  "herdbot.yaml", field: "engines.pi.host", msg: "want ssh://USER@HOST[:PORT]", wantLineOver: 10,
		},
		{
			name:  "ssh with a path",
			files: map[string]string{"herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "ssh://herdbot@10.0.0.3:2222", "ssh://herdbot@10.0.0.3/var/run/docker.sock", 1)},
			file:  "herdbot.yaml", field: "engines.pi.host", msg: "without a path",
		},
		{
			name:  "ssh socket not absolute",
			files: map[string]string{"herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "known_hosts: ssh/known_hosts\n", "known_hosts: ssh/known_hosts\n      socket: docker.sock\n", 1)},
			file:  "herdbot.yaml", field: "engines.pi.ssh.socket", msg: "absolute path",
		},
		{
			name:  "missing known_hosts file",
			files: map[string]string{"herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "known_hosts: ssh/known_hosts", "known_hosts: ssh/nope", 1)},
			file:  "herdbot.yaml", field: "engines.pi.ssh.known_hosts", msg: "nope", wantLineOver: 13,
		},
		{
			name: "ssh key inside an agent's directory",
			files: map[string]string{"agents/a/id_ed25519": "key",
				"herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "key: ssh/id_ed25519", "key: agents/a/id_ed25519", 1)},
			file: "herdbot.yaml", field: "engines.pi.ssh.key", msg: "inside agent a's directory",
		},
		{
			name: "known_hosts inside an agent's directory",
			files: map[string]string{"agents/a/known_hosts": "hosts",
				"herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "known_hosts: ssh/known_hosts", "known_hosts: agents/a/known_hosts", 1)},
			file: "herdbot.yaml", field: "engines.pi.ssh.known_hosts", msg: "inside agent a's directory",
		},
		{
			name:  "tls on an ssh engine",
			files: map[string]string{"herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "    ssh:\n", "    tls:\n      ca: certs/ca.pem\n    ssh:\n", 1)},
			file:  "herdbot.yaml", field: "engines.pi.tls", msg: "tls is for tcp:// engines",
		},
		{
			name:  "ssh on a tcp engine",
			files: map[string]string{"herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "      key: certs/key.pem\n", "      key: certs/key.pem\n    ssh:\n      key: ssh/id_ed25519\n", 1)},
			file:  "herdbot.yaml", field: "engines.box2.ssh", msg: "ssh is for ssh:// engines",
		},
		{
			name:  "missing cert file",
			files: map[string]string{"certs/ca.pem": "", "herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "ca: certs/ca.pem", "ca: certs/nope.pem", 1)},
			file:  "herdbot.yaml", field: "engines.box2.tls.ca", msg: "nope.pem", wantLineOver: 5,
		},
		{
			name: "key inside an agent's directory",
			files: map[string]string{"agents/a/key.pem": "key",
				"herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "key: certs/key.pem", "key: agents/a/key.pem", 1)},
			file: "herdbot.yaml", field: "engines.box2.tls.key", msg: "inside agent a's directory",
		},
		{
			name:  "local is reserved",
			files: map[string]string{"herdbot.yaml": "engines:\n  local:\n    host: unix:///x.sock\nagents:\n  - path: agents/a\n"},
			file:  "herdbot.yaml", field: "engines.local", msg: "local engine's name",
		},
		{
			name:  "native agent on an engine",
			files: map[string]string{"herdbot.yaml": strings.Replace(engineFleet()["herdbot.yaml"], "engine: box2", "engine: box2\n        enabled: false", 1)},
			file:  "herdbot.yaml", field: "agents[0].overrides.docker.engine", msg: "docker.enabled is false",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := with(engineFleet(), c.files)
			if c.name == "missing cert file" {
				delete(files, "certs/ca.pem")
			}
			_, _, err := loadEngineFleet(t, files)
			p := findProblem(t, err, c.file, c.field, c.msg)
			if p.Line < c.wantLineOver {
				t.Errorf("problem at line %d, want %d or later: %v", p.Line, c.wantLineOver, p)
			}
		})
	}
}

func TestEngineKeyMustBePrivate(t *testing.T) {
	dir := writeFiles(t, engineFleet())
	if err := os.Chmod(filepath.Join(dir, "certs", "key.pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := load(dir, mapLookup(nil))
	findProblem(t, err, "herdbot.yaml", "engines.box2.tls.key", "chmod 600")
}

func TestEngineSSHFilePermissions(t *testing.T) {
	t.Run("key readable by others", func(t *testing.T) {
		dir := writeFiles(t, engineFleet())
		if err := os.Chmod(filepath.Join(dir, "certs", "key.pem"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, "ssh", "id_ed25519"), 0o640); err != nil {
			t.Fatal(err)
		}
		_, err := load(dir, mapLookup(nil))
		findProblem(t, err, "herdbot.yaml", "engines.pi.ssh.key", "chmod 600")
	})
	t.Run("known_hosts writable by others", func(t *testing.T) {
		files := engineFleet()
		dir := writeFiles(t, files)
		for k, m := range map[string]os.FileMode{"certs/key.pem": 0o600, "ssh/id_ed25519": 0o600, "ssh/known_hosts": 0o666} {
			if err := os.Chmod(filepath.Join(dir, k), m); err != nil {
				t.Fatal(err)
			}
		}
		_, err := load(dir, mapLookup(nil))
		findProblem(t, err, "herdbot.yaml", "engines.pi.ssh.known_hosts", "writable by group or others")
	})
}
