package egress

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestForwardPlainHTTP(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host=%s path=%s proxy-auth=%q", r.Host, r.URL.Path, r.Header.Get("Proxy-Authorization"))
	}))
	defer upstream.Close()
	_, port, _ := strings.Cut(upstream.Listener.Addr().String(), ":")
	tp := startProxy(t, Config{Agent: "garden", Private: []string{"web.test:" + port}})
	tp.res.set("web.test", "127.0.0.1")

	proxyURL, _ := url.Parse("http://agent:pw@" + tp.addr)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://web.test:" + port + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if want := `host=web.test:` + port + ` path=/hello proxy-auth=""`; resp.StatusCode != 200 || string(body) != want {
		t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, want)
	}
	rec := tp.rec.wait(t)
	if !rec.Allowed || rec.Host != "web.test" || rec.Addr != "127.0.0.1" || rec.Agent != "garden" ||
		rec.BytesUp == 0 || rec.BytesDown < int64(len(body)) {
		t.Errorf("record = %+v, want allowed web.test via 127.0.0.1 with bytes", rec)
	}

	// A Host header naming another site is not forwarded (no fronting).
	conn, err := net.Dial("tcp", tp.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET http://web.test:%s/front HTTP/1.1\r\nHost: other.test\r\n\r\n", port)
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.HasPrefix(string(body), "host=web.test:"+port+" ") {
		t.Errorf("upstream saw %q, want the checked host", body)
	}
	tp.rec.wait(t)

	resp, err = client.Get("http://evil.test/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unlisted host: status %d, want 403", resp.StatusCode)
	}
	if rec := tp.rec.wait(t); rec.Allowed || rec.Host != "evil.test" || rec.Port != 80 {
		t.Errorf("unlisted host record = %+v", rec)
	}
}

func TestForwardDialFailureRecorded(t *testing.T) {
	ln := listen(t)
	port := ln.Addr().String()[len("127.0.0.1:"):]
	_ = ln.Close() // nothing listens there now
	tp := startProxy(t, Config{Private: []string{"127.0.0.1/32:" + port}})
	_, _, resp := dialConnect(t, tp.addr, "127.0.0.1:"+port)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status = %d, want 502", resp.StatusCode)
	}
	if rec := tp.rec.wait(t); !rec.Allowed || !strings.Contains(rec.Reason, "dial failed") {
		t.Errorf("record = %+v, want allowed with a dial failure", rec)
	}
}

func TestMalformedRequests(t *testing.T) {
	tp := startProxy(t, Config{Allow: []string{"example.com"}})
	for _, c := range []struct {
		name, raw string
		want      int
	}{
		{"garbage", "garbage\r\n\r\n", 400},
		{"origin-form", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", 400},
		{"https absolute URI", "GET https://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", 400},
		{"CONNECT without port", "CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", 400},
		{"CONNECT bad port", "CONNECT example.com:0 HTTP/1.1\r\nHost: example.com\r\n\r\n", 400},
		{"CONNECT path", "CONNECT /x HTTP/1.1\r\nHost: example.com\r\n\r\n", 400},
		{"CONNECT bad name", "CONNECT exa_mple..com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"header too large", "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nX-Big: " + strings.Repeat("a", 200<<10) + "\r\n\r\n", 431},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := rawRequest(t, tp.addr, c.raw); got != c.want {
				t.Errorf("status = %d, want %d", got, c.want)
			}
		})
	}
}

// Shutdown ends plain-HTTP requests still in flight, including upgraded
// connections the HTTP server no longer tracks.
func TestShutdownEndsUpgradedConnections(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "test")
		w.WriteHeader(http.StatusSwitchingProtocols)
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_ = brw.Flush()
		_, _ = io.Copy(c, c) // echo until the proxy closes
	}))
	defer upstream.Close()
	_, port, _ := strings.Cut(upstream.Listener.Addr().String(), ":")
	tp := startProxy(t, Config{Private: []string{"127.0.0.1/32:" + port}})

	conn, err := net.Dial("tcp", tp.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET http://127.0.0.1:%s/ws HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n", port, port)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status = %d, want 101", resp.StatusCode)
	}
	if _, err := io.WriteString(conn, "ping"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(br, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { tp.stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(failsafe):
		t.Fatal("Serve did not return while an upgraded connection was open")
	}
	if rec := tp.rec.wait(t); !rec.Allowed || rec.BytesUp == 0 {
		t.Errorf("record = %+v", rec)
	}
}
