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
	data, err := os.ReadFile(stamps)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("stamp file %q: want one line per user line (2), not for control requests", data)
	}
	for _, l := range lines {
		ns, pid, _ := strings.Cut(l, " ")
		n, err := strconv.ParseInt(ns, 10, 64)
		if err != nil || n < before.UnixNano() || pid != strconv.Itoa(os.Getpid()) {
			t.Fatalf("stamp line %q: want <unix ns after the start> <pid>", l)
		}
	}
}
