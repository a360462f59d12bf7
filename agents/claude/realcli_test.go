package claude_test

import (
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
)

func TestRealCLI_PlainText(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Script(claudetest.Text("Hello from the fake model.")))
	r := newSession(t, srv).start(t, agents.RunOptions{})
	r.send("say hello")
	res, evs := r.until(agents.EventResult)

	inits := ofKind(evs, agents.EventInit)
	if len(inits) != 1 || inits[0].SessionID == "" {
		t.Fatalf("init events %v; all: %s", inits, kinds(evs))
	}
	texts := ofKind(evs, agents.EventText)
	if len(texts) != 1 || texts[0].Text != "Hello from the fake model." {
		t.Errorf("texts %+v", texts)
	}
	if res.Err != nil || res.Result.IsError || res.Result.Subtype != "success" {
		t.Errorf("result %+v err %v", res.Result, res.Err)
	}
	if res.Result.Text != "Hello from the fake model." || res.Result.Turns != 1 || res.Result.CostUSD <= 0 {
		t.Errorf("result text/turns/cost: %+v", res.Result)
	}
	if res.SessionID != inits[0].SessionID || r.conn.SessionID() != res.SessionID {
		t.Errorf("session ids: init %q result %q conn %q", inits[0].SessionID, res.SessionID, r.conn.SessionID())
	}
	if got := srv.MessageRequests(); len(got) != 1 || got[0].Prompt() != "say hello" {
		t.Errorf("model saw %d requests", len(got))
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
