package egress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Record reports one connection the proxy handled, allowed or denied. The
// egress subcommand writes one JSON line per Record to stdout; the docker
// backend reads them with ParseRecord for the audit table.
//
// For a CONNECT tunnel a Record covers the tunnel; for plain HTTP and the
// model reverse proxy it covers one upstream connection. A request the
// model proxy refuses (not a model API call herdbot forwards) is a Record
// of its own, not allowed, whose Reason names the method and path (no
// query, at most 120 bytes). Records never hold credentials or headers.
type Record struct {
	Time      time.Time `json:"time"`       // when the connection was decided
	Agent     string    `json:"agent"`      // Config.Agent
	Host      string    `json:"host"`       // host name or literal IP the client asked for
	Port      int       `json:"port"`       // destination port
	Addr      string    `json:"addr"`       // the IP actually dialled; empty when none was
	Allowed   bool      `json:"allowed"`    // whether policy allowed the destination
	Reason    string    `json:"reason"`     // the rule that allowed it or why it was refused or failed
	BytesUp   int64     `json:"bytes_up"`   // bytes sent to the destination
	BytesDown int64     `json:"bytes_down"` // bytes received from the destination
}

// ParseRecord decodes one JSON line written by the egress subcommand.
func ParseRecord(line []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return Record{}, fmt.Errorf("parse egress record: %w", err)
	}
	if r.Time.IsZero() || r.Host == "" {
		return Record{}, errors.New("parse egress record: missing time or host")
	}
	return r, nil
}

// Audit returns r as an audit row's action (egress.allowed or
// egress.denied), subject (host:port) and detail: JSON holding the address
// dialled, the reason and the bytes moved. herdbot's audit table records
// every Record so, acted by "agent:" and the agent's name.
func (r Record) Audit() (action, subject, detail string) {
	action = "egress.allowed"
	if !r.Allowed {
		action = "egress.denied"
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct { // cannot fail: strings and numbers
		Addr      string `json:"addr"`
		Reason    string `json:"reason"`
		BytesUp   int64  `json:"bytes_up"`
		BytesDown int64  `json:"bytes_down"`
	}{r.Addr, r.Reason, r.BytesUp, r.BytesDown})
	return action, fmt.Sprintf("%s:%d", r.Host, r.Port), strings.TrimSuffix(b.String(), "\n")
}
