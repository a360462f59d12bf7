package egress

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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
