package peeruid_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/herdbot/herdbot/internal/peeruid"
)

// A table as the kernel prints it (recorded on x86-64, little-endian):
// herdbot's listener on 127.0.0.1:9090 (row 0), the server end of a
// connection from 127.0.0.1:45678 (row 1, uid 0: herdbot's socket), the
// client's end of it (row 2, uid 1000), and a connection between other
// ports of uid 65534 (row 3).
const tcpTable = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2382 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4712786 1 0000000000000000 100 0 0 10 0
   1: 0100007F:2382 0100007F:B26E 01 00000000:00000000 00:00000000 00000000     0        0 4712790 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:B26E 0100007F:2382 01 00000000:00000000 00:00000000 00000000  1000        0 4712789 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:B26F 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 65534        0 4712799 1 0000000000000000 20 4 30 10 -1
`

// The same for IPv6: a client at [::1]:45679 of uid 1001 connected to
// [::1]:9090, and a client of uid 1002 whose IPv6 socket reached the IPv4
// server through ::ffff:127.0.0.1 from port 45680.
const tcp6Table = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:2382 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:B26F 00000000000000000000000001000000:2382 01 00000000:00000000 00:00000000 00000000  1001        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0000000000000000FFFF00000100007F:B270 0000000000000000FFFF00000100007F:2382 01 00000000:00000000 00:00000000 00000000  1002        0 3 1 0000000000000000 20 4 30 10 -1
`

func littleEndian(t *testing.T) {
	t.Helper()
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], 1)
	if b[0] != 1 {
		t.Skip("the recorded tables are a little-endian machine's; the kernel prints addresses in the host's byte order")
	}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestFindInARecordedTable(t *testing.T) {
	littleEndian(t)
	for _, c := range []struct {
		table         string
		local, remote string // the client socket's ends
		uid           int
		err           error
	}{
		{tcpTable, "127.0.0.1:45678", "127.0.0.1:9090", 1000, nil},
		{tcpTable, "127.0.0.1:9090", "127.0.0.1:45678", 0, nil},                 // the server's own end
		{tcpTable, "127.0.0.1:45679", "127.0.0.1:8080", 65534, nil},             // 0x1F90
		{tcpTable, "127.0.0.1:45678", "127.0.0.1:9091", 0, peeruid.ErrNotFound}, // right port, other server
		{tcpTable, "127.0.0.2:45678", "127.0.0.1:9090", 0, peeruid.ErrNotFound}, // other address
		{tcpTable, "[::ffff:127.0.0.1]:45678", "127.0.0.1:9090", 1000, nil},     // mapped compares as IPv4
		{tcp6Table, "[::1]:45679", "[::1]:9090", 1001, nil},                     // IPv6
		{tcp6Table, "127.0.0.1:45680", "127.0.0.1:9090", 1002, nil},             // v4-mapped row
		{tcp6Table, "[::1]:45678", "[::1]:9090", 0, peeruid.ErrNotFound},        // no such row
		{"", "127.0.0.1:1", "127.0.0.1:2", 0, peeruid.ErrNotFound},              // empty table
	} {
		uid, err := peeruid.Find(strings.NewReader(c.table), ap(c.local), ap(c.remote))
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("Find(%s → %s) = %d, %v; want %v", c.local, c.remote, uid, err, c.err)
			}
			continue
		}
		if err != nil || uid != c.uid {
			t.Errorf("Find(%s → %s) = %d, %v; want %d", c.local, c.remote, uid, err, c.uid)
		}
	}
}

func TestFindRejectsAGarbledTable(t *testing.T) {
	for _, table := range []string{
		"   0: 0100007F2382 0100007F:B26E 01 00000000:00000000 00:00000000 00000000 1000 0 1\n",  // no colon
		"   0: 01007F:2382 0100007F:B26E 01 00000000:00000000 00:00000000 00000000 1000 0 1\n",   // short address
		"   0: 0100007F:ZZZZ 0100007F:B26E 01 00000000:00000000 00:00000000 00000000 1000 0 1\n", // bad port
		"   0: 0100007F:2382 0100007F:B26E 01 00000000:00000000 00:00000000 00000000 -1 0 1\n",   // bad uid, matching row
	} {
		_, err := peeruid.Find(strings.NewReader(table), ap("127.0.0.1:9090"), ap("127.0.0.1:45678"))
		if err == nil || errors.Is(err, peeruid.ErrNotFound) {
			t.Errorf("Find in %q: %v; want a parse error", table, err)
		}
	}
}

// connect makes a real loopback TCP connection on network ("tcp4" or
// "tcp6") and returns the server's end of it.
func connect(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s loopback here: %v", network, err)
	}
	t.Cleanup(func() { ln.Close() })
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ends(c net.Conn) (local, remote netip.AddrPort) {
	return c.LocalAddr().(*net.TCPAddr).AddrPort(), c.RemoteAddr().(*net.TCPAddr).AddrPort()
}

// TestLookupThisProcess: a connection this process made is this
// process's uid, over IPv4 and IPv6 loopback.
func TestLookupThisProcess(t *testing.T) {
	if _, err := os.Stat(peeruid.ProcNet + "/tcp"); err != nil {
		t.Skipf("no %s/tcp (not Linux?): %v", peeruid.ProcNet, err)
	}
	for _, n := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(n.network, func(t *testing.T) {
			local, remote := ends(connect(t, n.network, n.addr))
			uid, err := peeruid.Lookup(peeruid.ProcNet, local, remote)
			if err != nil || uid != os.Getuid() {
				t.Fatalf("Lookup(%s, %s) = %d, %v; want this process's uid %d", local, remote, uid, err, os.Getuid())
			}
			// A port no socket uses is not found.
			if _, err := peeruid.Lookup(peeruid.ProcNet, local, netip.AddrPortFrom(remote.Addr(), 1)); !errors.Is(err, peeruid.ErrNotFound) {
				t.Fatalf("a port no one uses: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestLookupAnotherUser: a client run as nobody (uid 65534) is found as
// 65534. It needs root to run a process as another user; CI runs the
// tests as root.
func TestLookupAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user (CI runs the tests as root)")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash (its /dev/tcp) for the client run as another user")
	}
	const nobody = 65534
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	// The client connects, says "up", and holds the connection until the
	// server closes it.
	cmd := exec.Command(bash, "-c", `exec 3<>/dev/tcp/127.0.0.1/`+strconv.Itoa(port)+` && echo up >&3 && cat <&3 >/dev/null`)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(s).ReadString('\n'); err != nil || line != "up\n" {
		t.Fatalf("client said %q, %v", line, err)
	}
	local, remote := ends(s)
	uid, err := peeruid.Lookup(peeruid.ProcNet, local, remote)
	s.Close()
	if err != nil || uid != nobody {
		t.Fatalf("Lookup of the client run as nobody = %d, %v; want %d", uid, err, nobody)
	}
}

func TestLookupWithoutTables(t *testing.T) {
	_, err := peeruid.Lookup(t.TempDir(), ap("127.0.0.1:9090"), ap("127.0.0.1:45678"))
	if err == nil || errors.Is(err, peeruid.ErrNotFound) {
		t.Fatalf("Lookup without tables: %v; want an error that is not ErrNotFound", err)
	}
}
