package docker

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/egress"
)

// TestSidecarModelProxy checks the model proxy of a real sidecar from
// inside a real agent container: the one model call the CLI makes reaches
// the model with the real key, every other call is refused and reported
// (the records herdbot writes as egress.denied audit rows), and the key
// is nowhere in the sidecar's configuration that `docker inspect` shows:
// it reached the sidecar as a file.
func TestSidecarModelProxy(t *testing.T) {
	a := testArtefacts(t)
	rec := newRecorder()
	b := newTestBackend(t, func(c *Config) { c.OnEgress = rec.add })
	ctx := testCtx(t)
	model, modelPort := startFakeModel(t)
	egressNet, err := b.ensureEgressNetwork(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gw := egressNet.gateways[0].String()

	spec := testSpec(t, a, "keyed", "/probe", "sleep")
	spec.Network = sandbox.Network{
		Private: []string{gw + "/32:" + strconv.Itoa(modelPort)},
		Model:   sandbox.ModelUpstream{URL: "http://" + gw + ":" + strconv.Itoa(modelPort), APIKey: realModelKey},
	}
	refused := []string{
		"GET /v1/models",
		"POST /v1/files",
		"DELETE /v1/messages",
		"PUT /v1/messages",
		"POST /v1/organizations/org-1/api_keys",
		"POST /api/oauth/claude_cli/create_api_key",
		"POST /v1/messages/../files",
		"POST /v1%2Fmessages",
		"POST //v1/messages",
	}
	checks := []probeCheck{
		{Name: "messages", Kind: "model_do", Target: "POST /v1/messages?beta=true"},
		{Name: "credential volume", Kind: "exists", Target: credentialDir},
	}
	for _, c := range refused {
		checks = append(checks, probeCheck{Name: c, Kind: "model_do", Target: c})
	}
	res := runProbe(t, b, spec, checks)
	if r := res["messages"]; !r.OK || !strings.Contains(r.Detail, "model says hi") {
		t.Errorf("POST /v1/messages?beta=true: %s", r.Detail)
	}
	if r := res["credential volume"]; r.OK {
		t.Errorf("the agent container sees %s", credentialDir)
	}
	for _, c := range refused {
		if r := res[c]; r.OK || r.Fields["status"] != "403" {
			t.Errorf("%s from the agent: %s, want 403", c, r.Detail)
		}
	}
	model.mu.Lock()
	keys := append([]string(nil), model.keys...)
	model.mu.Unlock()
	if len(keys) != 1 || keys[0] != realModelKey {
		t.Errorf("the model upstream got %d calls with keys %q, want one with the real key", len(keys), keys)
	}
	for _, c := range refused {
		path, _, _ := strings.Cut(c, "?")
		want := "model API call refused (not a model API call): " + path
		r, ok := rec.waitFor(ctx, func(r egress.Record) bool { return r.Reason == want })
		if !ok || r.Allowed || r.Agent != "keyed" || r.Host != gw || r.Port != modelPort {
			t.Errorf("record for %s: %+v (found %t)", c, r, ok)
		}
	}

	// docker inspect of the sidecar: the key is in none of it.
	ins, err := b.cli.ContainerInspect(ctx, b.sidecarName("keyed"), client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := ins.Container
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), realModelKey) {
		t.Errorf("the sidecar's inspect output holds the key")
	}
	parts := map[string]any{"Env": c.Config.Env, "Cmd": c.Config.Cmd, "Entrypoint": c.Config.Entrypoint, "Labels": c.Config.Labels}
	for name, v := range parts {
		b, _ := json.Marshal(v)
		if strings.Contains(string(b), realModelKey) || strings.Contains(string(b), "model_api_key") {
			t.Errorf("sidecar %s holds the credential: %s", name, b)
		}
	}
	var cfgJSON string
	for _, kv := range c.Config.Env {
		if v, ok := strings.CutPrefix(kv, egress.ConfigEnv+"="); ok {
			cfgJSON = v
		}
	}
	if !strings.Contains(cfgJSON, `"credential_file":"`+credentialFile+`"`) {
		t.Errorf("sidecar config %s does not name the credential file", cfgJSON)
	}
	var vol *container.MountPoint
	for i, m := range c.Mounts {
		if m.Type == mount.TypeVolume && m.Destination == credentialDir {
			vol = &c.Mounts[i]
		}
	}
	if vol == nil || !c.HostConfig.ReadonlyRootfs {
		t.Fatalf("sidecar mounts %+v, read-only root %t; want the credential volume on a read-only root", c.Mounts, c.HostConfig.ReadonlyRootfs)
	}
	// On this host's engine the volume is a local directory: the file
	// is the sidecar user's, mode 0400, under root-only Docker storage.
	if fi, err := os.Stat(filepath.Join(vol.Source, credentialName)); err == nil {
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0o400 || st.Uid != 65534 || st.Gid != 65534 {
			t.Errorf("credential file mode %v owner %d:%d, want 0400 65534:65534", fi.Mode().Perm(), st.Uid, st.Gid)
		}
	} else {
		t.Logf("credential file not visible on this host (%v): a remote engine", err)
	}
	// The volume goes with the sidecar.
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.cli.VolumeInspect(ctx, vol.Name, client.VolumeInspectOptions{}); !isNotFound(err) {
		t.Errorf("credential volume %s after Close: %v, want it removed", vol.Name, err)
	}
}
