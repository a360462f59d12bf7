package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Attachment is a file a person sent with a chat message (a Discord
// attachment, a Slack file shared with the message). Everything but Fetch
// is what the platform's event declared: untrusted, checked again once the
// bytes are in hand.
type Attachment struct {
	Name        string // file name as the person's client sent it
	Size        int64  // declared size in bytes
	ContentType string // declared type (never trusted: herdbot sniffs the bytes)
	// Fetch downloads the file through herdbot (never from the agent's
	// container), with the platform's auth, from the URL the platform's
	// event gave and only from that platform's hosts. It returns
	// ErrTooLarge when the file has more than max bytes.
	Fetch func(ctx context.Context, max int64) ([]byte, error)
}

// ErrTooLarge is returned by Attachment.Fetch for a file over its limit.
var ErrTooLarge = errors.New("file is larger than the limit")

// ErrForeignURL is returned by Attachment.Fetch for a URL that is not on
// one of the platform's hosts.
var ErrForeignURL = errors.New("not a URL of the chat platform")

// HostRule says which URLs a platform's attachments may be fetched from.
type HostRule struct {
	// Hosts are host names (exact, or ".example.com" for any subdomain)
	// served over https.
	Hosts []string
	// Base, when set, is a URL whose scheme and host are also allowed:
	// the platform API base herdbot is configured with (a test's fake).
	Base string
}

// Allows reports whether u may be fetched.
func (r HostRule) Allows(u *url.URL) bool {
	if u == nil || u.User != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if u.Scheme == "https" {
		for _, h := range r.Hosts {
			if host == h || (strings.HasPrefix(h, ".") && strings.HasSuffix(host, h)) {
				return true
			}
		}
	}
	if r.Base != "" {
		b, err := url.Parse(r.Base)
		if err == nil && b.Host != "" && b.Scheme == u.Scheme && strings.EqualFold(b.Host, u.Host) {
			return true
		}
	}
	return false
}

// Download GETs rawURL when rule allows it (and every redirect it
// follows), with header, and returns at most max bytes (ErrTooLarge past
// that). client nil: a client with a 2-minute timeout.
func Download(ctx context.Context, client *http.Client, rule HostRule, rawURL string, header http.Header, max int64) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || !rule.Allows(u) {
		return nil, fmt.Errorf("%w: %q", ErrForeignURL, rawURL)
	}
	c := http.Client{Timeout: 2 * time.Minute}
	if client != nil {
		c = *client
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 || !rule.Allows(req.URL) {
			return fmt.Errorf("%w: redirected to %s", ErrForeignURL, req.URL.Redacted())
		}
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download: HTTP %d", resp.StatusCode)
	}
	if resp.ContentLength > max {
		return nil, ErrTooLarge
	}
	return ReadMax(resp.Body, max)
}

// ReadMax reads r to its end, failing with ErrTooLarge after max bytes.
func ReadMax(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	if int64(len(b)) > max {
		return nil, ErrTooLarge
	}
	return b, nil
}

// LimitWriter is an io.Writer that keeps at most Max bytes and fails with
// ErrTooLarge past that.
type LimitWriter struct {
	Max int64
	Buf []byte
}

func (w *LimitWriter) Write(p []byte) (int, error) {
	if int64(len(w.Buf)+len(p)) > w.Max {
		return 0, ErrTooLarge
	}
	w.Buf = append(w.Buf, p...)
	return len(p), nil
}
