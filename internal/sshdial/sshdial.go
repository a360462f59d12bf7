// Package sshdial reaches a Docker engine's unix socket on another machine
// over SSH (golang.org/x/crypto/ssh): one SSH connection per engine,
// authenticated with a private key file, the host key always checked
// against a known_hosts file (golang.org/x/crypto/ssh/knownhosts), and
// each HTTP connection of the Docker client a direct-streamlocal channel
// (OpenSSH's "unix" forwarding) to the engine's socket. A connection that
// drops is dialled again on the next use.
package sshdial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// DefaultSocket is the engine's socket on the remote machine.
const DefaultSocket = "/var/run/docker.sock"

// DialTimeout bounds one SSH connection and handshake.
const DialTimeout = 15 * time.Second

// DefaultKeepAlive is how often a connection is checked
// (keepalive@openssh.com, answered within the same time): one that does
// not answer, as after a network failure, is closed, which ends the
// streams on it, and the next call dials again.
const DefaultKeepAlive = 15 * time.Second

// Config says where and how to connect.
type Config struct {
	// Host is ssh://USER@HOST[:PORT] (port 22 by default).
	Host string
	// Key is the private key file (unencrypted; OpenSSH or PEM format).
	Key string
	// KnownHosts is the known_hosts file the host key must be in.
	KnownHosts string
	// Socket is the engine's socket path there; default DefaultSocket.
	Socket string
	// KeepAlive replaces DefaultKeepAlive when positive (tests).
	KeepAlive time.Duration
}

// Dialer opens connections to the remote engine's socket. Safe for
// concurrent use.
type Dialer struct {
	addr, socket string
	cfg          *ssh.ClientConfig
	keepAlive    time.Duration

	mu     sync.Mutex
	client *ssh.Client
	closed bool
	wg     sync.WaitGroup
}

// ParseHost splits ssh://USER@HOST[:PORT] into user and host:port.
func ParseHost(host string) (user, addr string, err error) {
	u, err := url.Parse(host)
	if err != nil {
		return "", "", err
	}
	if u.Scheme != "ssh" {
		return "", "", fmt.Errorf("%q: want ssh://USER@HOST[:PORT]", host)
	}
	if u.User == nil || u.User.Username() == "" || u.Hostname() == "" {
		return "", "", fmt.Errorf("%q: want ssh://USER@HOST[:PORT]", host)
	}
	if _, set := u.User.Password(); set {
		return "", "", fmt.Errorf("%q: no password in the address: give a key file under ssh.key", host)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%q: want ssh://USER@HOST[:PORT], without a path (the socket is ssh.socket)", host)
	}
	port := u.Port()
	if port == "" {
		port = "22"
	}
	return u.User.Username(), net.JoinHostPort(u.Hostname(), port), nil
}

// New reads the key and known_hosts files; it does not connect.
func New(c Config) (*Dialer, error) {
	user, addr, err := ParseHost(c.Host)
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(c.Key)
	if err != nil {
		return nil, fmt.Errorf("ssh key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			return nil, fmt.Errorf("ssh key %s is protected by a passphrase: herdbot needs a key it can use unattended", c.Key)
		}
		return nil, fmt.Errorf("ssh key %s: %w", c.Key, err)
	}
	if c.KnownHosts == "" {
		return nil, errors.New("ssh known_hosts: required (the engine's host key is always checked)")
	}
	check, err := knownhosts.New(c.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("ssh known_hosts %s: %w", c.KnownHosts, err)
	}
	algos := hostKeyAlgorithms(check, addr)
	if len(algos) == 0 {
		return nil, fmt.Errorf("ssh known_hosts %s: no host key for %s (add it: ssh-keyscan -p PORT HOST, checked against the machine's own key)", c.KnownHosts, knownhosts.Normalize(addr))
	}
	socket := c.Socket
	if socket == "" {
		socket = DefaultSocket
	}
	ka := c.KeepAlive
	if ka <= 0 {
		ka = DefaultKeepAlive
	}
	return &Dialer{addr: addr, socket: socket, keepAlive: ka, cfg: &ssh.ClientConfig{
		User:              user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback:   check,
		HostKeyAlgorithms: algos,
		Timeout:           DialTimeout,
	}}, nil
}

// hostKeyAlgorithms are the host key algorithms known_hosts has a key of
// for addr, so that the server presents that key and not another type
// it also has. Asking the callback with a key no file holds makes it list
// the keys it knows (knownhosts.KeyError.Want).
func hostKeyAlgorithms(check ssh.HostKeyCallback, addr string) []string {
	probe := probeKey{}
	var kerr *knownhosts.KeyError
	if err := check(addr, &net.TCPAddr{IP: net.IPv4zero}, probe); !errors.As(err, &kerr) {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(a ...string) {
		for _, s := range a {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	for _, k := range kerr.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		default:
			add(t)
		}
	}
	return out
}

// probeKey is a public key no known_hosts file holds.
type probeKey struct{}

func (probeKey) Type() string                        { return "herdbot-probe" }
func (probeKey) Marshal() []byte                     { return []byte("herdbot-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key") }

// DialContext opens a channel to the engine's socket; network and addr
// (the Docker client's) are ignored. It connects over SSH first when there
// is no connection, and once more when the connection it had is broken.
func (d *Dialer) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	for attempt := 0; ; attempt++ {
		c, fresh, err := d.conn(ctx)
		if err != nil {
			return nil, err
		}
		conn, err := c.DialContext(ctx, "unix", d.socket)
		if err == nil {
			return conn, nil
		}
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) || ctx.Err() != nil || fresh || attempt > 0 {
			// The server answered (no socket, forwarding refused), or
			// time is up: not a broken connection.
			return nil, fmt.Errorf("ssh %s: unix socket %s: %w", d.addr, d.socket, err)
		}
		d.drop(c)
	}
}

// conn returns the SSH connection, dialling it when there is none; fresh
// says it was dialled now.
func (d *Dialer) conn(ctx context.Context) (*ssh.Client, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, false, errors.New("ssh: dialer closed")
	}
	if d.client != nil {
		return d.client, false, nil
	}
	var nd net.Dialer
	dctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	tc, err := nd.DialContext(dctx, "tcp", d.addr)
	if err != nil {
		return nil, false, fmt.Errorf("ssh %s: %w", d.addr, err)
	}
	if dl, ok := dctx.Deadline(); ok {
		_ = tc.SetDeadline(dl)
	}
	cc, chans, reqs, err := ssh.NewClientConn(tc, d.addr, d.cfg)
	if err != nil {
		tc.Close()
		return nil, false, fmt.Errorf("ssh %s: %w", d.addr, err)
	}
	_ = tc.SetDeadline(time.Time{})
	c := ssh.NewClient(cc, chans, reqs)
	d.client = c
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.watch(c)
	}()
	return c, true, nil
}

// watch forgets c when it ends, and ends it when it stops answering
// keepalives.
func (d *Dialer) watch(c *ssh.Client) {
	ended := make(chan struct{})
	go func() { _ = c.Wait(); close(ended) }()
	defer func() { <-ended }()
	defer d.drop(c)
	t := time.NewTicker(d.keepAlive)
	defer t.Stop()
	for {
		select {
		case <-ended:
			return
		case <-t.C:
		}
		res := make(chan error, 1)
		go func() {
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			res <- err
		}()
		timer := time.NewTimer(d.keepAlive)
		select {
		case err := <-res:
			timer.Stop()
			if err != nil {
				return
			}
		case <-timer.C:
			d.drop(c) // unblocks SendRequest
			<-res
			return
		}
	}
}

// drop forgets c (closing it) so the next use dials again.
func (d *Dialer) drop(c *ssh.Client) {
	d.mu.Lock()
	if d.client == c {
		d.client = nil
	}
	d.mu.Unlock()
	_ = c.Close()
}

// Close closes the SSH connection and waits for its watcher.
func (d *Dialer) Close() error {
	d.mu.Lock()
	d.closed = true
	c := d.client
	d.client = nil
	d.mu.Unlock()
	var err error
	if c != nil {
		err = c.Close()
	}
	d.wg.Wait()
	return err
}
