// Package redact masks secrets before text reaches chat, logs or the store:
// every known secret value (from every .env), its base64 and URL-encoded
// forms, and common token shapes (Anthropic, Slack, GitHub, Discord).
package redact

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
)

// Mask replaces a secret.
const Mask = "[REDACTED]"

// minLen is the shortest value treated as a secret: shorter values ("1",
// "true", a port) would mask ordinary text.
const minLen = 6

// shapes are token formats masked even when the value is not known.
var shapes = regexp.MustCompile(strings.Join([]string{
	`sk-ant-[A-Za-z0-9_\-]{10,}`,                                           // Anthropic API keys and OAuth tokens
	`xox[abposr]-[A-Za-z0-9\-]{10,}`,                                       // Slack bot/user tokens
	`xapp-[A-Za-z0-9\-]{10,}`,                                              // Slack app-level tokens
	`gh[pousr]_[A-Za-z0-9]{20,}`,                                           // GitHub tokens
	`github_pat_[A-Za-z0-9_]{20,}`,                                         // GitHub fine-grained tokens
	`[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}`, // Discord bot tokens
}, "|"))

// Redactor masks secrets. The zero value masks token shapes only. It is
// safe for concurrent use, also with Update.
type Redactor struct {
	r atomic.Pointer[strings.Replacer]
}

// New returns a Redactor for the given secret values.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Update(secrets...)
	return r
}

// Update replaces the known secret values (after a config reload).
func (r *Redactor) Update(secrets ...string) {
	r.r.Store(replacer(secrets))
}

func replacer(secrets []string) *strings.Replacer {
	seen := map[string]bool{}
	var forms []string
	add := func(s string) {
		if len(s) >= minLen && !seen[s] {
			seen[s] = true
			forms = append(forms, s)
		}
	}
	for _, s := range secrets {
		s = strings.TrimSpace(s)
		if len(s) < minLen {
			continue
		}
		add(s)
		add(base64.StdEncoding.EncodeToString([]byte(s)))
		add(base64.RawStdEncoding.EncodeToString([]byte(s)))
		add(base64.URLEncoding.EncodeToString([]byte(s)))
		add(base64.RawURLEncoding.EncodeToString([]byte(s)))
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
	}
	if len(forms) == 0 {
		return nil
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Mask)
	}
	return strings.NewReplacer(pairs...)
}

// String masks secrets in s.
func (r *Redactor) String(s string) string {
	if r != nil {
		if rep := r.r.Load(); rep != nil {
			s = rep.Replace(s)
		}
	}
	if !mayHoldToken(s) {
		return s
	}
	return shapes.ReplaceAllString(s, Mask)
}

// mayHoldToken is a cheap test that s could match shapes: every shape has
// one of these prefixes or, for Discord tokens, two dots.
func mayHoldToken(s string) bool {
	for _, p := range []string{"sk-ant-", "xox", "xapp-", "gh", "github_pat_"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return strings.Count(s, ".") >= 2
}

// Bytes masks secrets in b, returning b itself when nothing changed.
func (r *Redactor) Bytes(b []byte) []byte {
	s := string(b)
	out := r.String(s)
	if out == s {
		return b
	}
	return []byte(out)
}
