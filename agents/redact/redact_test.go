package redact

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestRedactKnownValuesAndForms(t *testing.T) {
	secret := "garden-gh-token/with+chars=="
	r := New(secret, "short", "")
	cases := map[string]string{
		"plain":     "token is " + secret + " ok",
		"base64":    "b64 " + base64.StdEncoding.EncodeToString([]byte(secret)),
		"rawurl64":  "u64 " + base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"urlencode": "q=" + url.QueryEscape(secret),
	}
	for name, in := range cases {
		got := r.String(in)
		if strings.Contains(got, secret) || !strings.Contains(got, Mask) {
			t.Errorf("%s: %q not masked: %q", name, in, got)
		}
	}
	if got := r.String("a short word"); got != "a short word" {
		t.Errorf("values under %d chars must not be masked: %q", minLen, got)
	}
}

// TestRedactNamed: a named secret's mask names its variable, in every
// form; so a command on an approval card that holds a secret shows which
// variable's value stood where, and nothing else of the command is hidden.
func TestRedactNamed(t *testing.T) {
	value := "garden-gh-token-0123"
	r := NewNamed(Secret{Name: "GITHUB_TOKEN", Value: value}, Secret{Name: "A,B", Value: "shared-value-1"}, Secret{Value: "unnamed-value"})
	cmd := `{"command":"echo harmless && touch /workspace/x && curl -H 'Authorization: ` + value + `' https://api.github.com"}`
	want := `{"command":"echo harmless && touch /workspace/x && curl -H 'Authorization: [REDACTED:GITHUB_TOKEN]' https://api.github.com"}`
	if got := r.String(cmd); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := r.String("b64 " + base64.StdEncoding.EncodeToString([]byte(value))); got != "b64 [REDACTED:GITHUB_TOKEN]" {
		t.Errorf("base64 form: %q", got)
	}
	if got := r.String("x shared-value-1 unnamed-value"); got != "x [REDACTED:A,B] "+Mask {
		t.Errorf("shared and unnamed: %q", got)
	}
	r.UpdateNamed(Secret{Name: "NEW", Value: value})
	if got := r.String(value); got != "[REDACTED:NEW]" {
		t.Errorf("after UpdateNamed: %q", got)
	}
}

// TestMaskForSanitizesName: a name cannot break out of the mask or the
// card's markdown.
func TestMaskForSanitizesName(t *testing.T) {
	for name, want := range map[string]string{
		"":                       Mask,
		"GITHUB_TOKEN":           "[REDACTED:GITHUB_TOKEN]",
		"a]`b\n**c**":            "[REDACTED:abc]",
		"```":                    Mask,
		strings.Repeat("X", 100): "[REDACTED:" + strings.Repeat("X", 64) + "]",
	} {
		if got := MaskFor(name); got != want {
			t.Errorf("MaskFor(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestRedactMinLength: values under 8 characters are never masked (they
// would garble ordinary text); 8 and more are.
func TestRedactMinLength(t *testing.T) {
	r := New("seven77", "eight888", "  padded  ")
	if got := r.String("seven77 eight888 padded"); got != "seven77 "+Mask+" padded" {
		t.Errorf("got %q", got)
	}
}

func TestRedactTokenShapes(t *testing.T) {
	r := New()
	for _, tok := range []string{
		"sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv",
		"xoxb-1234567890-abcdefghijkl",
		"xapp-1-A111-222-abcdefabcdef",
		"ghp_abcdefghijklmnopqrstuvwxyz0123",
		"github_pat_11ABCDEFG0123456789_abcdefghij",
		"MTA5ODc2NTQzMjEwOTg3NjU0Mw.GaBcDe.abcdefghijklmnopqrstuvwxyz01234",
	} {
		got := r.String("x " + tok + " y")
		if strings.Contains(got, tok) {
			t.Errorf("token shape %q not masked: %q", tok, got)
		}
	}
	if got := r.String("nothing secret here"); got != "nothing secret here" {
		t.Errorf("plain text changed: %q", got)
	}
}

func TestRedactLongestFirst(t *testing.T) {
	r := New("abcdefgh", "abcdefghijkl")
	if got := r.String("abcdefghijkl"); got != Mask {
		t.Errorf("got %q, want a single mask", got)
	}
}

func TestSlogHandler(t *testing.T) {
	var buf bytes.Buffer
	secret := "super-secret-value-123"
	log := slog.New(NewHandler(slog.NewTextHandler(&buf, nil), New(secret)))
	log.With("pre", secret).Info("msg "+secret, "k", secret, "err", errors.New("boom "+secret),
		slog.Group("g", "inner", secret))
	if strings.Contains(buf.String(), secret) {
		t.Fatalf("secret leaked into log: %s", buf.String())
	}
	if strings.Count(buf.String(), Mask) < 5 {
		t.Fatalf("expected 5 masks: %s", buf.String())
	}
}

func BenchmarkRedact(b *testing.B) {
	secrets := make([]string, 40)
	for i := range secrets {
		secrets[i] = strings.Repeat(string(rune('a'+i%26)), 12) + "-secret"
	}
	r := New(secrets...)
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 50)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		_ = r.String(text)
	}
}

func TestRedactUpdate(t *testing.T) {
	r := New("first-secret-value")
	r.Update("second-secret-value")
	if got := r.String("first-secret-value second-secret-value"); got != "first-secret-value "+Mask {
		t.Fatalf("after Update: %q", got)
	}
	var zero Redactor
	if got := zero.String("plain"); got != "plain" {
		t.Fatalf("zero value: %q", got)
	}
}
