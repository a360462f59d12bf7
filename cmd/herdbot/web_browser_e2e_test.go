package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/herdbot/herdbot/agents/claude/scripted"
	"github.com/herdbot/herdbot/internal/testenv"
)

// TestDemoInTheBrowser: `herdbot start --demo` (native, so it needs no
// engine) with the agent's approvers.web naming the local user; in a
// headless chromium: the fleet page, a message typed at the console, the
// job page waiting, Allow once clicked on the approvals page in another
// tab, and the first tab following the run live until the demo model's
// answer and the final status. Screenshots go to the test's temp dir.
func TestDemoInTheBrowser(t *testing.T) {
	browser := testenv.RequireBrowser(t)
	dir := t.TempDir()
	fleet := filepath.Join(dir, "herdbot.yaml")
	write(t, fleet, "version: 1\nfleet:\n  name: e2e-webdemo\nhttp:\n  listen: 127.0.0.1:0\nagents:\n  - path: agents/garden\n    overrides:\n      docker:\n        enabled: false\n")
	write(t, filepath.Join(dir, "agents", "garden", "agent.yaml"), "name: garden\napprovers:\n  web: [local]\n")
	s := startService(t, fleet, "--demo", "--no-isolation")
	s.expectLog(t, "dashboard=http://")
	m := dashURL.FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no dashboard URL in the log")
	}
	base := strings.TrimSuffix(m[1], "/")
	shots := t.TempDir()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1200, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	tab1, cancel1 := chromedp.NewContext(actx)
	defer cancel1()
	ctx, cancelT := context.WithTimeout(tab1, 3*time.Minute)
	defer cancelT()
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	shot := func(ctx context.Context, name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("table"))); err != nil {
		t.Fatal(err)
	}
	if v := text(ctx, "main"); !strings.Contains(v, "garden") || !strings.Contains(v, "console") {
		t.Fatalf("fleet page: %s", v)
	}
	shot(ctx, "fleet")

	s.say("hello")
	// The approvals page names the waiting job.
	tab2, cancel2 := chromedp.NewContext(tab1)
	defer cancel2()
	ctx2, cancelT2 := context.WithTimeout(tab2, 3*time.Minute)
	defer cancelT2()
	var job string
	for deadline := time.Now().Add(90 * time.Second); job == ""; {
		if err := chromedp.Do(ctx2, chromedp.Navigate(base+"/approvals"), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatal(err)
		}
		if mm := regexp.MustCompile(`job (j-[0-9a-f]+)`).FindStringSubmatch(text(ctx2, "main")); mm != nil {
			job = mm[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no pending approval on the approvals page: %s", text(ctx2, "main"))
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
	// The input is shown as JSON: the command with its quotes escaped.
	if v := text(ctx2, "main"); !strings.Contains(v, strings.ReplaceAll(scripted.DemoCommand, `"`, `\"`)) {
		t.Fatalf("approvals page lacks the command: %s", v)
	}
	shot(ctx2, "approvals")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/jobs/"+job), chromedp.WaitVisible(chromedp.CSS("li.ev-approval_requested"))); err != nil {
		t.Fatal(err)
	}
	shot(ctx, "job-waiting")
	if resp, err := chromedp.RunResponse(ctx2, chromedp.Click(chromedp.CSS(`button[value="once"]`))); err != nil || resp.Status != 200 {
		t.Fatalf("Allow once: %v %v", resp, err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("li.ev-approval_decided"))); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(90 * time.Second); ; {
		st, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#status") || {}).textContent || ""`))
		if err == nil && st == "succeeded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job page did not reach succeeded: %q %v", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v := text(ctx, "#events"); !strings.Contains(v, "hello from the sandbox") {
		t.Fatalf("transcript: %s", v)
	}
	shot(ctx, "job-done")
	if _, err := os.Stat(filepath.Join(dir, ".herdbot", "demo", "garden", "hello.txt")); err != nil {
		t.Fatalf("the approved command did not run: %v", err)
	}
}
