package config

import (
	"sort"
)

// minSecretLen is the shortest value Secrets returns: shorter .env values
// ("1", "yes") cannot be told apart from ordinary text, and masking them
// would garble every message.
const minSecretLen = 4

// Secrets returns the values to mask for this agent: every value of its
// .env, its chat tokens and its webhook secrets, longest first, without
// duplicates and without values shorter than 4 characters.
func (a *Agent) Secrets() []string {
	var s []string
	for _, v := range a.Env {
		s = append(s, v)
	}
	if d := a.Chat.Discord; d != nil {
		s = append(s, d.Token)
	}
	if sl := a.Chat.Slack; sl != nil {
		s = append(s, sl.BotToken, sl.AppToken)
	}
	for _, sc := range a.Schedules {
		s = append(s, sc.Secret)
	}
	for _, v := range a.Docker.Env {
		s = append(s, v)
	}
	return cleanSecrets(s)
}

// Secrets returns the values to mask anywhere in herdbot: every value of
// every .env file (fleet and agents), every agent's tokens and the model
// credentials; longest first, deduplicated, none shorter than 4 characters.
func (f *Fleet) Secrets() []string {
	var s []string
	for _, v := range f.Env {
		s = append(s, v)
	}
	s = append(s, f.Model.APIKey, f.Model.OAuthToken)
	for _, a := range f.Agents {
		s = append(s, a.Secrets()...)
	}
	return cleanSecrets(s)
}

func cleanSecrets(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, v := range in {
		if len(v) < minSecretLen || seen[v] {
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
