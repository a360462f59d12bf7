package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

// Client talks to a running herdbot over its control socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{socket: path, hc: &http.Client{Transport: tr}}
}

// ErrNotRunning is returned (wrapped) when no herdbot answers on the
// socket.
var ErrNotRunning = errors.New("herdbot is not running")

// Running returns nil when a herdbot answers on the socket, an error
// wrapping ErrNotRunning when none does, or why the socket cannot be used.
func (c *Client) Running(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err == nil {
		conn.Close()
		return nil
	}
	return c.dialError(err)
}

func (c *Client) dialError(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("control socket %s: permission denied: run herdbot's commands as the user herdbot runs as (or root)", c.socket)
	}
	if _, serr := os.Stat(c.socket); errors.Is(serr, os.ErrNotExist) || isRefused(err) {
		return fmt.Errorf("%w (no control socket at %s); start it with `herdbot start`", ErrNotRunning, c.socket)
	}
	return fmt.Errorf("control socket %s: %w", c.socket, err)
}

// APIError is an error answer from the control API.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://herdbot"+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.dialError(err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s %s: HTTP %d", method, path, resp.StatusCode)
		}
		return nil, &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	return resp, nil
}

func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

// Call does method on path with body (may be nil) and decodes the answer
// into out (may be nil).
func (c *Client) Call(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s answer: %w", path, err)
	}
	return nil
}

// Stream reads an NDJSON answer, calling fn for each line until the
// stream ends, fn fails or ctx is done.
func (c *Client) Stream(ctx context.Context, method, path string, body any, fn func(json.RawMessage) error) error {
	return c.StreamReady(ctx, method, path, body, nil, fn)
}

// StreamReady is Stream, calling ready (if not nil) once the answer's
// headers are in: the server is then following (it subscribes before it
// answers).
func (c *Client) StreamReady(ctx context.Context, method, path string, body any, ready func(), fn func(json.RawMessage) error) error {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if ready != nil {
		ready()
	}
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if ferr := fn(json.RawMessage(bytes.TrimSpace(line))); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// Raw does a GET of path and copies the answer's body to w.
func (c *Client) Raw(ctx context.Context, path string, w io.Writer) (int64, error) {
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}
