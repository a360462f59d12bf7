package egress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
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
// its fields. The credentials are never in that JSON (nor in argv): they
// come from CredentialFile.
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
	// Authorization: Bearer. Neither is ever logged, recorded or marshalled
	// (a Config turned into JSON for the environment never holds them).
	ModelAPIKey     string `json:"-"`
	ModelOAuthToken string `json:"-"`

	// CredentialFile is where `herdbot egress` reads ModelAPIKey and
	// ModelOAuthToken from at start: a JSON Credentials object. The docker
	// backend copies it into the sidecar (mode 0400, the sidecar's user)
	// before the sidecar starts, so the credentials are in no environment
	// variable, command line or label (`docker inspect` shows none).
	CredentialFile string `json:"credential_file"`

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

// Credentials is the content of Config.CredentialFile.
type Credentials struct {
	ModelAPIKey     string `json:"model_api_key,omitempty"`
	ModelOAuthToken string `json:"model_oauth_token,omitempty"`
}

// maxCredentialFile bounds the credential file read at start.
const maxCredentialFile = 64 << 10

// ReadCredentials reads and decodes a credential file (unknown fields are
// an error). Errors name the file, never its content.
func ReadCredentials(path string) (Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("credential file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCredentialFile+1))
	if err != nil {
		return Credentials{}, fmt.Errorf("credential file %s: %w", path, err)
	}
	if len(data) > maxCredentialFile {
		return Credentials{}, fmt.Errorf("credential file %s: larger than %d bytes", path, maxCredentialFile)
	}
	var c Credentials
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		// The JSON decoder's messages quote types and field names, not
		// values.
		return Credentials{}, fmt.Errorf("credential file %s: not a JSON credentials object: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes a JSON Config, rejecting unknown fields and any
// credential (they are read from CredentialFile only).
func ParseConfig(data []byte) (Config, error) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) == nil {
		for _, k := range []string{"model_api_key", "model_oauth_token"} {
			if _, ok := fields[k]; ok {
				return Config{}, fmt.Errorf("decode egress config: %s: credentials are read only from credential_file, never from the environment", k)
			}
		}
	}
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
		slog.String("credential_file", c.CredentialFile),
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
