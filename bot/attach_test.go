package bot_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/herdbot/herdbot/bot"
)

func TestHostRule(t *testing.T) {
	r := bot.HostRule{Hosts: []string{"cdn.discordapp.com", ".slack.com"}, Base: "http://127.0.0.1:8080/api/"}
	for u, want := range map[string]bool{
		"https://cdn.discordapp.com/attachments/1/2/a.png": true,
		"http://cdn.discordapp.com/attachments/1/2/a.png":  false, // not https
		"https://files.slack.com/files-pri/T-F/a.txt":      true,
		"https://slack.com.evil.example/a":                 false,
		"https://evilslack.com/a":                          false,
		"https://user@cdn.discordapp.com/a":                false,
		"http://127.0.0.1:8080/attachments/x":              true, // the configured base
		"http://127.0.0.1:8081/attachments/x":              false,
		"http://169.254.169.254/latest/meta-data":          false,
	} {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Allows(pu); got != want {
			t.Errorf("Allows(%s) = %v, want %v", u, got, want)
		}
	}
}

// TestDownload: only allowed URLs are fetched, redirects to other hosts
// are not followed, and a body over the limit fails.
func TestDownload(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("a redirect to another host was followed")
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file":
			_, _ = w.Write([]byte("12345"))
		case "/away":
			http.Redirect(w, r, other.URL+"/x", http.StatusFound)
		}
	}))
	defer srv.Close()
	rule := bot.HostRule{Base: srv.URL}
	ctx := context.Background()
	if b, err := bot.Download(ctx, nil, rule, srv.URL+"/file", nil, 5); err != nil || string(b) != "12345" {
		t.Fatalf("allowed: %q %v", b, err)
	}
	if _, err := bot.Download(ctx, nil, rule, srv.URL+"/file", nil, 4); !errors.Is(err, bot.ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := bot.Download(ctx, nil, rule, other.URL+"/x", nil, 5); !errors.Is(err, bot.ErrForeignURL) {
		t.Fatalf("foreign URL: %v", err)
	}
	if _, err := bot.Download(ctx, nil, rule, srv.URL+"/away", nil, 5); !errors.Is(err, bot.ErrForeignURL) {
		t.Fatalf("redirect away: %v", err)
	}
}
