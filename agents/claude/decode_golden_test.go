package claude

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
)

var update = flag.Bool("update", false, "rewrite testdata/*.events from the recorded transcripts")

// summary is a stable one-line description of an event for golden files.
func summary(ev agents.Event) string {
	var b strings.Builder
	b.WriteString(string(ev.Kind))
	if ev.SessionID == "" {
		b.WriteString(" nosession")
	}
	if ev.Kind == agents.EventInit {
		// 2.1.332 says whether the CLI's own command sandbox is on
		// (true, false or "unknown"; absent: no claim). The driver does
		// not use it; herdbot's runs must show false.
		var init struct {
			SandboxEnabled json.RawMessage `json:"sandbox_enabled"`
		}
		if json.Unmarshal(ev.Raw, &init) == nil && init.SandboxEnabled != nil {
			fmt.Fprintf(&b, " sandbox_enabled=%s", init.SandboxEnabled)
		}
	}
	if ev.Text != "" {
		fmt.Fprintf(&b, " text=%q", ev.Text)
	}
	if t := ev.Tool; t != nil {
		fmt.Fprintf(&b, " tool=%s input=%s", t.Name, t.Input)
	}
	if tr := ev.ToolResult; tr != nil {
		fmt.Fprintf(&b, " is_error=%v content=%q", tr.IsError, firstN(tr.Content, 60))
	}
	if p := ev.Permission; p != nil {
		fmt.Fprintf(&b, " request=%v tool=%s input=%s suggestions=%v blocked=%v", p.RequestID != "", p.ToolName, p.Input, len(p.Suggestions) > 0, p.BlockedPath != "")
	}
	if r := ev.Result; r != nil {
		fmt.Fprintf(&b, " subtype=%s is_error=%v turns=%d cost>0=%v text=%q errors=%q", r.Subtype, r.IsError, r.Turns, r.CostUSD > 0, firstN(r.Text, 60), r.Errors)
	}
	if ev.Err != nil {
		fmt.Fprintf(&b, " err=%q", ev.Err)
	}
	return b.String()
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// TestDecode_RecordedTranscripts decodes transcripts recorded from the real
// CLI 2.1.332 (see realcli_helpers_test.go, HERDBOT_RECORD_TRANSCRIPT) and
// compares the events with the golden testdata/*.events.
func TestDecode_RecordedTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.jsonl")
	if len(files) == 0 {
		t.Fatal("no testdata/*.jsonl")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			var d decoder
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, 64<<20)
			for sc.Scan() {
				out, err := d.decode(sc.Bytes())
				if err != nil {
					t.Fatalf("line %q: %v", firstN(sc.Text(), 80), err)
				}
				for _, ev := range out.events {
					got.WriteString(summary(ev) + "\n")
				}
				if out.response != "" {
					got.WriteString("(control_response)\n")
				}
			}
			golden := strings.TrimSuffix(f, ".jsonl") + ".events"
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got.String() != string(want) {
				t.Errorf("events differ from %s:\ngot:\n%s\nwant:\n%s", golden, got.String(), want)
			}
		})
	}
}
