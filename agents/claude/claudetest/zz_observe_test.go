package claudetest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestObserve(t *testing.T) {
	s := NewModelServer(t, Script(Bash("touch x.txt", "make x"), Text("done it")))
	ws := t.TempDir()
	home := t.TempDir()
	cmd := exec.Command(os.Getenv("CLAUDE"), "-p", "--output-format", "stream-json", "--input-format", "stream-json", "--verbose", "--permission-prompt-tool", "stdio")
	cmd.Dir = ws
	cmd.Env = append(Env(s.URL), "HOME="+home, "PATH=/usr/bin:/bin")
	cmd.Stdin = strings.NewReader(`{"type":"user","session_id":"","message":{"role":"user","content":"hello"},"parent_tool_use_id":null}` + "\n")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	fmt.Println(time.Since(start), err)
	fmt.Println(string(out))
	for _, r := range s.Requests() {
		fmt.Printf("%s %s?%s model=%s stream=%v tools=%v msgs=%d\n", r.Method, r.Path, r.Query, r.Model, r.Stream, r.Tools, len(r.Messages)); for _, m := range r.Messages { fmt.Printf("  %s:", m.Role); for _, b := range m.Content { fmt.Printf(" [%s %.80q %s %.60q]", b.Type, b.Text, b.Input, b.Content) }; fmt.Println() }; fmt.Printf("%q\n", r.Header)
	}
}
