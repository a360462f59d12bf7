package egress

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	realKey   = "sk-ant-api03-REALSECRETKEY"
	realToken = "sk-ant-oat01-REALSECRETTOKEN"
)

// seenHeaders is what the fake model API received.
type seenHeaders struct {
	mu sync.Mutex
	h  headers
}

type headers struct {
	apiKey, auth, host  string
	path, query, custom string
}

func (s *seenHeaders) get() headers {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.h
}

func fakeModel(t *testing.T, seen *seenHeaders) (*httptest.Server, string) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.mu.Lock()
		seen.h = headers{apiKey: r.Header.Get("X-Api-Key"), auth: r.Header.Get("Authorization"), host: r.Host,
			path: r.URL.Path, query: r.URL.RawQuery, custom: r.Header.Get("Anthropic-Version")}
		seen.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"type":"message"}`)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	return srv, port
}

func modelRequest(t *testing.T, addr, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(`{"model":"x"}`))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp, string(body)
}

func TestModelProxyInjectsCredential(t *testing.T) {
	for _, c := range []struct {
		name              string
		key, token        string
		wantKey, wantAuth string
	}{
		{"api key", realKey, "", realKey, ""},
		{"oauth token", "", realToken, "", "Bearer " + realToken},
	} {
		t.Run(c.name, func(t *testing.T) {
			var seen seenHeaders
			srv, port := fakeModel(t, &seen)
			tp := startProxy(t, Config{Agent: "garden", ModelURL: srv.URL + "/base", ModelAPIKey: c.key, ModelOAuthToken: c.token,
				Private: []string{"127.0.0.1/32:" + port}})
			resp, body := modelRequest(t, tp.modelAddr, "/v1/messages?beta=true", map[string]string{
				"X-Api-Key": "placeholder", "Authorization": "Bearer placeholder", "Anthropic-Version": "2023-06-01",
			})
			if resp.StatusCode != 200 || body != `{"type":"message"}` {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			got := seen.get()
			if got.apiKey != c.wantKey || got.auth != c.wantAuth {
				t.Errorf("upstream saw x-api-key %q, authorization %q; want %q, %q", got.apiKey, got.auth, c.wantKey, c.wantAuth)
			}
			if got.path != "/base/v1/messages" || got.query != "beta=true" || got.custom != "2023-06-01" {
				t.Errorf("upstream saw path %q query %q anthropic-version %q", got.path, got.query, got.custom)
			}
			if got.host != "127.0.0.1:"+port {
				t.Errorf("upstream Host = %q, want the upstream's own", got.host)
			}
			tp.stop() // closes idle upstream connections, which emits their records
			rec := tp.rec.wait(t)
			if !rec.Allowed || rec.Host != "127.0.0.1" || rec.Addr != "127.0.0.1" || rec.BytesUp == 0 || rec.BytesDown == 0 {
				t.Errorf("record = %+v", rec)
			}
			line, _ := json.Marshal(rec)
			for _, s := range []string{string(line), tp.logs.String()} {
				if strings.Contains(s, "REALSECRET") || strings.Contains(s, "placeholder") {
					t.Errorf("credential in records or logs: %s", s)
				}
			}
		})
	}
}

// The model upstream on loopback is reachable only through an explicit
// Private entry.
func TestModelProxyRefusesPrivateUpstreamWithoutOptIn(t *testing.T) {
	var seen seenHeaders
	srv, _ := fakeModel(t, &seen)
	tp := startProxy(t, Config{ModelURL: srv.URL, ModelAPIKey: realKey})
	resp, body := modelRequest(t, tp.modelAddr, "/v1/messages", nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, `"api_error"`) {
		t.Fatalf("got %d %q, want 502 with an API error body", resp.StatusCode, body)
	}
	rec := tp.rec.wait(t)
	if rec.Allowed || !strings.Contains(rec.Reason, "loopback") {
		t.Errorf("record = %+v, want refused loopback", rec)
	}
	if seen.get().path != "" {
		t.Errorf("upstream was reached")
	}
	if strings.Contains(tp.logs.String(), "REALSECRET") {
		t.Errorf("key in logs")
	}
}

// Events reach the client while the upstream response is still open: the
// upstream writes its second event only after the client has read the
// first, so a buffering proxy deadlocks (broken by the failsafe, which
// marks the test failed).
func TestModelProxyStreamsSSE(t *testing.T) {
	gotFirst := make(chan struct{})
	var buffered bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: message_start\ndata: {\"n\":1}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-gotFirst:
		case <-time.After(failsafe):
			buffered = true
		}
		_, _ = io.WriteString(w, "event: message_stop\ndata: {\"n\":2}\n\n")
	}))
	defer srv.Close()
	_, port, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	tp := startProxy(t, Config{ModelURL: srv.URL, ModelAPIKey: realKey, Private: []string{"127.0.0.1/32:" + port}})

	req, _ := http.NewRequest(http.MethodPost, "http://"+tp.modelAddr+"/v1/messages", strings.NewReader(`{"stream":true}`))
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first := readEvent(t, br)
	close(gotFirst)
	second := readEvent(t, br)
	if buffered {
		t.Fatal("the first event arrived only after the upstream finished: the proxy buffers")
	}
	if !strings.Contains(first, `"n":1`) || !strings.Contains(second, `"n":2`) {
		t.Errorf("events = %q, %q", first, second)
	}
}

func readEvent(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var ev strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read event: %v (so far %q)", err, ev.String())
		}
		if line == "\n" {
			return ev.String()
		}
		ev.WriteString(line)
	}
}

// upstreamLog is a fake model API that records every request it gets.
type upstreamLog struct {
	mu   sync.Mutex
	seen []string // "METHOD path?query key"
}

func (u *upstreamLog) calls() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.seen...)
}

func startUpstreamLog(t *testing.T) (*upstreamLog, *httptest.Server, string) {
	u := &upstreamLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("X-Api-Key"))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"type":"message"}`)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	return u, srv, port
}

// rawModelCall sends one request with an exact request line (no
// client-side cleaning) and returns the status and body.
func rawModelCall(t *testing.T, addr, method, target string, header string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(failsafe))
	body := `{"model":"x","max_tokens":1,"messages":[]}`
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: egress:8080\r\nX-Api-Key: placeholder\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s",
		method, target, header, len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: read response: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The model proxy forwards only the calls the CLI makes, adding the
// credential to those alone; everything else is refused with a 403 and a
// record, and never reaches the upstream.
func TestModelProxyForwardsOnlyModelCalls(t *testing.T) {
	up, srv, port := startUpstreamLog(t)
	tp := startProxy(t, Config{Agent: "garden", ModelURL: srv.URL, ModelAPIKey: realKey, Private: []string{"127.0.0.1/32:" + port}})

	allowed := []struct{ method, target string }{
		{"POST", "/v1/messages"},
		{"POST", "/v1/messages?beta=true"},
		{"POST", "/v1/messages/count_tokens?beta=true"},
		{"POST", "/v1/messages/count_tokens"},
	}
	for _, c := range allowed {
		code, body := rawModelCall(t, tp.modelAddr, c.method, c.target, "")
		if code != 200 || body != `{"type":"message"}` {
			t.Errorf("%s %s: got %d %q, want it forwarded", c.method, c.target, code, body)
		}
	}
	refused := []struct {
		name, method, target, header, why string
	}{
		{"files API", "POST", "/v1/files", "", "not a model API call"},
		{"list files", "GET", "/v1/files", "", "not a model API call"},
		{"models list", "GET", "/v1/models", "", "not a model API call"},
		{"organization API", "POST", "/v1/organizations/org-1/api_keys", "", "not a model API call"},
		{"OAuth key minting", "POST", "/api/oauth/claude_cli/create_api_key", "", "not a model API call"},
		{"connectivity check", "HEAD", "/api/hello", "", "not a model API call"},
		{"batches", "POST", "/v1/messages/batches", "", "not a model API call"},
		{"GET messages", "GET", "/v1/messages", "", "not a model API call"},
		{"PUT", "PUT", "/v1/messages", "", "not a model API call"},
		{"DELETE", "DELETE", "/v1/messages", "", "not a model API call"},
		{"PATCH", "PATCH", "/v1/messages", "", "not a model API call"},
		{"OPTIONS", "OPTIONS", "/v1/messages", "", "not a model API call"},
		{"CONNECT", "CONNECT", "api.anthropic.com:443", "", "not a model API call"},
		{"absolute-form target", "POST", "http://api.anthropic.com/v1/messages", "", "not a model API call"},
		{"dot segments", "POST", "/v1/messages/../files", "", "not a model API call"},
		{"dot segments to root", "POST", "/v1/messages/../../api/oauth/claude_cli/create_api_key", "", "not a model API call"},
		{"encoded slash", "POST", "/v1%2Fmessages", "", "not a model API call"},
		{"encoded dot segments", "POST", "/v1/messages/%2e%2e/files", "", "not a model API call"},
		{"encoded letter", "POST", "/v1/m%65ssages", "", "not a model API call"},
		{"double slash", "POST", "//v1/messages", "", "not a model API call"},
		{"inner double slash", "POST", "/v1//messages", "", "not a model API call"},
		{"trailing slash", "POST", "/v1/messages/", "", "not a model API call"},
		{"semicolon parameter", "POST", "/v1/messages;x=1", "", "not a model API call"},
		{"other query", "POST", "/v1/messages?beta=true&x=1", "", "query not allowed"},
		{"upgrade to websocket", "POST", "/v1/messages", "Connection: Upgrade\r\nUpgrade: websocket\r\n", "protocol upgrade"},
		{"upgrade to h2c", "POST", "/v1/messages?beta=true", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n", "protocol upgrade"},
		{"upgrade header alone", "POST", "/v1/messages", "Upgrade: websocket\r\n", "protocol upgrade"},
	}
	for _, c := range refused {
		code, body := rawModelCall(t, tp.modelAddr, c.method, c.target, c.header)
		if code != http.StatusForbidden || (c.method != "HEAD" && !strings.Contains(body, `"permission_error"`)) {
			t.Errorf("%s (%s %s): got %d %q, want 403 with a permission_error", c.name, c.method, c.target, code, body)
		}
	}
	// Only the allowed calls reached the upstream, each with the real key.
	calls := up.calls()
	if len(calls) != len(allowed) {
		t.Errorf("upstream got %d calls, want %d:\n%s", len(calls), len(allowed), strings.Join(calls, "\n"))
	}
	for _, c := range calls {
		if !strings.HasPrefix(c, "POST /v1/messages") || !strings.HasSuffix(c, " "+realKey) {
			t.Errorf("upstream got %q", c)
		}
	}
	// One refusal record per refused call, naming the call.
	tp.stop()
	tp.rec.mu.Lock()
	recs := append([]Record(nil), tp.rec.all...)
	tp.rec.mu.Unlock()
	for _, c := range refused {
		path, _, _ := strings.Cut(c.target, "?")
		want := "model API call refused (" + c.why + "): " + c.method + " " + path
		if !slices.ContainsFunc(recs, func(r Record) bool {
			return r.Reason == want && !r.Allowed && r.Agent == "garden" && r.Host == "127.0.0.1" && r.Addr == ""
		}) {
			t.Errorf("no refusal record %q", want)
		}
	}
	for _, r := range recs {
		line, _ := json.Marshal(r)
		if strings.Contains(string(line), "REALSECRET") || strings.Contains(string(line), "beta=true&x=1") {
			t.Errorf("record holds a credential or a query: %s", line)
		}
	}
	if strings.Contains(tp.logs.String(), "REALSECRET") {
		t.Errorf("credential in the logs")
	}
}

// A refused call's record holds a bounded, printable target.
func TestModelProxyRecordedTargetIsBounded(t *testing.T) {
	up, srv, port := startUpstreamLog(t)
	tp := startProxy(t, Config{ModelURL: srv.URL, ModelAPIKey: realKey, Private: []string{"127.0.0.1/32:" + port}})
	long := "/v1/" + strings.Repeat("a", 500) + "%00%1b"
	if code, _ := rawModelCall(t, tp.modelAddr, "POST", long, ""); code != http.StatusForbidden {
		t.Fatalf("status %d", code)
	}
	rec := tp.rec.wait(t)
	if rec.Allowed || len(rec.Reason) > 200 || !strings.HasSuffix(rec.Reason, "…") {
		t.Errorf("record reason %q (%d bytes)", rec.Reason, len(rec.Reason))
	}
	if n := len(up.calls()); n != 0 {
		t.Errorf("upstream got %d calls", n)
	}
}
