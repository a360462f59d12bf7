package pathguard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mkdir(t *testing.T, p string) string {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	root := t.TempDir()
	fleet := mkdir(t, filepath.Join(root, "fleet"))
	state := mkdir(t, filepath.Join(fleet, ".herdbot"))
	demo := mkdir(t, filepath.Join(state, "demo", "garden"))
	garden := mkdir(t, filepath.Join(fleet, "agents", "garden"))
	homelab := mkdir(t, filepath.Join(fleet, "agents", "homelab"))
	outside := mkdir(t, filepath.Join(root, "projects", "garden"))
	link := filepath.Join(root, "link")
	if err := os.Symlink(state, link); err != nil {
		t.Fatal(err)
	}
	rules := []Rule{
		{Path: state, What: "herdbot's state directory", Except: []string{demo}},
		{Path: fleet, What: "the fleet directory", MayLieInside: true},
		{Path: homelab, What: "agent homelab's directory"},
		{Path: filepath.Join(root, "not-yet", "there"), What: "a path that does not exist yet"},
	}
	for _, tc := range []struct {
		ws   string
		want string // "" means allowed
	}{
		{garden, ""},
		{outside, ""},
		{demo, ""},
		{filepath.Join(root, "not-yet"), "contains a path that does not exist yet"},
		{state, "is herdbot's state directory"},
		{mkdir(t, filepath.Join(state, "agents", "homelab")), "lies inside herdbot's state directory"},
		{link, "resolves to " + state},
		{mkdir(t, filepath.Join(link, "agents")), "lies inside herdbot's state directory"},
		{fleet, "is the fleet directory"},
		{root, "contains herdbot's state directory"},
		{filepath.Join(fleet, "agents"), "contains agent homelab's directory"},
		{mkdir(t, filepath.Join(homelab, "sub")), "lies inside agent homelab's directory"},
		{"/", "is the root directory /"},
		{"/etc", "is the system directory /etc"},
		{"/etc/ssl", "lies inside the system directory /etc"},
		{"/var", "is the system directory /var"},
		{"/var/lib", "is the system directory /var/lib"},
		{"/usr/local/src", "lies inside the system directory /usr"},
		{"/srv/agents/garden-does-not-exist", ""},
		{"/root", "is the system directory /root"},
		{"/tmp", "is the system directory /tmp"},
		{"relative/path", "not an absolute path"},
	} {
		err := Check(tc.ws, rules)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Check(%s) = %v, want allowed", tc.ws, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Check(%s) = %v, want an error containing %q", tc.ws, err, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	root := t.TempDir()
	real := mkdir(t, filepath.Join(root, "real"))
	if err := os.Symlink(real, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	rr, err := filepath.EvalSymlinks(real)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		filepath.Join(root, "link"):                    rr,
		filepath.Join(root, "link", "missing", "deep"): filepath.Join(rr, "missing", "deep"),
		filepath.Join(root, "link", "..", "real"):      rr,
	} {
		if got := Resolve(in); got != want {
			t.Errorf("Resolve(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		path, dir string
		want      bool
	}{
		{"/a/b", "/a", true}, {"/a", "/a", true}, {"/ab", "/a", false}, {"/", "/a", false}, {"/a", "/", true},
	} {
		if got := Within(tc.path, tc.dir); got != tc.want {
			t.Errorf("Within(%s, %s) = %v", tc.path, tc.dir, got)
		}
	}
}
