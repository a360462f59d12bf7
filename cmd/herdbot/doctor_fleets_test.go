package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/internal/statedir"
	"github.com/herdbot/herdbot/internal/testenv"
)

// TestDoctorReportsSameNamedFleets: on the real engine, doctor names
// another installation's resources and an older herdbot's unlabelled ones
// for a fleet of the same name, and not this installation's own.
func TestDoctorReportsSameNamedFleets(t *testing.T) {
	testenv.RequireDocker(t)
	f := newDoctorFleet(t)
	t.Setenv("DOCKER_HOST", "")
	name := "doctortest-" + strings.ToLower(strings.TrimLeft(time.Now().Format("150405.000000000"), "0"))
	name = strings.ReplaceAll(name, ".", "")
	f.write(t, "herdbot.yaml", strings.Replace(doctorFleetYAML, "name: doctortest", "name: "+name, 1), 0o644)
	own, err := statedir.InstallationID(filepath.Join(f.dir, ".herdbot"))
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Repeat("ab", 16)
	network := func(suffix string, labels ...string) {
		args := []string{"network", "create", "--internal"}
		for _, l := range append([]string{"herdbot.managed=1", "herdbot.fleet=" + name}, labels...) {
			args = append(args, "--label", l)
		}
		n := name + "-" + suffix
		if out, err := exec.Command("docker", append(args, n)...).CombinedOutput(); err != nil {
			t.Fatalf("docker network create: %v\n%s", err, out)
		}
		t.Cleanup(func() { exec.Command("docker", "network", "rm", n).Run() })
	}
	network("own", "herdbot.installation="+own)
	network("other", "herdbot.installation="+other)
	network("legacy")

	out, _ := runDoctor(t, f)
	wantLine(t, out, "WARN", "other installations: another herdbot installation ("+other+")", name, "0 container(s), 1 network(s)")
	wantLine(t, out, "WARN", "other installations: 0 container(s) and 1 network(s)", "no installation id")
	if strings.Contains(out, own) {
		t.Errorf("doctor reported this installation's own network:\n%s", out)
	}

	// Without the others, nothing to report.
	for _, n := range []string{"other", "legacy"} {
		_ = exec.Command("docker", "network", "rm", name+"-"+n).Run()
	}
	out, _ = runDoctor(t, f)
	wantLine(t, out, "OK", "other installations: no other herdbot", name)
}
