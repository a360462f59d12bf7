package config

import (
	"sort"
	"strings"
)

// MinSecretLen is the shortest value Secrets returns: shorter values
// ("1", "yes", "production" is already 10) cannot be told apart from
// ordinary text, and masking them would garble every message.
const MinSecretLen = 8

// minErrorSecretLen is the shortest .env value masked in Load's own error
// messages, which only the operator reads.
const minErrorSecretLen = 4

// Secret is a value to mask and the variable it comes from, so that a
// masked value can say which variable it was ("[REDACTED:GITHUB_TOKEN]").
type Secret struct {
	Name  string
	Value string
}

// NamedSecrets returns what to mask for this agent, all of it from files only
// the operator writes: its chat tokens, its webhook secrets, its
// docker.env values (fleet file only) and its MCP servers' env and header
// values. Values of its .env that nothing references are not included: a
// redaction string hides text on approval cards, so only values herdbot
// actually hands out are masked. Longest first, deduplicated, none shorter
// than MinSecretLen.
func (a *Agent) NamedSecrets() []Secret {
	var s []Secret
	if d := a.Chat.Discord; d != nil {
		s = append(s, Secret{d.BotTokenEnv, d.Token})
	}
	if sl := a.Chat.Slack; sl != nil {
		s = append(s, Secret{sl.BotTokenEnv, sl.BotToken}, Secret{sl.AppTokenEnv, sl.AppToken})
	}
	for _, sc := range a.Schedules {
		s = append(s, Secret{sc.SecretEnv, sc.Secret})
	}
	for k, v := range a.Docker.Env {
		s = append(s, Secret{k, v})
	}
	for _, m := range a.MCPServers {
		for k, v := range m.Env {
			s = append(s, Secret{k, v})
		}
		for k, v := range m.Headers {
			s = append(s, Secret{k, v})
		}
	}
	return cleanNamed(s)
}

// NamedSecrets returns what to mask anywhere in herdbot: every fleet .env
// value, the model credentials and every agent's NamedSecrets; longest first,
// deduplicated (a value under several names lists them all, "A,B"), none
// shorter than MinSecretLen.
func (f *Fleet) NamedSecrets() []Secret {
	var s []Secret
	for k, v := range f.Env {
		s = append(s, Secret{k, v})
	}
	s = append(s, Secret{f.Model.APIKeyEnv, f.Model.APIKey}, Secret{f.Model.OAuthTokenEnv, f.Model.OAuthToken})
	for _, a := range f.Agents {
		s = append(s, a.NamedSecrets()...)
	}
	return cleanNamed(s)
}

// Secrets returns the values of f.NamedSecrets().
func (f *Fleet) Secrets() []string { return values(f.NamedSecrets()) }

func values(s []Secret) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = v.Value
	}
	return out
}

// cleanNamed merges the names of equal values and drops short ones.
func cleanNamed(in []Secret) []Secret {
	names := map[string][]string{}
	for _, s := range in {
		if len(strings.TrimSpace(s.Value)) < MinSecretLen {
			continue
		}
		if !contains(names[s.Value], s.Name) {
			names[s.Value] = append(names[s.Value], s.Name)
		}
	}
	out := make([]Secret, 0, len(names))
	for v, ns := range names {
		sort.Strings(ns)
		out = append(out, Secret{Name: strings.Join(ns, ","), Value: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].Value) != len(out[j].Value) {
			return len(out[i].Value) > len(out[j].Value)
		}
		return out[i].Value < out[j].Value
	})
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cleanSecrets deduplicates values, drops those shorter than min and sorts
// them longest first.
func cleanSecrets(in []string, min int) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, v := range in {
		if len(v) < min || seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
