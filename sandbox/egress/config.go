package egress

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// Defaults for Config fields left empty.
const (
	DefaultListen      = ":3128"
	DefaultModelListen = ":8080"
	DefaultModelURL    = "https://api.anthropic.com"
	DefaultMaxConns    = 512
)

// Config is the egress proxy's configuration. `herdbot egress` reads it as
// JSON from the HERDBOT_EGRESS_CONFIG environment variable; flags override
// the non-secret fields.
//
// Allow entries are host names: "api.github.com" (exact) or "*.github.com"
// (any subdomain, not github.com itself), each optionally followed by
// ":port". A rule without a port allows ports 443 and 80 only. A literal IP
// address is never allowed by an Allow rule.
//
// Private entries are fleet-level opt-ins for destinations that are private
// by design: "host:port" (the name is allowed on that port whatever private
// address it resolves to) or "CIDR:port" / "IP:port" (addresses in the
// prefix are allowed on that port, including as literal IPs, and names on
// the allowlist that resolve into it). DenyCIDRs (herdbot's own network
// subnets), metadata, multicast and unspecified addresses stay refused even
// when a Private entry matches.
type Config struct {
	Agent       string   `json:"agent"`
	Listen      string   `json:"listen"`       // forward proxy (CONNECT and plain HTTP); default ":3128"
	ModelListen string   `json:"model_listen"` // model API reverse proxy; default ":8080"
	Allow       []string `json:"allow"`
	Private     []string `json:"private"`
	DenyCIDRs   []string `json:"deny_cidrs"`
	ModelURL    string   `json:"model_url"` // default https://api.anthropic.com

	// ModelAPIKey is sent upstream as x-api-key; ModelOAuthToken as
	// Authorization: Bearer. Neither is ever logged or recorded.
	ModelAPIKey     string `json:"model_api_key"`
	ModelOAuthToken string `json:"model_oauth_token"`

	// MaxConns caps concurrent client connections per listener (default
	// 512). Further connections wait in the listen backlog.
	MaxConns int `json:"max_conns"`
}

// withDefaults returns c with empty fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.ModelListen == "" {
		c.ModelListen = DefaultModelListen
	}
	if c.ModelURL == "" {
		c.ModelURL = DefaultModelURL
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	return c
}

// ParseConfig decodes a JSON Config, rejecting unknown fields.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("decode egress config: %w", err)
	}
	if dec.More() {
		return Config{}, errors.New("decode egress config: trailing data after the JSON object")
	}
	return c, nil
}

// LogValue keeps the credentials out of logs: a Config logged with slog
// shows only whether a key or token is set.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("agent", c.Agent),
		slog.String("listen", c.Listen),
		slog.String("model_listen", c.ModelListen),
		slog.Any("allow", c.Allow),
		slog.Any("private", c.Private),
		slog.Any("deny_cidrs", c.DenyCIDRs),
		slog.String("model_url", redactURL(c.ModelURL)),
		slog.Bool("model_api_key_set", c.ModelAPIKey != ""),
		slog.Bool("model_oauth_token_set", c.ModelOAuthToken != ""),
		slog.Int("max_conns", c.MaxConns),
	)
}

// String is LogValue for fmt: no credentials.
func (c Config) String() string { return c.LogValue().String() }

// redactURL drops user info from a URL so it can be logged.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}
