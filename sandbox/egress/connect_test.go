package egress

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestConnectTunnelsToPrivateOptIn(t *testing.T) {
	srv := startTCPServer(t, "127.0.0.1:0", "")
	for _, c := range []struct {
		name, private, target, host, reason string
	}{
		{"by CIDR", fmt.Sprintf("127.0.0.0/8:%d", srv.port()), fmt.Sprintf("127.0.0.1:%d", srv.port()), "127.0.0.1", "private 127.0.0.0/8"},
		{"by name", fmt.Sprintf("echo.test:%d", srv.port()), fmt.Sprintf("echo.test:%d", srv.port()), "echo.test", "private echo.test"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp := startProxy(t, Config{Agent: "garden", Private: []string{c.private}})
			tp.res.set("echo.test", "127.0.0.1")
			conn, br, resp := dialConnect(t, tp.addr, c.target)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("CONNECT status = %d, want 200", resp.StatusCode)
			}
			msg := "hello through the tunnel"
			if _, err := io.WriteString(conn, msg); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(br, got); err != nil {
				t.Fatal(err)
			}
			if string(got) != msg {
				t.Fatalf("echo = %q, want %q", got, msg)
			}
			_ = conn.Close()
			rec := tp.rec.wait(t)
			want := Record{Agent: "garden", Host: c.host, Port: srv.port(), Addr: "127.0.0.1", Allowed: true,
				BytesUp: int64(len(msg)), BytesDown: int64(len(msg))}
			rec.Time = want.Time
			if !strings.Contains(rec.Reason, c.reason) {
				t.Errorf("reason = %q, want %q", rec.Reason, c.reason)
			}
			rec.Reason = ""
			if rec != want {
				t.Errorf("record = %+v\nwant     %+v", rec, want)
			}
		})
	}
}

func TestConnectRefused(t *testing.T) {
	srv := startTCPServer(t, "127.0.0.1:0", "secret-service")
	tp := startProxy(t, Config{Agent: "garden", Allow: []string{"*.example.com", "lan.test:" + fmt.Sprint(srv.port())}})
	tp.res.set("internal.example.com", "127.0.0.1")
	tp.res.set("lan.test", "127.0.0.1")
	for _, c := range []struct{ target, reason string }{
		{"evil.test:443", "host not allowlisted"},
		{fmt.Sprintf("127.0.0.1:%d", srv.port()), "loopback address 127.0.0.1"},
		{fmt.Sprintf("[::ffff:127.0.0.1]:%d", srv.port()), "loopback address 127.0.0.1"},
		{"169.254.169.254:80", "metadata"},
		{"8.8.8.8:443", "literal IP address not allowlisted"},
		{"internal.example.com:443", "resolves to loopback address 127.0.0.1"},
		{fmt.Sprintf("lan.test:%d", srv.port()), "resolves to loopback"},
		{"a.example.com:22", "port 22 not allowed"},
	} {
		t.Run(c.target, func(t *testing.T) {
			_, _, resp := dialConnect(t, tp.addr, c.target)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("CONNECT %s status = %d, want 403", c.target, resp.StatusCode)
			}
			rec := tp.rec.wait(t)
			if rec.Allowed || rec.Addr != "" || !strings.Contains(rec.Reason, c.reason) || rec.Agent != "garden" {
				t.Errorf("record = %+v, want refused with reason %q and no address", rec, c.reason)
			}
		})
	}
	if n := srv.accepted.Load(); n != 0 {
		t.Errorf("the loopback server accepted %d connections through refused CONNECTs", n)
	}
}

// A name whose first answer passes and later answers point elsewhere must
// only ever reach the address that was checked.
func TestConnectDialsTheCheckedAddress(t *testing.T) {
	good := startTCPServer(t, "127.0.0.1:0", "good")
	bad := startTCPServer(t, fmt.Sprintf("127.0.0.2:%d", good.port()), "bad!")
	tp := startProxy(t, Config{Allow: []string{fmt.Sprintf("rebind.example.com:%d", good.port())},
		Private: []string{fmt.Sprintf("127.0.0.1/32:%d", good.port())}})
	tp.res.set("rebind.example.com", "127.0.0.1", "127.0.0.2")

	conn, br, resp := dialConnect(t, tp.addr, fmt.Sprintf("rebind.example.com:%d", good.port()))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	banner := make([]byte, 4)
	if _, err := io.ReadFull(br, banner); err != nil {
		t.Fatal(err)
	}
	if string(banner) != "good" {
		t.Fatalf("reached %q, want the checked address", banner)
	}
	_ = conn.Close()
	if rec := tp.rec.wait(t); rec.Addr != "127.0.0.1" {
		t.Errorf("record addr = %q, want 127.0.0.1", rec.Addr)
	}
	if n := tp.res.lookups("rebind.example.com"); n != 1 {
		t.Errorf("resolved %d times, want once", n)
	}

	// The next CONNECT gets the rebound answer: refused, never dialled.
	_, _, resp = dialConnect(t, tp.addr, fmt.Sprintf("rebind.example.com:%d", good.port()))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("after rebinding: status = %d, want 403", resp.StatusCode)
	}
	if rec := tp.rec.wait(t); rec.Allowed || !strings.Contains(rec.Reason, "127.0.0.2") {
		t.Errorf("after rebinding: record = %+v", rec)
	}
	if n := bad.accepted.Load(); n != 0 {
		t.Errorf("the rebound address was dialled %d times", n)
	}
}

func TestConnectTLSEndToEnd(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "tls ok "+r.Host)
	}))
	defer srv.Close()
	_, portStr, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	// httptest's certificate is valid for example.com.
	tp := startProxy(t, Config{Private: []string{"example.com:" + portStr}})
	tp.res.set("example.com", "127.0.0.1")
	proxyURL, _ := url.Parse("http://" + tp.addr)
	tlsCfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: tlsCfg}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://example.com:" + portStr + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if want := "tls ok example.com:" + portStr; string(body) != want {
		t.Fatalf("body = %q, want %q", body, want)
	}
	client.CloseIdleConnections()
	rec := tp.rec.wait(t)
	if !rec.Allowed || rec.Host != "example.com" || rec.BytesUp == 0 || rec.BytesDown == 0 {
		t.Errorf("record = %+v, want allowed example.com with bytes both ways", rec)
	}
}

func TestShutdownClosesTunnels(t *testing.T) {
	srv := startTCPServer(t, "127.0.0.1:0", "")
	tp := startProxy(t, Config{Private: []string{fmt.Sprintf("127.0.0.1/32:%d", srv.port())}})
	conn, br, resp := dialConnect(t, tp.addr, fmt.Sprintf("127.0.0.1:%d", srv.port()))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if _, err := io.WriteString(conn, "ping"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(br, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	tp.stop() // returns only when every handler has ended
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("read after shutdown: %v, want EOF", err)
	}
	if rec := tp.rec.wait(t); rec.BytesUp != 4 || rec.BytesDown != 4 {
		t.Errorf("record = %+v, want 4 bytes each way", rec)
	}
}
