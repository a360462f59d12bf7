package egress

import (
	"encoding/json"
	"testing"
	"time"
)

// TestRecordAudit: a record is an egress.allowed or egress.denied row about
// host:port, whose detail is JSON holding the reason as it was (quotes
// and all).
func TestRecordAudit(t *testing.T) {
	r := Record{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Agent: "garden", Host: "egress-model", Port: 443,
		Reason: `model API call refused (path): GET /v1/files?<x>&"y"`}
	action, subject, detail := r.Audit()
	if action != "egress.denied" || subject != "egress-model:443" {
		t.Errorf("action %q subject %q", action, subject)
	}
	var d struct {
		Addr      string `json:"addr"`
		Reason    string `json:"reason"`
		BytesUp   int64  `json:"bytes_up"`
		BytesDown int64  `json:"bytes_down"`
	}
	if err := json.Unmarshal([]byte(detail), &d); err != nil || d.Reason != r.Reason {
		t.Errorf("detail %s: %v %+v", detail, err, d)
	}
	r.Allowed, r.Addr, r.BytesUp, r.BytesDown = true, "93.184.216.34", 10, 20
	if action, _, detail := r.Audit(); action != "egress.allowed" ||
		detail != `{"addr":"93.184.216.34","reason":"model API call refused (path): GET /v1/files?<x>&\"y\"","bytes_up":10,"bytes_down":20}` {
		t.Errorf("allowed: %s %s", action, detail)
	}
}
