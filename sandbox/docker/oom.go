package docker

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupOOMKills reads the kernel's OOM-kill count for a container's memory
// cgroup: the record Docker's State.OOMKilled is derived from, which Engine
// 20.10 sometimes never sets (the kernel kills a process of the container,
// docker-init exits 137, and no OOM event reaches the engine). It must be
// read before the container is removed. known is false when no cgroup file
// could be read (herdbot without access to /sys/fs/cgroup, another driver).
func cgroupOOMKills(root, id string) (kills int, known bool) {
	for _, p := range []string{
		filepath.Join(root, "memory", "docker", id, "memory.oom_control"),                          // v1, cgroupfs driver
		filepath.Join(root, "memory", "system.slice", "docker-"+id+".scope", "memory.oom_control"), // v1, systemd driver
		filepath.Join(root, "system.slice", "docker-"+id+".scope", "memory.events"),                // v2, systemd driver
		filepath.Join(root, "docker", id, "memory.events"),                                         // v2, cgroupfs driver
	} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
					f.Close()
					return n, true
				}
			}
		}
		f.Close()
	}
	return 0, false
}

// cgroupRoot is where cgroup filesystems are mounted.
const cgroupRoot = "/sys/fs/cgroup"
