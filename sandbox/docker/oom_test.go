package docker

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCgroupOOMKills(t *testing.T) {
	root := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, known := cgroupOOMKills(root, "abc"); known {
		t.Fatal("no cgroup files: must be unknown")
	}
	write("memory/docker/v1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
	if n, known := cgroupOOMKills(root, "v1"); !known || n != 2 {
		t.Fatalf("v1: %d %v", n, known)
	}
	write("system.slice/docker-v2.scope/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
	if n, known := cgroupOOMKills(root, "v2"); !known || n != 0 {
		t.Fatalf("v2: %d %v", n, known)
	}
}
