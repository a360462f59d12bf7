package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/store"
)

// finishFixture is a running job j1 with one stored event and a stored
// conversation bound to session "old".
func finishFixture(t *testing.T) (*store.DB, agents.Job, agents.Conversation) {
	t.Helper()
	db, ctx := mustOpen(t), t.Context()
	j := job("j1", "garden", agents.JobRunning, 0)
	if err := db.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendEvents(ctx, []agents.JobEvent{ev("j1", 1, "prompt", `{"text":"hi"}`)}); err != nil {
		t.Fatal(err)
	}
	c := agents.Conversation{Agent: "garden", Key: "discord:g:c", SessionID: "old", LastActive: t0}
	if err := db.PutConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	return db, j, c
}

// checkUnchanged fails unless job j1, its events and conversation c are as
// finishFixture left them.
func checkUnchanged(t *testing.T, db *store.DB, j agents.Job, c agents.Conversation) {
	t.Helper()
	ctx := t.Context()
	if got, err := db.Job(ctx, j.ID); err != nil || got.Status != agents.JobRunning || got.SessionID != "" {
		t.Errorf("job after failed FinishJob = %+v, %v; want it still running", got, err)
	}
	if got, err := db.Events(ctx, j.ID, 0); err != nil || len(got) != 1 {
		t.Errorf("events after failed FinishJob = %+v, %v; want only the first one", got, err)
	}
	if got, err := db.Conversation(ctx, c.Agent, c.Key); err != nil || got.SessionID != "old" {
		t.Errorf("conversation after failed FinishJob = %+v, %v; want session old", got, err)
	}
}

func finished(j agents.Job) agents.Job {
	j.Status, j.SessionID, j.Finished, j.CostUSD, j.Turns = agents.JobSucceeded, "new", j.Started.Add(time.Minute), 0.5, 3
	return j
}

func TestFinishJob(t *testing.T) {
	db, j, c := finishFixture(t)
	ctx := t.Context()
	final := finished(j)
	evs := []agents.JobEvent{ev("j1", 0, "text", `{"text":"hello"}`), ev("j1", 0, "result", `not json`)}
	conv := agents.Conversation{Agent: c.Agent, Key: c.Key, SessionID: "new", LastActive: t0.Add(time.Hour)}
	if err := db.FinishJob(ctx, final, evs, &conv); err != nil {
		t.Fatal(err)
	}
	if evs[0].Seq != 2 || evs[1].Seq != 3 {
		t.Errorf("assigned seqs = %d, %d; want 2, 3", evs[0].Seq, evs[1].Seq)
	}
	got, err := db.Job(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	want := final
	want.Started, want.Finished = want.Started.Truncate(time.Millisecond), want.Finished.Truncate(time.Millisecond)
	if got != want {
		t.Errorf("Job =\n %+v\nwant\n %+v", got, want)
	}
	stored, err := db.Events(ctx, "j1", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2 || stored[0].Kind != "text" || stored[1].Kind != "result" || string(stored[1].Data) != `"not json"` {
		t.Errorf("Events = %+v, want text then result (non-JSON data as a JSON string)", stored)
	}
	if got, err := db.Conversation(ctx, c.Agent, c.Key); err != nil || got.SessionID != "new" || !got.LastActive.Equal(t0.Add(time.Hour).Truncate(time.Millisecond)) {
		t.Errorf("Conversation = %+v, %v; want session new, active an hour later", got, err)
	}

	// A conversation that did not exist is created.
	other := agents.Conversation{Agent: "garden", Key: "slack:T:C", SessionID: "s2"}
	if err := db.FinishJob(ctx, final, nil, &other); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Conversation(ctx, "garden", "slack:T:C"); err != nil || got.SessionID != "s2" {
		t.Errorf("new Conversation = %+v, %v", got, err)
	}
}

func TestFinishJobNilConversation(t *testing.T) {
	db, j, c := finishFixture(t)
	ctx := t.Context()
	if err := db.FinishJob(ctx, finished(j), []agents.JobEvent{ev("j1", 2, "text", `1`)}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Job(ctx, "j1"); err != nil || got.Status != agents.JobSucceeded || got.SessionID != "new" {
		t.Errorf("Job = %+v, %v; want succeeded with session new", got, err)
	}
	if got, err := db.Events(ctx, "j1", 0); err != nil || len(got) != 2 {
		t.Errorf("Events = %+v, %v; want 2", got, err)
	}
	want := c
	want.LastActive = want.LastActive.Truncate(time.Millisecond)
	if got, err := db.Conversation(ctx, c.Agent, c.Key); err != nil || got != want {
		t.Errorf("Conversation = %+v, %v; want it untouched (%+v)", got, err, want)
	}
	if all, err := db.Conversations(ctx, ""); err != nil || len(all) != 1 {
		t.Errorf("Conversations = %+v, %v; want only the fixture's", all, err)
	}
}

// TestFinishJobAtomic checks that a failure at any step leaves the job, its
// events and the conversation as they were, with the error the separate
// method gives.
func TestFinishJobAtomic(t *testing.T) {
	for _, tc := range []struct {
		name string
		evs  []agents.JobEvent
		job  func(agents.Job) agents.Job
		is   error
	}{
		// The first event is fine; the second duplicates the stored seq 1.
		{name: "duplicate event", evs: []agents.JobEvent{ev("j1", 2, "text", `1`), ev("j1", 1, "text", `2`)}, is: store.ErrExists},
		{name: "event of unknown job", evs: []agents.JobEvent{ev("j1", 2, "text", `1`), ev("nope", 1, "text", `2`)}, is: agents.ErrNotFound},
		// The events are written, then the job update finds no row.
		{name: "unknown job", evs: []agents.JobEvent{ev("j1", 2, "text", `1`)}, is: agents.ErrNotFound,
			job: func(j agents.Job) agents.Job { j.ID = "nope"; return j }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, j, c := finishFixture(t)
			ctx := t.Context()
			final := finished(j)
			if tc.job != nil {
				final = tc.job(final)
			}
			conv := agents.Conversation{Agent: c.Agent, Key: c.Key, SessionID: "new", LastActive: t0.Add(time.Hour)}
			err := db.FinishJob(ctx, final, clone(tc.evs), &conv)
			if !errors.Is(err, tc.is) {
				t.Fatalf("FinishJob = %v, want %v", err, tc.is)
			}
			checkUnchanged(t, db, j, c)
			// The same error as the separate calls give.
			sep := db.AppendEvents(ctx, clone(tc.evs))
			if sep == nil {
				sep = db.UpdateJob(ctx, final)
			}
			if sep == nil || sep.Error() != err.Error() {
				t.Errorf("FinishJob error %q, separate calls %v", err, sep)
			}
		})
	}
}

func TestFinishJobValidation(t *testing.T) {
	db, j, c := finishFixture(t)
	ctx := t.Context()
	good := finished(j)
	goodEvs := []agents.JobEvent{ev("j1", 2, "text", `1`)}
	badJob := good
	badJob.Status = "exploded"
	noAgent := good
	noAgent.Agent = ""
	badEvs := []agents.JobEvent{ev("j1", 2, "text", `1`), ev("", 3, "text", `1`)}
	negEvs := []agents.JobEvent{ev("j1", -1, "text", `1`)}
	noKey := agents.Conversation{Agent: "garden", SessionID: "new"}
	goodConv := agents.Conversation{Agent: c.Agent, Key: c.Key, SessionID: "new"}
	for _, tc := range []struct {
		name string
		job  agents.Job
		evs  []agents.JobEvent
		conv *agents.Conversation
		sep  error // the separate method's error
	}{
		{"bad status", badJob, goodEvs, &goodConv, db.UpdateJob(ctx, badJob)},
		{"no agent", noAgent, goodEvs, &goodConv, db.UpdateJob(ctx, noAgent)},
		{"event without job", good, badEvs, &goodConv, db.AppendEvents(ctx, clone(badEvs))},
		{"negative seq", good, negEvs, &goodConv, db.AppendEvents(ctx, clone(negEvs))},
		{"conversation without key", good, goodEvs, &noKey, db.PutConversation(ctx, noKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.FinishJob(ctx, tc.job, clone(tc.evs), tc.conv)
			if err == nil || tc.sep == nil || err.Error() != tc.sep.Error() {
				t.Errorf("FinishJob = %v, want the separate method's error %v", err, tc.sep)
			}
			checkUnchanged(t, db, j, c)
		})
	}
}

func clone(evs []agents.JobEvent) []agents.JobEvent { return append([]agents.JobEvent(nil), evs...) }
