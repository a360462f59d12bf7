package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/herdbot/herdbot/agents"
)

// countingDriver wraps the sqlite driver and counts, per SQL text, how many
// times a connection compiles a statement: an explicit prepare, or an Exec or
// Query without one (the driver compiles those on every call).
type countingDriver struct {
	inner driver.Driver
	mu    sync.Mutex
	n     map[string]int
}

func (d *countingDriver) count(query string) {
	d.mu.Lock()
	d.n[query]++
	d.mu.Unlock()
}

func (d *countingDriver) counts() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]int, len(d.n))
	for k, v := range d.n {
		out[k] = v
	}
	return out
}

type fullConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
}

func (d *countingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingConn{fullConn: c.(fullConn), d: d}, nil
}

type countingConn struct {
	fullConn
	d *countingDriver
}

func (c *countingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.d.count(query)
	return c.fullConn.PrepareContext(ctx, query)
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.d.count(query)
	return c.fullConn.ExecContext(ctx, query, args)
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.d.count(query)
	return c.fullConn.QueryContext(ctx, query, args)
}

var (
	counting     *countingDriver
	countingOnce sync.Once
)

// openCounting opens a fresh store whose connections count compilations.
func openCounting(t *testing.T) (*DB, *countingDriver) {
	countingOnce.Do(func() {
		probe, err := sql.Open("sqlite", ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		counting = &countingDriver{inner: probe.Driver(), n: map[string]int{}}
		probe.Close()
		sql.Register("sqlite-counting", counting)
	})
	prev := driverName
	driverName = "sqlite-counting"
	defer func() { driverName = prev }()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "h.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, counting
}

// TestHotPathsPrepareOnce runs every hot-path method many times and checks
// that each of their statements was compiled at most once per connection
// (at Open, or the first time a reader connection runs it), not per call.
func TestHotPathsPrepareOnce(t *testing.T) {
	db, d := openCounting(t)
	ctx := t.Context()
	const rounds = 30
	for i := range rounds {
		id := "j" + strconv.Itoa(i)
		j := agents.Job{ID: id, Agent: "garden", Status: agents.JobRunning}
		conv := agents.Conversation{Agent: "garden", Key: "k" + strconv.Itoa(i%3), SessionID: id}
		if err := db.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		if err := db.AppendEvents(ctx, []agents.JobEvent{{JobID: id, Seq: 1}, {JobID: id}}); err != nil {
			t.Fatal(err)
		}
		if err := db.UpdateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		if err := db.PutConversation(ctx, conv); err != nil {
			t.Fatal(err)
		}
		j.Status = agents.JobSucceeded
		if err := db.FinishJob(ctx, j, []agents.JobEvent{{JobID: id}, {JobID: id, Seq: 9}}, &conv); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Job(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Conversation(ctx, conv.Agent, conv.Key); err != nil {
			t.Fatal(err)
		}
	}
	n := d.counts()
	for name, q := range map[string]string{
		"create job": sqlCreateJob, "update job": sqlUpdateJob, "insert event": sqlInsertEvent,
		"last event seq": sqlMaxSeq, "put conversation": sqlPutConversation,
		"read job": sqlJob, "read conversation": sqlConversation,
	} {
		// One writer connection; the reader pool has at most maxReaders.
		if got := n[q]; got < 1 || got > maxReaders {
			t.Errorf("%s compiled %d times in %d rounds, want once per connection (1 to %d)", name, got, rounds, maxReaders)
		}
	}
	if t.Failed() {
		for q, c := range n {
			t.Logf("%4d %s", c, strings.Join(strings.Fields(q), " "))
		}
	}
}

// TestCloseClosesStatements checks that Close releases the statements
// prepared at Open.
func TestCloseClosesStatements(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "h.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*sql.Stmt{"createJob": db.st.createJob, "updateJob": db.st.updateJob,
		"insertEvent": db.st.insertEvent, "maxSeq": db.st.maxSeq, "putConv": db.st.putConv, "job": db.st.job, "conv": db.st.conv} {
		if _, err := st.Exec(); err == nil || !strings.Contains(err.Error(), "statement is closed") {
			t.Errorf("%s after Close: %v, want statement is closed", name, err)
		}
	}
}
