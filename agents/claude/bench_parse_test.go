package claude

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/herdbot/herdbot/sandbox"
)

// transcript10k returns at least 10,000 events' worth of lines recorded from
// the real CLI (testdata/*.jsonl repeated), and the exact event count.
func transcript10k(b *testing.B) ([][]byte, int) {
	b.Helper()
	files, _ := filepath.Glob("testdata/*.jsonl")
	var recorded [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for line := range bytes.SplitSeq(bytes.TrimSpace(data), []byte("\n")) {
			recorded = append(recorded, line)
		}
	}
	var lines [][]byte
	events := 0
	var d decoder
	for events < 10000 {
		for _, l := range recorded {
			out, _ := d.decode(l)
			events += len(out.events)
			lines = append(lines, l)
		}
	}
	return lines, events
}

// BenchmarkDecode_Transcript10k measures the line decoder alone.
func BenchmarkDecode_Transcript10k(b *testing.B) {
	lines, events := transcript10k(b)
	size := 0
	for _, l := range lines {
		size += len(l) + 1
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		var d decoder
		for _, l := range lines {
			if _, err := d.decode(l); err != nil {
				b.Fatal(err)
			}
		}
	}
	perEvent := float64(b.Elapsed().Nanoseconds()) / float64(b.N*events)
	b.ReportMetric(1e9/perEvent, "events/s")
	b.ReportMetric(float64(events), "events/op")
}

// memProcess is an in-memory sandbox.Process whose stdout is a fixed
// transcript, for measuring the Conn's read path without a child process.
type memProcess struct {
	out io.Reader
}

type nopWriteCloser struct{}

func (nopWriteCloser) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriteCloser) Close() error                { return nil }

func (p *memProcess) Stdin() io.WriteCloser { return nopWriteCloser{} }
func (p *memProcess) Stdout() io.Reader     { return p.out }
func (p *memProcess) Stderr() io.Reader     { return bytes.NewReader(nil) }
func (p *memProcess) Wait(context.Context) (sandbox.ExitStatus, error) {
	return sandbox.ExitStatus{}, nil
}
func (p *memProcess) Signal(context.Context, syscall.Signal) error { return nil }

// BenchmarkConn_Transcript10k measures the whole read path: buffered line
// reading, decoding and delivery on the Events channel.
func BenchmarkConn_Transcript10k(b *testing.B) {
	lines, events := transcript10k(b)
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	for _, l := range lines {
		w.Write(l)
		w.WriteByte('\n')
	}
	w.Flush()
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	rt := New(Config{})
	for b.Loop() {
		c := rt.Attach(&memProcess{out: bytes.NewReader(data)})
		n := 0
		for range c.Events() {
			n++
		}
		if n != events {
			b.Fatalf("%d events, want %d", n, events)
		}
		_ = c.Close(b.Context())
	}
	perEvent := float64(b.Elapsed().Nanoseconds()) / float64(b.N*events)
	b.ReportMetric(1e9/perEvent, "events/s")
}
