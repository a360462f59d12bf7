package discordtest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestAttachmentURLs: a person's attachment is served at the signed URL of
// the message's attachments[], also with an odd file name; an unsigned or
// tampered URL gets 404 like Discord's CDN.
func TestAttachmentURLs(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	g := s.AddGuild("g")
	ch := s.AddChannel(g, "c")
	u := s.AddUser("alice")
	m := s.SendMessageWithFiles(u.ID, ch, "hi", Upload{Filename: "../a b.txt", ContentType: "text/plain", Data: []byte("A")})
	s.mu.Lock()
	w := s.wireAttachments(ch, m.Attachments)
	s.mu.Unlock()
	url, _ := w[0]["url"].(string)
	get := func(u string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if st, b := get(url); st != 200 || !bytes.Equal(b, []byte("A")) {
		t.Fatalf("signed URL: %d %q", st, b)
	}
	base, _, _ := strings.Cut(url, "?")
	if st, _ := get(base); st != 404 {
		t.Fatalf("unsigned URL: %d, want 404", st)
	}
	if st, _ := get(strings.Replace(url, "hm=", "hm=0", 1)); st != 404 {
		t.Fatalf("tampered URL: %d, want 404", st)
	}
	if fs := s.Fetches(); len(fs) != 3 || fs[0].Status != 200 || fs[1].Status != 404 {
		t.Fatalf("fetches %+v", fs)
	}
}
