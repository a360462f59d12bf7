package docker

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/internal/testenv"
	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/sandboxtest"
)

// Test artefacts are built once per test binary, on first use, and removed
// by TestMain.
type artefacts struct {
	dir     string
	helper  string // sandboxtest helper (static)
	probe   string // escape probe (static)
	herdbot string // herdbot binary for the sidecar (static)
	image   string // FROM scratch test image with /helper and /probe
}

var (
	artOnce sync.Once
	art     *artefacts
	artErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if art != nil {
		images := []string{art.image}
		if sum, err := checkStaticBinary(art.herdbot); err == nil {
			images = append(images, egressImageRepo+":"+sum[:16])
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if cli, err := client.New(client.FromEnv); err == nil {
			for _, img := range images {
				if img != "" {
					// Not forced: an image another run still uses stays.
					_, _ = cli.ImageRemove(ctx, img, client.ImageRemoveOptions{PruneChildren: true})
				}
			}
			cli.Close()
		}
		cancel()
		_ = os.RemoveAll(art.dir)
	}
	os.Exit(code)
}

// testArtefacts builds the binaries and the test image (once).
func testArtefacts(t testing.TB) *artefacts {
	t.Helper()
	testenv.RequireDocker(t)
	artOnce.Do(func() { art, artErr = buildArtefacts() })
	if artErr != nil {
		t.Fatalf("test artefacts: %v", artErr)
	}
	return art
}

func goBuild(out, pkg string) error {
	cmd := exec.Command(testenv.GoBin(), "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = testenv.ModuleRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v: %s", pkg, err, b)
	}
	return nil
}

func buildArtefacts() (*artefacts, error) {
	dir, err := os.MkdirTemp("", "herdbot-docker-test-")
	if err != nil {
		return nil, err
	}
	a := &artefacts{dir: dir}
	if a.helper, err = sandboxtest.BuildHelper(dir); err != nil {
		return a, err
	}
	a.probe = filepath.Join(dir, "probe")
	if err := goBuild(a.probe, "./sandbox/docker/internal/probe"); err != nil {
		return a, err
	}
	a.herdbot = filepath.Join(dir, "herdbot")
	if err := goBuild(a.herdbot, "./cmd/herdbot"); err != nil {
		// cmd/herdbot is changed beside these tests; the stand-in runs
		// the same egress.Main.
		fmt.Fprintf(os.Stderr, "sandbox/docker tests: cmd/herdbot does not build, using internal/egressbin: %v\n", err)
		if err := goBuild(a.herdbot, "./sandbox/docker/internal/egressbin"); err != nil {
			return a, err
		}
	}
	h := sha256.New()
	for _, p := range []string{a.helper, a.probe} {
		f, err := os.Open(p)
		if err != nil {
			return a, err
		}
		_, _ = io.Copy(h, f)
		f.Close()
	}
	sum := hex.EncodeToString(h.Sum(nil))
	// One image per test binary: the content hash alone is the same in
	// every checkout on this engine, and another run's TestMain removing
	// its image at its end took it from under this one (16 tests failed
	// with "agent image missing" mid-run).
	tag := "herdbot-sandbox-test:" + sum[:16] + "-" + randomHex(4)
	b, err := New(context.Background(), Config{Fleet: "artefacts"}, nil)
	if err != nil {
		return a, err
	}
	defer b.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := buildTestImage(ctx, b, a, tag); err != nil {
		return a, err
	}
	a.image = tag
	// Build the sidecar image once here, so that parallel tests (each
	// with its own Backend) do not build it side by side.
	b.cfg.HerdbotBinary = a.herdbot
	if _, err := b.ensureEgressImage(ctx); err != nil {
		return a, err
	}
	return a, nil
}

// testFleet is a fleet name unique to one test, so that tests (and other
// engineers' runs) never touch each other's resources.
func testFleet() string { return "t" + randomHex(5) }

// newTestBackend returns a Backend for a fresh fleet, closed (and checked
// to have left nothing behind) when the test ends.
func newTestBackend(t testing.TB, mod ...func(*Config)) *Backend {
	t.Helper()
	a := testArtefacts(t)
	cfg := Config{Fleet: testFleet(), HerdbotBinary: a.herdbot}
	for _, f := range mod {
		f(&cfg)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	b, err := New(t.Context(), cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		assertNothingLeft(t, b.cfg.Installation)
	})
	return b
}

// assertNothingLeft fails when a container or network of the installation
// exists.
func assertNothingLeft(t testing.TB, installation string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	f := make(client.Filters).Add("label", LabelInstallation+"="+installation)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Items {
		t.Errorf("container left behind: %v (%s)", c.Names, c.Labels[LabelRole])
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns.Items {
		t.Errorf("network left behind: %s", n.Name)
	}
}

// workspace returns a directory owned by uid:gid, for a container user.
func workspace(t testing.TB, uid, gid int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ws")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testSpec is a spec for the test image with small limits and no network.
func testSpec(t testing.TB, a *artefacts, agent string, argv ...string) sandbox.Spec {
	return sandbox.Spec{
		Agent:     agent,
		Job:       t.Name(),
		Image:     a.image,
		Command:   argv,
		Workspace: workspace(t, 1000, 1000),
		StateDir:  t.TempDir(),
		Limits:    sandbox.Limits{MemoryBytes: 128 << 20, PidsLimit: 64, TmpBytes: 16 << 20},
		Network:   sandbox.Network{None: true},
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// buildTestImage builds the FROM scratch test image (/helper, /probe) on
// b's engine.
func buildTestImage(ctx context.Context, b *Backend, a *artefacts, tag string) error {
	return b.buildImage(ctx, tag, map[string]string{LabelManaged: "1", LabelRole: "test-image"}, func(tw *tar.Writer) error {
		df := "FROM scratch\nCOPY helper /helper\nCOPY probe /probe\nUSER 1000:1000\n"
		if err := tarFile(tw, "Dockerfile", 0o644, []byte(df)); err != nil {
			return err
		}
		if err := tarCopy(tw, "helper", a.helper, 0o555); err != nil {
			return err
		}
		return tarCopy(tw, "probe", a.probe, 0o555)
	})
}
