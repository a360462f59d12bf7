package store_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/store"
)

var benchData = json.RawMessage(`{"type":"assistant","message":{"content":[{"type":"text","text":"The tomatoes need water today."}]}}`)

func benchJob(b *testing.B, db *store.DB, id string) {
	b.Helper()
	if err := db.CreateJob(b.Context(), job(id, "garden", agents.JobRunning, 0)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAppendEventsSingle appends one event per call (one transaction
// each), as a naive streaming writer would.
func BenchmarkAppendEventsSingle(b *testing.B) {
	db := mustOpen(b)
	benchJob(b, db, "j")
	ctx := b.Context()
	seq := 0
	for b.Loop() {
		seq++
		e := []agents.JobEvent{{JobID: "j", Seq: seq, Time: t0, Kind: "text", Data: benchData}}
		if err := db.AppendEvents(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendEventsBatch appends 64 events per call in one transaction.
func BenchmarkAppendEventsBatch(b *testing.B) {
	const batch = 64
	db := mustOpen(b)
	benchJob(b, db, "j")
	ctx := b.Context()
	seq, events := 0, 0
	evs := make([]agents.JobEvent, batch)
	for b.Loop() {
		for i := range evs {
			seq++
			evs[i] = agents.JobEvent{JobID: "j", Seq: seq, Time: t0, Kind: "text", Data: benchData}
		}
		if err := db.AppendEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
		events += batch
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkCreateJob inserts one job per call.
func BenchmarkCreateJob(b *testing.B) {
	db := mustOpen(b)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		if err := db.CreateJob(ctx, job(strconv.Itoa(i), "garden", agents.JobRunning, i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkJobPointRead reads jobs by id from 10,000, from parallel readers.
func BenchmarkJobPointRead(b *testing.B) {
	const n = 10_000
	db := mustOpen(b)
	ctx := b.Context()
	for i := range n {
		if err := db.CreateJob(ctx, job(strconv.Itoa(i), "garden", agents.JobSucceeded, i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i = (i + 7919) % n
			if _, err := db.Job(ctx, strconv.Itoa(i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}

// BenchmarkConversationPointRead reads the session binding of a conversation,
// the lookup every chat message does.
func BenchmarkConversationPointRead(b *testing.B) {
	db := mustOpen(b)
	ctx := b.Context()
	for i := range 1000 {
		c := agents.Conversation{Agent: "garden", Key: fmt.Sprint("discord:g:", i), SessionID: "s", LastActive: t0}
		if err := db.PutConversation(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		i = (i + 1) % 1000
		if _, err := db.Conversation(ctx, "garden", fmt.Sprint("discord:g:", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}

// BenchmarkOpen opens (probe with quick_check + migration check) a database
// of 1,000 jobs with 100 events each.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "h.db")
	ctx := b.Context()
	db, err := store.Open(ctx, path, testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	evs := make([]agents.JobEvent, 100)
	for i := range 1000 {
		id := strconv.Itoa(i)
		if err := db.CreateJob(ctx, job(id, "garden", agents.JobSucceeded, i)); err != nil {
			b.Fatal(err)
		}
		for k := range evs {
			evs[k] = agents.JobEvent{JobID: id, Seq: k + 1, Time: t0.Add(time.Duration(k)), Kind: "text", Data: benchData}
		}
		if err := db.AppendEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		db, err := store.Open(ctx, path, testLogger(b))
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(fi.Size())/(1<<20), "MiB")
}

// benchMessageEvents is the transcript of one chat message: the prompt and
// the CLI's init, answer and result lines.
const benchMessageEvents = 4

// writeMessageSeparate records one chat message the way the fleet does
// without FinishJob: CreateJob, AppendEvents, UpdateJob and PutConversation,
// four write transactions.
func writeMessageSeparate(b *testing.B, db *store.DB, i int, evs []agents.JobEvent) {
	ctx := b.Context()
	id := strconv.Itoa(i)
	j := job(id, "garden", agents.JobRunning, i)
	if err := db.CreateJob(ctx, j); err != nil {
		b.Fatal(err)
	}
	for k := range evs {
		evs[k] = agents.JobEvent{JobID: id, Seq: k + 1, Time: t0, Kind: "text", Data: benchData}
	}
	if err := db.AppendEvents(ctx, evs); err != nil {
		b.Fatal(err)
	}
	j.Status, j.Finished, j.SessionID = agents.JobSucceeded, j.Started.Add(time.Second), "s"
	if err := db.UpdateJob(ctx, j); err != nil {
		b.Fatal(err)
	}
	c := agents.Conversation{Agent: "garden", Key: fmt.Sprint("discord:g:", i%32), SessionID: "s", LastActive: j.Finished}
	if err := db.PutConversation(ctx, c); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMessageWrites measures the store writes of one chat message
// (job row, 4-event transcript, final job row, conversation): "separate" as
// four write transactions, "finish" as CreateJob then one FinishJob.
func BenchmarkMessageWrites(b *testing.B) {
	b.Run("separate", func(b *testing.B) {
		db := mustOpen(b)
		evs := make([]agents.JobEvent, benchMessageEvents)
		i := 0
		for b.Loop() {
			i++
			writeMessageSeparate(b, db, i, evs)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("finish", func(b *testing.B) {
		db := mustOpen(b)
		ctx := b.Context()
		evs := make([]agents.JobEvent, benchMessageEvents)
		i := 0
		for b.Loop() {
			i++
			id := strconv.Itoa(i)
			j := job(id, "garden", agents.JobRunning, i)
			if err := db.CreateJob(ctx, j); err != nil {
				b.Fatal(err)
			}
			for k := range evs {
				evs[k] = agents.JobEvent{JobID: id, Seq: k + 1, Time: t0, Kind: "text", Data: benchData}
			}
			j.Status, j.Finished, j.SessionID = agents.JobSucceeded, j.Started.Add(time.Second), "s"
			c := agents.Conversation{Agent: "garden", Key: fmt.Sprint("discord:g:", i%32), SessionID: "s", LastActive: j.Finished}
			if err := db.FinishJob(ctx, j, evs, &c); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}
