package egress

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMainRejectsBadConfig(t *testing.T) {
	for _, c := range []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"bad JSON", `{"allow":`, nil, "HERDBOT_EGRESS_CONFIG: decode egress config"},
		{"unknown field", `{"alow":["x.com"]}`, nil, `unknown field "alow"`},
		{"trailing data", `{} {}`, nil, "trailing data"},
		{"wrong type", `{"allow":"x.com"}`, nil, "decode egress config"},
		{"bad allow entry", `{"allow":["10.0.0.1"]}`, nil, "literal IP address"},
		{"bad flag allow", "", []string{"-allow", "*"}, "bare wildcard"},
		{"bad model url", `{"model_url":"api.anthropic.com"}`, nil, "model_url"},
		{"unknown flag", "", []string{"-nope"}, "flag provided but not defined"},
		{"stray argument", "", []string{"extra"}, `unexpected argument "extra"`},
		{"empty list value", "", []string{"-allow", "a.com,,b.com"}, "empty value"},
		{"bad listen", `{"listen":"nope:nope"}`, nil, "listen"},
		{"key in the environment", `{"model_api_key":"sk-ant-api03-REALSECRET"}`, nil, "model_api_key: credentials are read only from credential_file"},
		{"token in the environment", `{"model_oauth_token":"x"}`, nil, "model_oauth_token: credentials are read only from credential_file"},
		{"key on the command line", "", []string{"-model-api-key", "k"}, "flag provided but not defined"},
		{"missing credential file", `{"credential_file":"/nonexistent/cred.json"}`, nil, "credential file: open /nonexistent/cred.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == ConfigEnv {
					return c.env
				}
				return ""
			}
			err := run(t.Context(), c.args, getenv, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("run error = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// writeCredentials writes a credential file and returns its path.
func writeCredentials(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model-credential.json")
	if err := os.WriteFile(p, []byte(content), 0o400); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigFlagsOverrideEnv(t *testing.T) {
	cred := writeCredentials(t, `{"model_api_key":"k","model_oauth_token":"o"}`)
	env := `{"agent":"a","allow":["x.com"],"private":["p.lan:1"],"credential_file":"/elsewhere"}`
	cfg, err := loadConfig([]string{"-agent", "b", "-allow", "y.com,z.com", "-allow", "w.com", "-credential-file", cred},
		func(string) string { return env }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Agent != "b" || strings.Join(cfg.Allow, " ") != "y.com z.com w.com" ||
		strings.Join(cfg.Private, " ") != "p.lan:1" || cfg.ModelAPIKey != "k" || cfg.ModelOAuthToken != "o" || cfg.CredentialFile != cred {
		t.Errorf("config = %+v", cfg)
	}
}

// The credentials never travel in the config JSON, and a bad credential
// file is reported without its content.
func TestCredentialsStayOutOfTheConfigJSON(t *testing.T) {
	raw, err := json.Marshal(Config{Agent: "a", ModelAPIKey: realKey, ModelOAuthToken: realToken, CredentialFile: "/run/c.json"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "REALSECRET") || strings.Contains(string(raw), "model_api_key") {
		t.Errorf("marshalled config holds a credential: %s", raw)
	}
	for _, bad := range []string{`{"model_api_key":"sk-ant-api03-REALSECRET-x","extra":1}`, `sk-ant-api03-REALSECRET-notjson`, `{"model_api_key":["sk-ant-api03-REALSECRET"]}`} {
		_, err := ReadCredentials(writeCredentials(t, bad))
		if err == nil || strings.Contains(err.Error(), "REALSECRET") || !strings.Contains(err.Error(), "credential file") {
			t.Errorf("ReadCredentials(%.20q…) = %v, want an error naming the file and not the value", bad, err)
		}
	}
}

// Main end to end: listens, writes a record line per connection to stdout
// that ParseRecord reads, logs without the key, stops on ctx.
func TestMainServesAndRecords(t *testing.T) {
	cred := writeCredentials(t, `{"model_api_key":"`+realKey+`"}`)
	env := `{"agent":"garden","listen":"127.0.0.1:0","model_listen":"127.0.0.1:0","allow":["*.example.com"],"credential_file":"` + cred + `"}`
	stdoutR, stdoutW := io.Pipe()
	stderrR, stderrW := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		err := run(ctx, nil, func(k string) string {
			if k == ConfigEnv {
				return env
			}
			return ""
		}, stdoutW, stderrW)
		_ = stdoutW.Close()
		_ = stderrW.Close()
		done <- err
	}()
	logs := make(chan string, 100)
	go func() {
		defer close(logs)
		sc := bufio.NewScanner(stderrR)
		for sc.Scan() {
			logs <- sc.Text()
		}
	}()
	records := make(chan string, 100)
	go func() {
		defer close(records)
		sc := bufio.NewScanner(stdoutR)
		for sc.Scan() {
			records <- sc.Text()
		}
	}()

	var listening struct{ Listen string }
	var allLogs []string
	select {
	case line := <-logs:
		allLogs = append(allLogs, line)
		if err := json.Unmarshal([]byte(line), &listening); err != nil || listening.Listen == "" {
			t.Fatalf("first log line %q: want the listening message (%v)", line, err)
		}
	case <-time.After(failsafe):
		t.Fatal("no listening log line")
	}
	_, _, resp := dialConnect(t, listening.Listen, "evil.test:443")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status = %d, want 403", resp.StatusCode)
	}
	var line string
	select {
	case line = <-records:
	case <-time.After(failsafe):
		t.Fatal("no record line")
	}
	rec, err := ParseRecord([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Agent != "garden" || rec.Host != "evil.test" || rec.Port != 443 || rec.Allowed || rec.Reason != "host not allowlisted" {
		t.Errorf("record = %+v", rec)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
	for l := range logs {
		allLogs = append(allLogs, l)
	}
	if all := strings.Join(allLogs, "\n"); strings.Contains(all, "REALSECRET") || !strings.Contains(all, `"model_api_key_set":true`) {
		t.Errorf("logs leak the key or do not say it is set:\n%s", all)
	}
}

func TestParseRecordRejectsBadLines(t *testing.T) {
	for _, in := range []string{``, `{`, `not json`, `{"host":"x"}`, `{"time":"2026-11-22T00:00:00Z"}`} {
		if _, err := ParseRecord([]byte(in)); err == nil {
			t.Errorf("ParseRecord(%q): no error", in)
		}
	}
	want := Record{Time: time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC), Agent: "a", Host: "h", Port: 443, Addr: "1.2.3.4",
		Allowed: true, Reason: "allow h", BytesUp: 1, BytesDown: 2}
	b, _ := json.Marshal(want)
	if !strings.Contains(string(b), `"bytes_down":2`) {
		t.Errorf("json tags: %s", b)
	}
	got, err := ParseRecord(b)
	if err != nil || got != want {
		t.Errorf("round trip = %+v, %v", got, err)
	}
}
