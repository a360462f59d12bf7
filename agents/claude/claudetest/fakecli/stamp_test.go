package fakecli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
)

func TestMain_StampFileGetsOneLinePerUserLine(t *testing.T) {
	stamps := filepath.Join(t.TempDir(), "stamps")
	getenv := func(k string) string {
		switch k {
		case fakecli.EnvMode:
			return fakecli.ModeEcho
		case fakecli.EnvStampFile:
			return stamps
		}
		return ""
	}
	in := `{"type":"control_request","request_id":"r1","request":{"subtype":"initialize"}}` + "\n" +
		`{"type":"user","message":{"role":"user","content":"one"}}` + "\n" +
		`{"type":"user","message":{"role":"user","content":"two"}}` + "\n"
	before := time.Now()
	var out, errb bytes.Buffer
	if code := fakecli.Main(goodArgs, getenv, strings.NewReader(in), &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	st, err := fakecli.Stamps(stamps)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 {
		t.Fatalf("stamps %+v: want one per user line (2), not for control requests", st)
	}
	for i, s := range st {
		if s.At.Before(before) || s.PID != strconv.Itoa(os.Getpid()) || s.Prompt != []string{"one", "two"}[i] {
			t.Fatalf("stamp %+v: want a time after the start, this pid and the prompt", s)
		}
	}
	if n, at, pid, err := fakecli.LastStamp(stamps); err != nil || n != 2 || !at.Equal(st[1].At) || pid != st[1].PID {
		t.Fatalf("LastStamp = %d %v %s %v", n, at, pid, err)
	}
}
