package agents

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/herdbot/herdbot/sandbox/egress"
)

// EgressAudit is the audit row of one decision of an agent's egress proxy
// (a refused model API call included): egress.allowed or egress.denied,
// acted by the agent, about host:port, with the address dialled, the
// reason and the bytes moved as JSON detail.
func EgressAudit(r egress.Record) AuditEntry {
	action := "egress.allowed"
	if !r.Allowed {
		action = "egress.denied"
	}
	var detail bytes.Buffer
	enc := json.NewEncoder(&detail)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Addr      string `json:"addr"`
		Reason    string `json:"reason"`
		BytesUp   int64  `json:"bytes_up"`
		BytesDown int64  `json:"bytes_down"`
	}{r.Addr, r.Reason, r.BytesUp, r.BytesDown}) // cannot fail: strings and numbers
	return AuditEntry{Time: r.Time, Agent: r.Agent, Actor: "agent:" + r.Agent, Action: action,
		Subject: fmt.Sprintf("%s:%d", r.Host, r.Port), Detail: strings.TrimSuffix(detail.String(), "\n")}
}
