// Package fakecli is a small stand-in for the Claude Code CLI, for what the
// real CLI cannot be made to do on demand (crash mid-stream, print garbage
// or a 10 MB line, stall and ignore SIGTERM) and for benchmarks of the
// message plumbing without a model round trip (echo and permission modes).
//
// It speaks the same stream-json protocol on stdin/stdout as the real CLI
// (see claude-stream-json.md §8) for the modes below. Everything else about
// the real CLI is tested against the real CLI.
//
// Use it from a test binary (re-exec):
//
//	func TestMain(m *testing.M) {
//		fakecli.RunIfRequested() // runs the fake and exits when HERDBOT_FAKECLI is set
//		os.Exit(m.Run())
//	}
//
// then start os.Args[0] with the CLI's argv and HERDBOT_FAKECLI=<mode> in
// its environment (under -race also GORACE=atexit_sleep_ms=0, or every exit
// takes a second). Or build the binary in ./fakeclaude.
package fakecli

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Environment variables read by the fake CLI.
const (
	// EnvMode selects the mode (one of the Mode constants).
	EnvMode = "HERDBOT_FAKECLI"
	// EnvIgnoreTerm=1 makes the process ignore SIGTERM (stall mode).
	EnvIgnoreTerm = "HERDBOT_FAKECLI_IGNORE_TERM"
	// EnvBigLineBytes sets the text size of ModeBigLine (default 10 MiB).
	EnvBigLineBytes = "HERDBOT_FAKECLI_BIGLINE_BYTES"
	// EnvStampFile names a file to which the fake appends, for every user
	// line it reads on stdin, one line "<unix nanoseconds> <pid> <prompt>"
	// (the prompt Go-quoted): the wall-clock time the line was read (before
	// it is parsed). Benchmarks use it to measure the path from a chat event
	// to the agent's stdin.
	EnvStampFile = "HERDBOT_FAKECLI_STAMP_FILE"
)

// Modes.
const (
	// ModeEcho answers every user line at once with init, an assistant
	// text "echo: <prompt>" and a success result.
	ModeEcho = "echo"
	// ModePermission asks one can_use_tool (Bash "echo hi") per turn and
	// finishes the turn according to the answer; it honours interrupt
	// (cancel + aborted result) and deny with interrupt.
	ModePermission = "permission"
	// ModeCrash writes init and some text, a line on stderr, and exits 3
	// without a result.
	ModeCrash = "crash"
	// ModeGarbage writes lines that are not JSON among valid ones.
	ModeGarbage = "garbage"
	// ModeBigLine answers with one assistant text of EnvBigLineBytes.
	ModeBigLine = "bigline"
	// ModeStall writes init and some text, then never finishes the turn
	// and does not exit on stdin EOF.
	ModeStall = "stall"
	// ModeUnknown writes unknown message types, unknown fields, shuffled
	// key order, mistyped fields and an unsupported control request
	// (hook_callback) whose answer it reports as text.
	ModeUnknown = "unknown"
)

// RunIfRequested runs the fake CLI with the process's own arguments and
// streams and exits, when EnvMode is set; otherwise it returns.
func RunIfRequested() {
	if os.Getenv(EnvMode) == "" {
		return
	}
	os.Exit(Main(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// Main runs the fake CLI and returns its exit code.
func Main(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, err := parseArgs(args)
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	mode := getenv(EnvMode)
	if mode == "" {
		mode = ModeEcho
	}
	if getenv(EnvIgnoreTerm) == "1" {
		signal.Ignore(syscall.SIGTERM)
	}
	f := &fake{
		mode:     mode,
		session:  opts.session,
		out:      bufio.NewWriterSize(stdout, 64<<10),
		stderr:   stderr,
		users:    make(chan string, 64),
		intr:     make(chan string, 8),
		answers:  make(map[string]chan json.RawMessage),
		bigBytes: 10 << 20,
	}
	if n, err := strconv.Atoi(getenv(EnvBigLineBytes)); err == nil && n > 0 {
		f.bigBytes = n
	}
	if p := getenv(EnvStampFile); p != "" {
		sf, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
		defer sf.Close()
		f.stamps = sf
	}
	go f.readStdin(stdin)
	return f.run()
}

type options struct{ session string }

func parseArgs(args []string) (options, error) {
	var o options
	vals := map[string]string{}
	flags := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		if k, v, ok := strings.Cut(a, "="); ok {
			vals[k] = v
			continue
		}
		switch a {
		case "--output-format", "--input-format", "--permission-prompt-tool", "--permission-mode", "--resume", "--model", "--max-turns":
			if i+1 < len(args) {
				vals[a] = args[i+1]
				i++
			}
		default:
			flags[a] = true
		}
	}
	if vals["--output-format"] != "stream-json" || vals["--input-format"] != "stream-json" {
		return o, fmt.Errorf("--input-format=stream-json requires output-format=stream-json")
	}
	if (flags["-p"] || flags["--print"]) && !flags["--verbose"] {
		return o, fmt.Errorf("when using --print, --output-format=stream-json requires --verbose")
	}
	o.session = vals["--resume"]
	if o.session == "" {
		o.session = uuid()
	}
	return o, nil
}

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

type fake struct {
	mode     string
	session  string
	bigBytes int

	mu     sync.Mutex
	out    *bufio.Writer
	stderr io.Writer

	users   chan string // prompts; closed at stdin EOF
	intr    chan string // interrupt request ids
	amu     sync.Mutex
	answers map[string]chan json.RawMessage // pending can_use_tool → response

	stamps io.Writer // EnvStampFile, or nil

	badInput  atomic.Bool // a stdin line did not parse: exit 1
	turns     int
	cost      float64
	lastError bool
}

// emit writes one JSON line.
func (f *fake) emit(v any) {
	b, _ := json.Marshal(v)
	f.raw(string(b))
}

// raw writes one line as is.
func (f *fake) raw(line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, _ = f.out.WriteString(line)
	_ = f.out.WriteByte('\n')
	_ = f.out.Flush()
}

type inLine struct {
	Type      string          `json:"type"`
	RequestID string          `json:"request_id"`
	Request   json.RawMessage `json:"request"`
	Response  struct {
		Subtype   string          `json:"subtype"`
		RequestID string          `json:"request_id"`
		Response  json.RawMessage `json:"response"`
		Error     string          `json:"error"`
	} `json:"response"`
	Message struct {
		Content json.RawMessage `json:"content"`
	} `json:"message"`
}

func (f *fake) readStdin(r io.Reader) {
	defer close(f.users)
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		read := time.Now()
		if s := strings.TrimSpace(string(line)); s != "" {
			var in inLine
			if json.Unmarshal([]byte(s), &in) != nil {
				fmt.Fprintf(f.stderr, "Error parsing streaming input line: %.40s\n", s)
				f.badInput.Store(true)
				f.failPending()
				return
			}
			if f.stamps != nil && in.Type == "user" {
				var prompt string
				if json.Unmarshal(in.Message.Content, &prompt) != nil {
					prompt = string(in.Message.Content)
				}
				fmt.Fprintf(f.stamps, "%d %d %q\n", read.UnixNano(), os.Getpid(), prompt)
			}
			f.dispatch(in)
		}
		if err != nil {
			f.failPending()
			return
		}
	}
}

func (f *fake) dispatch(in inLine) {
	switch in.Type {
	case "user":
		var s string
		if json.Unmarshal(in.Message.Content, &s) != nil {
			s = string(in.Message.Content)
		}
		f.users <- s
	case "control_response":
		f.amu.Lock()
		ch := f.answers[in.Response.RequestID]
		delete(f.answers, in.Response.RequestID)
		f.amu.Unlock()
		if ch == nil {
			return
		}
		if in.Response.Subtype == "error" {
			ch <- json.RawMessage(`{"behavior":"error"}`)
			return
		}
		ch <- in.Response.Response
	case "control_request":
		var req struct {
			Subtype string `json:"subtype"`
		}
		_ = json.Unmarshal(in.Request, &req)
		switch req.Subtype {
		case "interrupt":
			f.intr <- in.RequestID
		case "initialize":
			f.emit(map[string]any{"type": "control_response", "response": map[string]any{
				"subtype": "success", "request_id": in.RequestID,
				"response": map[string]any{"commands": []any{}, "agents": []any{}, "output_style": "default", "pid": os.Getpid()},
			}})
		default:
			f.emit(map[string]any{"type": "control_response", "response": map[string]any{
				"subtype": "error", "request_id": in.RequestID, "error": "Unsupported control request subtype: " + req.Subtype,
			}})
		}
	}
}

// failPending answers every pending request with "stream closed".
func (f *fake) failPending() {
	f.amu.Lock()
	defer f.amu.Unlock()
	for id, ch := range f.answers {
		ch <- json.RawMessage(`{"behavior":"closed"}`)
		delete(f.answers, id)
	}
}

// ask sends a control request and returns the channel its answer arrives on.
func (f *fake) ask(req map[string]any) (string, chan json.RawMessage) {
	id := uuid()
	ch := make(chan json.RawMessage, 1)
	f.amu.Lock()
	f.answers[id] = ch
	f.amu.Unlock()
	f.emit(map[string]any{"type": "control_request", "request_id": id, "request": req})
	return id, ch
}

func (f *fake) run() int {
	for {
		select {
		case prompt, ok := <-f.users:
			if !ok {
				if f.mode == ModeStall {
					select {} // never exits on its own
				}
				if f.lastError || f.badInput.Load() {
					return 1
				}
				return 0
			}
			if code, exit := f.turn(prompt); exit {
				return code
			}
		case id := <-f.intr:
			f.interruptReply(id)
		}
	}
}

func (f *fake) interruptReply(id string) {
	f.emit(map[string]any{"type": "control_response", "response": map[string]any{
		"subtype": "success", "request_id": id, "response": map[string]any{"still_queued": []any{}}}})
}
