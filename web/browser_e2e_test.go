package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/internal/testenv"
)

// TestBrowserFollowsARunAndApprovesIt drives the dashboard in a real
// headless chromium: the fleet page, a message sent through the console,
// the job page waiting for approval, Allow once clicked on the approvals
// page (in a second tab), and the first tab's transcript updating live
// until the run has finished. A screenshot of each page is saved in the
// test's temp dir (and, with HERDBOT_SCREENSHOTS=DIR, in DIR: docs/ keeps
// one of each for the README).
func TestBrowserFollowsARunAndApprovesIt(t *testing.T) {
	bin := testenv.RequireBrowser(t)
	d := newDash(t, opts{webApprovers: []string{"local"}})
	shots := t.TempDir()
	keep := os.Getenv("HERDBOT_SCREENSHOTS")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.WindowSize(1200, 900), chromedp.Flag("disable-gpu", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	tab1, cancel1 := chromedp.NewContext(actx)
	defer cancel1()
	ctx, cancelT := context.WithTimeout(tab1, 3*time.Minute)
	defer cancelT()

	shot := func(ctx context.Context, name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100) /* 100: PNG */)
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		for _, dir := range []string{shots, keep} {
			if dir == "" {
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, "dashboard-"+name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// The fleet page.
	if err := chromedp.Do(ctx, chromedp.Navigate(d.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table"))); err != nil {
		t.Fatal(err)
	}
	if s := text(ctx, "main"); !strings.Contains(s, agentstest.Agent) || !strings.Contains(s, "idle") {
		t.Fatalf("fleet page: %s", s)
	}
	shot(ctx, "fleet")

	// A message through the console; its job waits for approval.
	a := d.pending()
	d.waitEvent(a.JobID, "approval_requested")
	if err := chromedp.Do(ctx, chromedp.Navigate(d.srv.URL+"/jobs/"+a.JobID),
		chromedp.WaitVisible(chromedp.CSS(`li.ev-approval_requested`))); err != nil {
		t.Fatal(err)
	}
	if s := text(ctx, "#status"); s != string(agents.JobRunning) {
		t.Fatalf("job status %q while waiting", s)
	}
	shot(ctx, "job-waiting")

	// Allow once, clicked on the approvals page in a second tab.
	tab2, cancel2 := chromedp.NewContext(tab1)
	defer cancel2()
	ctx2, cancelT2 := context.WithTimeout(tab2, 2*time.Minute)
	defer cancelT2()
	if err := chromedp.Do(ctx2, chromedp.Navigate(d.srv.URL+"/approvals"),
		chromedp.WaitVisible(chromedp.CSS(`button[value="once"]`))); err != nil {
		t.Fatal(err)
	}
	if s := text(ctx2, "main"); !strings.Contains(s, a.InputHash) || !strings.Contains(s, "touch allowed.txt") {
		t.Fatalf("approvals page: %s", s)
	}
	shot(ctx2, "approvals")
	if resp, err := chromedp.RunResponse(ctx2, chromedp.Click(chromedp.CSS(`button[value="once"]`))); err != nil || resp.Status != 200 {
		t.Fatalf("Allow once: %v %v", resp, err)
	}
	if s := text(ctx2, "p.notice"); !strings.Contains(s, "allowed") {
		t.Fatalf("notice after Allow once: %q", s)
	}

	// The first tab, never reloaded by the test, shows the tool run and
	// the answer as they happen, then the final status.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`li.ev-approval_decided`))); err != nil {
		t.Fatal(err)
	}
	// The page reloads itself when the stream says the job ended: read
	// the status until it is final (a poll in the page would not survive
	// the reload).
	for deadline := time.Now().Add(60 * time.Second); ; {
		st, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#status") || {}).textContent || ""`))
		if err == nil && st == string(agents.JobSucceeded) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job page did not reach succeeded: %q %v", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s := text(ctx, "#events"); !strings.Contains(s, "made the file") {
		t.Fatalf("transcript after the run: %s", s)
	}
	shot(ctx, "job-done")
	if _, err := os.Stat(filepath.Join(d.rig.Workspace, "allowed.txt")); err != nil {
		t.Fatalf("the approved tool did not run: %v", err)
	}
	// Audit page, filtered to approvals.
	if err := chromedp.Do(ctx2, chromedp.Navigate(d.srv.URL+"/audit?action=approval."), chromedp.WaitVisible(chromedp.CSS("table"))); err != nil {
		t.Fatal(err)
	}
	if s := text(ctx2, "table"); !strings.Contains(s, "web:local") || !strings.Contains(s, "approval.decided") {
		t.Fatalf("audit page: %s", s)
	}
	shot(ctx2, "audit")
}
