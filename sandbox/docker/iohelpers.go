package docker

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// pipeBuffer is how much unread output a process keeps per stream before
// the container's writes block.
const pipeBuffer = 1 << 20

// bufPipe is an in-memory pipe with a bounded buffer: writes block only
// when max bytes are unread. closeWrite ends the stream for readers once
// the buffer is drained; closeRead makes further writes fail.
type bufPipe struct {
	mu   sync.Mutex
	cond *sync.Cond
	buf  bytes.Buffer
	max  int
	werr error
	rerr error
}

func newBufPipe(max int) *bufPipe {
	p := &bufPipe{max: max}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *bufPipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for len(b) > 0 {
		if p.rerr != nil {
			return n, p.rerr
		}
		if p.werr != nil {
			return n, io.ErrClosedPipe
		}
		space := p.max - p.buf.Len()
		if space <= 0 {
			p.cond.Wait()
			continue
		}
		k := min(space, len(b))
		p.buf.Write(b[:k])
		b, n = b[k:], n+k
		p.cond.Broadcast()
	}
	return n, nil
}

func (p *bufPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.buf.Len() == 0 && p.werr == nil && p.rerr == nil {
		p.cond.Wait()
	}
	if p.rerr != nil {
		return 0, p.rerr
	}
	if p.buf.Len() > 0 {
		n, _ := p.buf.Read(b)
		p.cond.Broadcast()
		return n, nil
	}
	return 0, p.werr
}

// closeWrite ends the stream: readers get err (io.EOF when nil) after the
// buffered data.
func (p *bufPipe) closeWrite(err error) {
	if err == nil {
		err = io.EOF
	}
	p.mu.Lock()
	if p.werr == nil {
		p.werr = err
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

// closeRead discards the stream: writers and readers get io.ErrClosedPipe.
func (p *bufPipe) closeRead() {
	p.mu.Lock()
	if p.rerr == nil {
		p.rerr = io.ErrClosedPipe
	}
	p.buf.Reset()
	p.cond.Broadcast()
	p.mu.Unlock()
}

// maxLine bounds one line handed to a lineWriter's fn; longer lines are cut.
const maxLine = 64 << 10

// lineWriter calls fn for each complete line written to it (without the
// newline). It is not safe for concurrent writes.
type lineWriter struct {
	fn  func([]byte)
	buf []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(w.buf) < maxLine {
				w.buf = append(w.buf, p[:min(len(p), maxLine-len(w.buf))]...)
			}
			break
		}
		if len(w.buf) > 0 {
			if len(w.buf) < maxLine {
				w.buf = append(w.buf, p[:min(i, maxLine-len(w.buf))]...)
			}
			w.emit(w.buf)
			w.buf = w.buf[:0]
		} else {
			w.emit(p[:min(i, maxLine)])
		}
		p = p[i+1:]
	}
	return n, nil
}

func (w *lineWriter) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(line) > 0 {
		w.fn(line)
	}
}

// flush hands over a last line that had no newline.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// limitedBuilder keeps the last max bytes written to it.
type limitedBuilder struct {
	sb  *strings.Builder
	max int
}

func (l *limitedBuilder) Write(p []byte) (int, error) {
	n := len(p)
	if l.sb.Len()+len(p) > l.max {
		s := l.sb.String() + string(p)
		s = s[len(s)-l.max:]
		l.sb.Reset()
		l.sb.WriteString(s)
		return n, nil
	}
	l.sb.Write(p)
	return n, nil
}
