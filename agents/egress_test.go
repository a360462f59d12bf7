package agents

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/herdbot/herdbot/sandbox/egress"
)

// TestEgressAudit: a proxy record becomes an egress.allowed or
// egress.denied row by the agent about host:port, whose detail is JSON
// holding the reason as it was (quotes and all).
func TestEgressAudit(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := egress.Record{Time: at, Agent: "garden", Host: "egress-model", Port: 443, Addr: "",
		Reason: `model API call refused (path): GET /v1/files?<x>&"y"`}
	e := EgressAudit(r)
	if e.Time != at || e.Agent != "garden" || e.Actor != "agent:garden" || e.Action != "egress.denied" || e.Subject != "egress-model:443" {
		t.Errorf("row %+v", e)
	}
	var d struct {
		Addr      string `json:"addr"`
		Reason    string `json:"reason"`
		BytesUp   int64  `json:"bytes_up"`
		BytesDown int64  `json:"bytes_down"`
	}
	if err := json.Unmarshal([]byte(e.Detail), &d); err != nil || d.Reason != r.Reason {
		t.Errorf("detail %s: %v %+v", e.Detail, err, d)
	}
	r.Allowed, r.Addr, r.BytesUp, r.BytesDown = true, "93.184.216.34", 10, 20
	if e := EgressAudit(r); e.Action != "egress.allowed" ||
		e.Detail != `{"addr":"93.184.216.34","reason":"model API call refused (path): GET /v1/files?<x>&\"y\"","bytes_up":10,"bytes_down":20}` {
		t.Errorf("allowed row %+v", e)
	}
}
