package sched_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/sched"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

var channel = bot.Target{Platform: bot.Discord, Space: "g1", Channel: "c1"}

func every(agent, name string, d time.Duration) sched.Schedule {
	return sched.Schedule{Agent: agent, Name: name, Type: sched.TypeInterval, Interval: d,
		Prompt: "report " + name, Enabled: true, PostTo: channel}
}

func cronSchedule(agent, name, expr string, loc *time.Location) sched.Schedule {
	return sched.Schedule{Agent: agent, Name: name, Type: sched.TypeCron, Cron: expr, Location: loc,
		Prompt: "report " + name, Enabled: true, PostTo: channel}
}

func TestIntervalCountsFromTheEndOfTheRun(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	h := newHarness(t, clk, newMemState(), []sched.Schedule{every("garden", "weather", time.Hour)}, opts{hold: true})

	h.timers(1)
	h.advanceTo(t0.Add(time.Hour))
	c := h.nextCall()
	if !c.at.Equal(t0.Add(time.Hour)) {
		t.Fatalf("first run at %s, want %s", c.at, t0.Add(time.Hour))
	}
	h.advanceTo(t0.Add(time.Hour + 10*time.Minute)) // the run takes 10 minutes
	close(c.release)
	h.ran()

	h.timers(1)
	if got, want := h.s.JobNextRun("garden/weather"), t0.Add(2*time.Hour+10*time.Minute); !got.Equal(want) {
		t.Fatalf("gocron plans the next run at %s, want %s (an hour after the first ended)", got, want)
	}
	if got := h.s.List(clk.Now())[0].Next[0]; !got.Equal(t0.Add(2*time.Hour + 10*time.Minute)) {
		t.Fatalf("List says next run %s", got)
	}
	h.advanceTo(t0.Add(2*time.Hour + 10*time.Minute))
	c = h.nextCall()
	if want := t0.Add(2*time.Hour + 10*time.Minute); !c.at.Equal(want) {
		t.Fatalf("second run at %s, want %s (an hour after the first ended)", c.at, want)
	}
	close(c.release)
	h.ran()
}

func TestCronInTwoZonesAcrossDST(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC)
	clk := clockwork.NewFakeClockAt(start)
	list := []sched.Schedule{
		cronSchedule("ops", "ny", "0 9 * * *", ny),
		cronSchedule("ops", "berlin", "0 0 9 * * *", berlin), // 6 fields, seconds first
	}
	h := newHarness(t, clk, newMemState(), list, opts{})

	// 9:00 local every day: New York moves to EDT on 8 March (13:00 UTC
	// instead of 14:00), Berlin to CEST on 29 March (07:00 UTC instead of 08:00).
	want := []struct {
		name string
		at   time.Time
	}{
		{"berlin", time.Date(2026, 3, 7, 8, 0, 0, 0, time.UTC)},
		{"ny", time.Date(2026, 3, 7, 14, 0, 0, 0, time.UTC)},
		{"berlin", time.Date(2026, 3, 8, 8, 0, 0, 0, time.UTC)},
		{"ny", time.Date(2026, 3, 8, 13, 0, 0, 0, time.UTC)},
		{"berlin", time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC)},
		{"ny", time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC)},
	}
	for _, w := range want {
		h.timers(2)
		h.advanceTo(w.at)
		c := h.nextCall()
		if c.req.Schedule != w.name || !c.at.Equal(w.at) {
			t.Fatalf("run %s at %s, want %s at %s", c.req.Schedule, c.at, w.name, w.at)
		}
		h.ran()
	}
	// Jump to just before Berlin's change and check the following runs.
	h.timers(2)
	h.stop()
	st := h.st
	clk2 := clockwork.NewFakeClockAt(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC))
	h2 := newHarness(t, clk2, st, list, opts{})
	for _, w := range []struct {
		name string
		at   time.Time
	}{
		{"ny", time.Date(2026, 3, 28, 13, 0, 0, 0, time.UTC)},
		{"berlin", time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC)},
		{"ny", time.Date(2026, 3, 29, 13, 0, 0, 0, time.UTC)},
	} {
		h2.timers(2)
		h2.advanceTo(w.at)
		c := h2.nextCall()
		if c.req.Schedule != w.name || !c.at.Equal(w.at) {
			t.Fatalf("run %s at %s, want %s at %s", c.req.Schedule, c.at, w.name, w.at)
		}
		h2.ran()
	}
}

func TestAtFiresOnce(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	st := newMemState()
	at := sched.Schedule{Agent: "garden", Name: "frost", Type: sched.TypeAt, At: t0.Add(time.Hour),
		Prompt: "frost warning?", Enabled: true, PostTo: channel}
	h := newHarness(t, clk, st, []sched.Schedule{at}, opts{})
	h.timers(1)
	h.advanceTo(t0.Add(time.Hour))
	if c := h.nextCall(); !c.at.Equal(at.At) {
		t.Fatalf("ran at %s, want %s", c.at, at.At)
	}
	h.ran()
	if got := h.s.List(clk.Now())[0].Next; len(got) != 0 {
		t.Fatalf("next runs after it ran = %v, want none", got)
	}
	h.advanceTo(t0.Add(48 * time.Hour))
	if n := h.stopAndCount(); n != 0 {
		t.Fatalf("%d more runs, want none", n)
	}

	// A restart later neither runs it again nor reports it missed.
	at.CatchUp = sched.CatchUpOnce
	h2 := newHarness(t, clk, st, []sched.Schedule{at}, opts{})
	h2.advanceTo(t0.Add(72 * time.Hour))
	if n := h2.stopAndCount(); n != 0 {
		t.Fatalf("%d runs after restart, want none", n)
	}
	if rows := st.auditRows("schedule.skipped"); len(rows) != 0 {
		t.Fatalf("audit rows %v, want none", rows)
	}
}

func TestNoOverlapWithItself(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	h := newHarness(t, clk, newMemState(), []sched.Schedule{cronSchedule("ops", "tick", "* * * * *", time.UTC)}, opts{hold: true})
	h.timers(1)
	h.advanceTo(t0.Add(time.Minute))
	first := h.nextCall()

	// Two more minutes pass while the first run is still going: both
	// slots are passed over.
	for i := 2; i <= 3; i++ {
		h.timers(1)
		slot := t0.Add(time.Duration(i) * time.Minute)
		h.advanceTo(slot)
		if f := h.fire(); f.outcome != "busy" || !f.slot.Equal(slot) {
			t.Fatalf("fire %+v, want %s skipped as busy", f, slot)
		}
	}
	if rows := h.st.auditRows("schedule.overlap"); len(rows) != 2 {
		t.Fatalf("%d overlap audit rows, want 2", len(rows))
	}
	h.timers(1)
	if _, err := h.s.Trigger(t.Context(), "ops", "tick"); !errors.Is(err, sched.ErrBusy) {
		t.Fatalf("Trigger while running: err %v, want ErrBusy", err)
	}
	close(first.release)
	h.ran()

	h.advanceTo(t0.Add(4 * time.Minute))
	next := h.nextCall()
	if !next.at.Equal(t0.Add(4 * time.Minute)) {
		t.Fatalf("next run at %s, want %s", next.at, t0.Add(4*time.Minute))
	}
	close(next.release)
	h.ran()
	if n := h.stopAndCount(); n != 0 {
		t.Fatalf("%d more runs, want none (the busy minutes are passed over)", n)
	}
	if got := h.runner.max(); got != 1 {
		t.Fatalf("max concurrent runs = %d, want 1", got)
	}
}

func TestLagRecorded(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	// The fleet makes the run wait 7 s for a slot under the agent's cap.
	result := func(c *call) (agents.RunResult, error) {
		return agents.RunResult{Job: agents.Job{Status: agents.JobSucceeded, Started: c.at.Add(7 * time.Second), Finished: c.at.Add(time.Minute)}}, nil
	}
	h := newHarness(t, clk, newMemState(), []sched.Schedule{every("garden", "weather", time.Hour)}, opts{result: result})
	h.timers(1)
	h.advanceTo(t0.Add(time.Hour))
	h.nextCall()
	h.ran()
	if got := h.lags.get("garden/weather"); len(got) != 1 || got[0] != 7*time.Second {
		t.Fatalf("lags = %v, want [7s]", got)
	}
}

func TestJitterDelaysTheRun(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	s := cronSchedule("garden", "weather", "0 * * * *", time.UTC)
	s.Jitter = 10 * time.Minute
	slot := t0.Add(time.Hour)
	off := sched.JitterOffset(s.Key(), slot, s.Jitter)
	if off <= 0 || off >= s.Jitter {
		t.Fatalf("offset %s out of (0, %s)", off, s.Jitter)
	}
	h := newHarness(t, clk, newMemState(), []sched.Schedule{s}, opts{})
	h.timers(1)
	h.advanceTo(slot)
	h.timers(2) // the next hour's timer and the jitter wait
	h.advanceTo(slot.Add(off))
	if c := h.nextCall(); !c.at.Equal(slot.Add(off)) {
		t.Fatalf("ran at %s, want %s", c.at, slot.Add(off))
	}
	h.ran()
	if got := h.lags.get(s.Key()); len(got) != 1 || got[0] != 0 {
		t.Fatalf("lag = %v, want [0]: jitter is not lag", got)
	}
}

func TestDisabledNeverFires(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	s := every("garden", "weather", time.Hour)
	s.Enabled = false
	h := newHarness(t, clk, newMemState(), []sched.Schedule{s, every("garden", "other", time.Hour)}, opts{})
	h.timers(1)
	h.advanceTo(t0.Add(time.Hour))
	if c := h.nextCall(); c.req.Schedule != "other" {
		t.Fatalf("ran %s, want other", c.req.Schedule)
	}
	h.ran()
	if n := h.stopAndCount(); n != 0 {
		t.Fatalf("%d more runs, want none", n)
	}
}

func TestRunRequestAndReport(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	s := every("garden", "weather", time.Hour)
	s.ResumeSession = true
	result := func(c *call) (agents.RunResult, error) {
		return agents.RunResult{
			Job:  agents.Job{ID: "j-42", Status: agents.JobSucceeded, Started: c.at, Finished: c.at.Add(2*time.Minute + 13*time.Second), CostUSD: 0.0421},
			Text: "Sunny, 14°C. Water the tomatoes.",
		}, nil
	}
	h := newHarness(t, clk, newMemState(), []sched.Schedule{s}, opts{result: result})
	h.timers(1)
	h.advanceTo(t0.Add(time.Hour))
	c := h.nextCall()
	want := agents.RunRequest{Agent: "garden", Prompt: "report weather", Trigger: agents.TriggerSchedule,
		Schedule: "weather", Target: channel, Silent: true, Resume: true}
	if c.req != want {
		t.Fatalf("request = %+v, want %+v", c.req, want)
	}
	p := h.nextPost()
	if p.agent != "garden" || p.to != channel {
		t.Fatalf("posted as %s to %+v", p.agent, p.to)
	}
	for _, w := range []string{"**weather**", "2m13s", "$0.042", "job `j-42`", "Sunny, 14°C. Water the tomatoes."} {
		if !strings.Contains(p.msg.Text, w) {
			t.Errorf("report %q lacks %q", p.msg.Text, w)
		}
	}
	if strings.Contains(p.msg.Text, "Denied") {
		t.Errorf("report %q mentions denials", p.msg.Text)
	}
	st := h.ran()
	if st.LastStatus != "succeeded" || st.LastJob != "j-42" || !st.LastRun.Equal(t0.Add(time.Hour)) {
		t.Fatalf("state = %+v", st)
	}
}

func TestFailureReport(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	result := func(c *call) (agents.RunResult, error) {
		return agents.RunResult{Job: agents.Job{ID: "j-7", Status: agents.JobFailed, Started: c.at, Finished: c.at.Add(12 * time.Second), Error: "model error: overloaded"}}, errBoom
	}
	h := newHarness(t, clk, newMemState(), []sched.Schedule{every("garden", "weather", time.Hour)}, opts{result: result})
	h.timers(1)
	h.advanceTo(t0.Add(time.Hour))
	h.nextCall()
	p := h.nextPost()
	for _, w := range []string{"**weather** failed", "job `j-7`", "model error: overloaded", "12s"} {
		if !strings.Contains(p.msg.Text, w) {
			t.Errorf("failure report %q lacks %q", p.msg.Text, w)
		}
	}
	if st := h.ran(); st.LastStatus != "failed" {
		t.Fatalf("last status %q, want failed", st.LastStatus)
	}
}

func TestDeniedToolsNamedInReport(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	result := func(c *call) (agents.RunResult, error) {
		return agents.RunResult{Job: agents.Job{ID: "j-9", Status: agents.JobSucceeded, Started: c.at, Finished: c.at.Add(time.Second)},
			Text: "Could not check the sensors.", Denied: []string{"Bash", "WebFetch"}}, nil
	}
	h := newHarness(t, clk, newMemState(), []sched.Schedule{every("garden", "weather", time.Hour)}, opts{result: result})
	h.timers(1)
	h.advanceTo(t0.Add(time.Hour))
	h.nextCall()
	p := h.nextPost()
	if !strings.Contains(p.msg.Text, "Denied, no approver reachable: Bash, WebFetch") {
		t.Fatalf("report %q does not name the denied tools", p.msg.Text)
	}
	h.ran()
}

func TestNoTargetPostsNothing(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	s := every("garden", "weather", time.Hour)
	s.PostTo = bot.Target{}
	h := newHarness(t, clk, newMemState(), []sched.Schedule{s}, opts{})
	h.timers(1)
	h.advanceTo(t0.Add(time.Hour))
	h.nextCall()
	h.ran()
	select {
	case p := <-h.poster.posts:
		t.Fatalf("posted %q with no target", p.msg.Text)
	default:
	}
}

// TestStopGivesRunningRunsTheirGrace: stopping the scheduler (SIGTERM) does
// not cancel a scheduled run at once; the Runner (the fleet, which gives
// every run the same grace) ends it. Only StopGrace later does the
// scheduler cancel a run that is still going.
func TestStopGivesRunningRunsTheirGrace(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	h := newHarness(t, clk, newMemState(), []sched.Schedule{every("garden", "weather", time.Hour)}, opts{hold: true})
	h.timers(1)
	h.advanceTo(t0.Add(time.Hour))
	c := h.nextCall()

	stopped := make(chan struct{})
	go func() { h.stop(); close(stopped) }()
	// Wait (on the scheduler's state, not on time) until Run is stopping.
	deadline := time.Now().Add(wait)
	same := []sched.Schedule{every("garden", "weather", time.Hour)} // re-applying it changes nothing
	for !errors.Is(h.s.Apply(t.Context(), same), sched.ErrStopped) {
		if time.Now().After(deadline) {
			t.Fatal("the scheduler never began to stop")
		}
		time.Sleep(time.Millisecond)
	}
	if err := c.ctx.Err(); err != nil {
		t.Fatalf("the running scheduled run was cancelled as the scheduler stopped: %v", err)
	}
	select {
	case <-stopped:
		t.Fatal("Run returned while a scheduled run was still going")
	default:
	}
	// The backstop: a run that never ends is cancelled StopGrace later.
	h.clk.Advance(time.Minute)
	select {
	case <-c.ctx.Done():
	case <-time.After(wait):
		t.Fatal("the run was not cancelled after StopGrace")
	}
	select {
	case <-stopped:
	case <-time.After(wait):
		t.Fatal("Run did not return after the run ended")
	}
	if st := h.final(); st.LastStatus != string(agents.JobInterrupted) {
		t.Fatalf("final state %+v, want interrupted", st)
	}
}

// gocron plans a cron job's next fire from its start time when a fire's
// completion is handled before its rescheduling; from a past start time
// that is a fire time equal to now, which gocron armed at once and again
// after each such fire (TestNoOverlapWithItself hung the CI's test binary
// that way: 511 busy fires of one slot). What gocron is given is always
// after now.
func TestGocronNeverPlansNowAgain(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0.Add(2 * time.Minute))
	for _, c := range []struct {
		from, want time.Time
	}{
		{t0.Add(time.Minute), t0.Add(3 * time.Minute)},     // a past start time
		{t0.Add(2 * time.Minute), t0.Add(3 * time.Minute)}, // the slot being fired
		{t0.Add(5 * time.Minute), t0.Add(6 * time.Minute)}, // planned ahead
	} {
		got, err := sched.GocronNext("* * * * *", clk, c.from)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(c.want) {
			t.Errorf("next after %s at %s = %s, want %s", c.from.Format("15:04"), clk.Now().Format("15:04"), got.Format("15:04"), c.want.Format("15:04"))
		}
	}
}
