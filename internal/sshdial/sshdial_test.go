package sshdial

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestParseHost(t *testing.T) {
	for _, c := range []struct{ in, user, addr, err string }{
		{"ssh://herdbot@nas", "herdbot", "nas:22", ""},
		{"ssh://herdbot@10.0.0.3:2222", "herdbot", "10.0.0.3:2222", ""},
		{"ssh://herdbot@[fd00::1]:2222", "herdbot", "[fd00::1]:2222", ""},
		{"ssh://nas", "", "", "USER@HOST"},
		{"ssh://herdbot:secret@nas", "", "", "no password"},
		{"ssh://herdbot@nas/var/run/docker.sock", "", "", "without a path"},
		{"tcp://nas:2376", "", "", "USER@HOST"},
	} {
		user, addr, err := ParseHost(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || user != c.user || addr != c.addr {
			t.Errorf("%s: %q %q %v, want %q %q", c.in, user, addr, err, c.user, c.addr)
		}
	}
}

// TestHostKeyAlgorithmsFromKnownHosts: the client asks only for the key
// types known_hosts has for the host (an RSA key as its SHA-2 signature
// algorithms), so a server with several host keys presents the known one;
// a host without a line is refused in New.
func TestHostKeyAlgorithmsFromKnownHosts(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rpub, _ := ssh.NewPublicKey(&rk.PublicKey)
	epub, _, _ := ed25519.GenerateKey(rand.Reader)
	spub, _ := ssh.NewPublicKey(epub)
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	lines := knownhosts.Line([]string{"[nas]:2222"}, rpub) + "\n" + knownhosts.Line([]string{"[nas]:2222"}, spub) + "\n" +
		knownhosts.Line([]string{"other"}, spub) + "\n"
	if err := os.WriteFile(kh, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	check, err := knownhosts.New(kh)
	if err != nil {
		t.Fatal(err)
	}
	got := hostKeyAlgorithms(check, "nas:2222")
	want := []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoED25519}
	if !slices.Equal(got, want) {
		t.Errorf("algorithms for nas:2222: %v, want %v", got, want)
	}
	if got := hostKeyAlgorithms(check, "nas:22"); len(got) != 0 {
		t.Errorf("algorithms for a host without a line: %v", got)
	}

	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "id")
	if err := os.WriteFile(key, pemEncode(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Host: "ssh://herdbot@nas", Key: key, KnownHosts: kh}); err == nil || !strings.Contains(err.Error(), "no host key for nas") {
		t.Errorf("New for a host known_hosts does not list: %v", err)
	}
	if _, err := New(Config{Host: "ssh://herdbot@nas:2222", Key: key}); err == nil || !strings.Contains(err.Error(), "known_hosts: required") {
		t.Errorf("New without known_hosts: %v", err)
	}
	d, err := New(Config{Host: "ssh://herdbot@nas:2222", Key: key, KnownHosts: kh})
	if err != nil {
		t.Fatal(err)
	}
	if d.socket != DefaultSocket || d.cfg.User != "herdbot" || d.addr != "nas:2222" {
		t.Errorf("dialer: socket %q user %q addr %q", d.socket, d.cfg.User, d.addr)
	}
	_ = d.Close()
	// A passphrase-protected key is refused with a clear message.
	blk, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pemEncode(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Host: "ssh://herdbot@nas:2222", Key: key, KnownHosts: kh}); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("New with a passphrase-protected key: %v", err)
	}
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }
