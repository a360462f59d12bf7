// Package peeruid finds which user owns the other end of a TCP connection
// made over this host's loopback: the uid the kernel lists for the
// client's socket in /proc/net/tcp and /proc/net/tcp6. It is the TCP
// counterpart of a unix socket's SO_PEERCRED (internal/control), used by
// the web dashboard to tell the local operator from another local account.
//
// The kernel records a socket's uid when the socket is made (the fsuid of
// the process that called socket(2)); a client's row is the one whose
// local address is the server's remote address and whose remote address
// is the server's local address. Only connections whose two ends are on
// this host's network namespace can be found: a peer anywhere else (a
// container's gateway, another machine) is ErrNotFound.
package peeruid

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNotFound says no socket of this host has the peer's address.
var ErrNotFound = errors.New("no local socket has the peer's address")

// ProcNet is where the kernel's socket tables are.
const ProcNet = "/proc/net"

// Lookup returns the uid owning the client socket of the TCP connection
// whose server end is local and whose client end is remote (as the
// server sees them: net.Conn's LocalAddr and RemoteAddr), from the tables
// in dir (ProcNet). It reads tcp, then tcp6 (a client's IPv6 socket may
// reach an IPv4 server through a v4-mapped address).
func Lookup(dir string, local, remote netip.AddrPort) (int, error) {
	var errs []error
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err := Find(f, remote, local)
		f.Close()
		if err == nil {
			return uid, nil
		}
		if !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if len(errs) == 2 {
		return 0, fmt.Errorf("peer uid of %s: %w", remote, errors.Join(errs...))
	}
	if len(errs) > 0 {
		return 0, fmt.Errorf("peer uid of %s: %w", remote, errors.Join(append(errs, ErrNotFound)...))
	}
	return 0, fmt.Errorf("peer uid of %s: %w", remote, ErrNotFound)
}

// Find reads one socket table (the format of /proc/net/tcp or tcp6) and
// returns the uid of the row whose local address is sockLocal and whose
// remote address is sockRemote. Addresses compare unmapped, so
// ::ffff:127.0.0.1 is 127.0.0.1.
func Find(table io.Reader, sockLocal, sockRemote netip.AddrPort) (int, error) {
	sockLocal = unmap(sockLocal)
	sockRemote = unmap(sockRemote)
	sc := bufio.NewScanner(table)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	first := true
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if first {
			first = false
			if len(f) > 0 && f[0] == "sl" {
				continue // the header
			}
		}
		if len(f) < 8 {
			continue
		}
		l, err := parseAddr(f[1])
		if err != nil {
			return 0, fmt.Errorf("local address %q: %w", f[1], err)
		}
		if l != sockLocal {
			continue
		}
		r, err := parseAddr(f[2])
		if err != nil {
			return 0, fmt.Errorf("remote address %q: %w", f[2], err)
		}
		if r != sockRemote {
			continue
		}
		uid, err := strconv.ParseUint(f[7], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("uid %q: %w", f[7], err)
		}
		return int(uid), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, ErrNotFound
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// parseAddr parses the kernel's "ADDR:PORT": ADDR is the address as 32-bit
// words printed in hex in the host's byte order (one word for IPv4, four
// for IPv6), PORT the port in hex.
func parseAddr(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, errors.New("want ADDR:PORT")
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port: %w", err)
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, errors.New("address: want 8 or 32 hex digits")
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}
