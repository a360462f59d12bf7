package dockertest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHD is a real OpenSSH server in the engine's network namespace, on
// NSIP:22, that lets root in with the key the test made and forwards
// streamlocal channels (the engine's socket): the engine as an ssh://
// engine.
type SSHD struct {
	// Host is ssh://root@NSIP:22.
	Host string
	// Key is the client's private key (OpenSSH format, mode 0600);
	// KnownHosts a known_hosts file with the server's host key for NSIP.
	Key, KnownHosts string
	// Socket is the engine's unix socket path (the same file system).
	Socket string
	// HostKey is the server's host public key.
	HostKey ssh.PublicKey

	t   testing.TB
	pid int    // the listening sshd
	log string // its log file
}

// Log is the server's log so far (for a failing test's message).
func (s *SSHD) Log() string {
	b, _ := os.ReadFile(s.log)
	return tail(string(b), 3000)
}

// DropConnections ends every SSH connection the server has (kills the
// listener's per-connection children), as a server restart would; the
// server goes on listening.
func (s *SSHD) DropConnections() int { return s.signalConnections(syscall.SIGKILL) }

// FreezeConnections stops (SIGSTOP) the server's side of every SSH
// connection it has, as a network failure would look to the client: no
// answer, no close. They are killed when the test ends. The server goes
// on accepting new connections.
func (s *SSHD) FreezeConnections() int {
	n := s.signalConnections(syscall.SIGSTOP)
	s.t.Cleanup(func() { s.signalConnections(syscall.SIGKILL) })
	return n
}

func (s *SSHD) signalConnections(sig syscall.Signal) int {
	s.t.Helper()
	n := 0
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		i := strings.LastIndexByte(string(b), ')')
		if f := strings.Fields(string(b[i+1:])); i > 0 && len(f) > 1 && f[1] == strconv.Itoa(s.pid) {
			if syscall.Kill(pid, sig) == nil {
				n++
			}
		}
	}
	return n
}

// SSHPort is the sshd's port.
const SSHPort = "22"

// StartSSHD starts sshd (/usr/sbin/sshd, Debian's openssh-server) in the
// engine's namespace with its own configuration, host key, authorized key
// and pid file in the engine's directory; it is stopped when the test
// ends.
func (e *Engine) StartSSHD() *SSHD {
	e.t.Helper()
	bin, err := exec.LookPath("sshd")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/sshd"); err != nil {
			e.t.Fatalf("sshd not found (apt-get install openssh-server): %v", err)
		}
	}
	dir := filepath.Join(e.Dir, "ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		e.t.Fatal(err)
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		e.t.Fatal(err)
	}
	hostPub := e.writeKey(filepath.Join(dir, "host_key"))
	clientPub := e.writeKey(filepath.Join(dir, "id_ed25519"))
	s := &SSHD{Host: "ssh://root@" + net.JoinHostPort(e.NSIP, SSHPort), Key: filepath.Join(dir, "id_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"), Socket: filepath.Join(e.Dir, "docker.sock"), HostKey: hostPub, t: e.t, log: filepath.Join(dir, "sshd.log")}
	e.writeFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub))
	e.writeFile(s.KnownHosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(e.NSIP, SSHPort))}, hostPub)+"\n"))
	conf := strings.Join([]string{
		"ListenAddress " + net.JoinHostPort(e.NSIP, SSHPort),
		"HostKey " + filepath.Join(dir, "host_key"),
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"StrictModes no", // the test's directory is under /tmp
		"AllowUsers root",
		"PermitRootLogin prohibit-password",
		"AuthenticationMethods publickey",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		// What docs/scale-out.md recommends: forwarding from the client
		// only. OpenSSH 9.2 denies a socket forwarding under
		// AllowTcpForwarding no or PermitOpen none too (both tried).
		"AllowStreamLocalForwarding local",
		"AllowTcpForwarding local",
		"PermitListen none",
		"AllowAgentForwarding no",
		"X11Forwarding no",
		"PermitTTY no",
		"LogLevel VERBOSE",
	}, "\n") + "\n"
	cf := filepath.Join(dir, "sshd_config")
	e.writeFile(cf, []byte(conf))
	log, err := os.OpenFile(filepath.Join(dir, "sshd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		e.t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command("nsenter", "--net=/var/run/netns/"+e.NS, bin, "-D", "-e", "-f", cf)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start sshd: %v", err)
	}
	s.pid = cmd.Process.Pid // nsenter execs sshd: the same process
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	e.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(e.NSIP, SSHPort), time.Second)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-done:
			err = errors.New("sshd exited")
		default:
		}
		if strings.Contains(fmt.Sprint(err), "exited") || time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
			e.t.Fatalf("sshd did not come up: %v\n%s", err, tail(string(b), 2000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeKey writes a new ed25519 private key (OpenSSH format, 0600) to
// path and returns its public key.
func (e *Engine) writeKey(path string) ssh.PublicKey {
	e.t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "herdbot test")
	if err != nil {
		e.t.Fatal(err)
	}
	e.writeFile(path, pem.EncodeToMemory(blk))
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		e.t.Fatal(err)
	}
	return sp
}

func (e *Engine) writeFile(path string, b []byte) {
	e.t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
}
