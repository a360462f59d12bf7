// Package redact masks secrets before text reaches chat, logs or the store:
// every known secret value (the operator's secrets: see config's
// NamedSecrets), its base64 and URL-encoded forms, and common token shapes
// (Anthropic, Slack, GitHub, Discord). A value with a name is masked as
// "[REDACTED:NAME]", so an approval card that hides part of a command says
// which variable's value stood there.
package redact

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
)

// Mask replaces a secret that has no name, and a token shape.
const Mask = "[REDACTED]"

// minLen is the shortest value treated as a secret: shorter values ("1",
// "true", a port, a short word) would mask ordinary text and garble it.
const minLen = 8

// Secret is a value to mask and the name of the variable it came from
// ("" for none).
type Secret struct {
	Name  string
	Value string
}

// MaskFor is the mask of a secret called name: "[REDACTED:NAME]", or Mask
// when name is empty. Characters other than letters, digits, '_', ',', '.'
// and '-' are dropped from the name, and it is cut at 64 bytes.
func MaskFor(name string) string {
	var b strings.Builder
	for _, c := range name {
		if b.Len() >= 64 {
			break
		}
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == ',', c == '.', c == '-':
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return Mask
	}
	return "[REDACTED:" + b.String() + "]"
}

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

// New returns a Redactor for the given secret values, each masked as Mask.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Update(secrets...)
	return r
}

// NewNamed returns a Redactor that masks each value as MaskFor(its name).
func NewNamed(secrets ...Secret) *Redactor {
	r := &Redactor{}
	r.UpdateNamed(secrets...)
	return r
}

// Update replaces the known secret values (after a config reload).
func (r *Redactor) Update(secrets ...string) {
	named := make([]Secret, len(secrets))
	for i, s := range secrets {
		named[i] = Secret{Value: s}
	}
	r.UpdateNamed(named...)
}

// UpdateNamed replaces the known secrets (after a config reload).
func (r *Redactor) UpdateNamed(secrets ...Secret) {
	r.r.Store(replacer(secrets))
}

func replacer(secrets []Secret) *strings.Replacer {
	type form struct{ text, mask string }
	seen := map[string]bool{}
	var forms []form
	add := func(s, mask string) {
		if len(s) >= minLen && !seen[s] {
			seen[s] = true
			forms = append(forms, form{s, mask})
		}
	}
	for _, sec := range secrets {
		s := strings.TrimSpace(sec.Value)
		if len(s) < minLen {
			continue
		}
		m := MaskFor(sec.Name)
		add(s, m)
		add(base64.StdEncoding.EncodeToString([]byte(s)), m)
		add(base64.RawStdEncoding.EncodeToString([]byte(s)), m)
		add(base64.URLEncoding.EncodeToString([]byte(s)), m)
		add(base64.RawURLEncoding.EncodeToString([]byte(s)), m)
		add(url.QueryEscape(s), m)
		add(url.PathEscape(s), m)
	}
	if len(forms) == 0 {
		return nil
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i].text) > len(forms[j].text) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f.text, f.mask)
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
