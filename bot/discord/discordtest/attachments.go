package discordtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Attachments people send are served as Discord's CDN serves them: at the
// URL in the message's attachments[], which is signed (ex, is, hm query
// parameters since 2024). The CDN takes no token; an unsigned, wrongly
// signed or expired URL gets 404 like a URL of a deleted attachment.
// Every fetch is recorded (Fetches).

// AttachmentURLLifetime is how long a signed attachment URL works.
const AttachmentURLLifetime = 24 * time.Hour

// Upload is a file a person attaches to a message.
type Upload struct {
	Filename    string
	ContentType string // as the person's client declared it ("" to leave it out)
	Data        []byte
}

// Fetch is one GET of an attachment URL.
type Fetch struct {
	Path          string
	Status        int
	Authorization string // the Authorization header sent (should be empty: the CDN takes no token)
}

// SendMessageWithFiles is SendMessage with attachments.
func (s *Server) SendMessageWithFiles(userID, channelID, content string, files ...Upload) Message {
	s.mu.Lock()
	u := s.users[userID]
	c := s.channels[channelID]
	m := &Message{ID: s.id(), ChannelID: channelID, GuildID: c.guild, Author: *u, Content: content, Time: time.Now()}
	for _, f := range files {
		m.Attachments = append(m.Attachments, Attachment{ID: s.id(), Filename: f.Filename, ContentType: f.ContentType,
			Data: append([]byte(nil), f.Data...)})
	}
	s.messages[channelID] = append(s.messages[channelID], m)
	out := m.clone()
	s.mu.Unlock()
	s.dispatchMessage(m)
	return out
}

// Fetches returns every attachment download so far.
func (s *Server) Fetches() []Fetch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fetch(nil), s.fetches...)
}

var cdnKey = []byte("discordtest-cdn-signing-key")

func cdnSign(p string, ex int64) string {
	mac := hmac.New(sha256.New, cdnKey)
	mac.Write([]byte(p + "|" + strconv.FormatInt(ex, 16)))
	return hex.EncodeToString(mac.Sum(nil))
}

// attachmentURL is the signed URL of a. Callers hold s.mu.
func (s *Server) attachmentURL(channelID string, a Attachment) string {
	p := "/attachments/" + channelID + "/" + a.ID + "/" + url.PathEscape(a.Filename)
	now := s.now()
	ex := now.Add(AttachmentURLLifetime).Unix()
	return s.ts.URL + p + "?ex=" + strconv.FormatInt(ex, 16) + "&is=" + strconv.FormatInt(now.Unix(), 16) + "&hm=" + cdnSign(p, ex) + "&"
}

// serveAttachment answers GET /attachments/{ch}/{id}/{name}.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	status := http.StatusNotFound
	defer func() {
		s.fetches = append(s.fetches, Fetch{Path: r.URL.Path, Status: status, Authorization: r.Header.Get("Authorization")})
		s.notify()
	}()
	ex, err := strconv.ParseInt(r.URL.Query().Get("ex"), 16, 64)
	if err != nil || time.Unix(ex, 0).Before(s.now()) || !hmac.Equal([]byte(r.URL.Query().Get("hm")), []byte(cdnSign(r.URL.EscapedPath(), ex))) {
		http.Error(w, "This content is no longer available.", status)
		return
	}
	m := s.findMessageByAttachment(r.PathValue("ch"), r.PathValue("id"))
	if m == nil {
		http.Error(w, "Not Found", status)
		return
	}
	for _, a := range m.Attachments {
		if a.ID == r.PathValue("id") && a.Filename == r.PathValue("name") {
			status = http.StatusOK
			ct := a.ContentType
			if ct == "" {
				ct = "application/octet-stream"
			}
			w.Header().Set("Content-Type", ct)
			w.Header().Set("Content-Length", strconv.Itoa(len(a.Data)))
			_, _ = w.Write(a.Data)
			return
		}
	}
	http.Error(w, "Not Found", status)
}

// findMessageByAttachment finds the message in channel holding attachment
// id. Callers hold s.mu.
func (s *Server) findMessageByAttachment(channelID, id string) *Message {
	for _, m := range s.messages[channelID] {
		for _, a := range m.Attachments {
			if a.ID == id {
				return m
			}
		}
	}
	return nil
}
