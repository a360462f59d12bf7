package slacktest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Files people share with a message arrive as Slack sends them: the
// message event has subtype file_share and files[] with url_private and
// url_private_download on the files host (here the fake's own), and the
// file is served only to a bot token of the workspace sent as
// "Authorization: Bearer" — without one Slack redirects to the sign-in
// page (an HTML page with status 200), as here. Every download is
// recorded (Downloads).

// Upload is a file a person shares with a message.
type Upload struct {
	Name     string
	Mimetype string // as the person's client declared it
	Data     []byte
}

// Download is one GET of a file URL.
type Download struct {
	Path   string
	Status int
	Bearer string // the bot token sent, "" for none
}

// Downloads returns every file download so far.
func (s *Server) Downloads() []Download {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Download(nil), s.downloads...)
}

// shareLocked stores uploads as files shared in channel by user and
// returns their ids.
func (s *Server) shareLocked(channel, user string, ups []Upload) []string {
	var ids []string
	for _, u := range ups {
		f := &File{ID: "F" + itoa(s.nextLocked()), Name: u.Name, Title: u.Name, Length: len(u.Data),
			Data: append([]byte(nil), u.Data...), Channel: channel, Mimetype: u.Mimetype, User: user}
		s.files[f.ID] = f
		s.fileOrder = append(s.fileOrder, f.ID)
		ids = append(ids, f.ID)
	}
	return ids
}

// fileObjects is files[] of a message event for ids.
func (s *Server) fileObjects(ids []string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, id := range ids {
		f := s.files[id]
		if f == nil {
			continue
		}
		base := s.hs.URL + "/files-pri/" + Team + "-" + f.ID + "/"
		ext := ""
		if i := strings.LastIndex(f.Name, "."); i >= 0 {
			ext = f.Name[i+1:]
		}
		out = append(out, map[string]any{
			"id": f.ID, "created": 1700000000, "timestamp": 1700000000, "name": f.Name, "title": f.Title,
			"mimetype": f.Mimetype, "filetype": ext, "pretty_type": strings.ToUpper(ext), "user": f.User,
			"mode": "hosted", "editable": false, "is_external": false, "external_type": "", "is_public": true,
			"size":        len(f.Data),
			"url_private": base + url.PathEscape(f.Name), "url_private_download": base + "download/" + url.PathEscape(f.Name),
		})
	}
	return out
}

// serveFile answers GET /files-pri/{team-file}/… for a workspace bot token.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	d := Download{Path: r.URL.Path, Bearer: tok}
	defer func() {
		s.downloads = append(s.downloads, d)
		s.notifyLocked()
	}()
	id := strings.TrimPrefix(r.PathValue("file"), Team+"-")
	f := s.files[id]
	if tok == "" || s.appByBotToken(tok) == nil {
		d.Status = http.StatusFound
		http.Redirect(w, r, "/signin?redir="+url.QueryEscape(r.URL.Path), http.StatusFound)
		return
	}
	if f == nil || f.Data == nil {
		d.Status = http.StatusNotFound
		http.Error(w, "file not found", http.StatusNotFound)
		return
	}
	d.Status = http.StatusOK
	ct := f.Mimetype
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Data)))
	_, _ = w.Write(f.Data)
}

// serveSignin is the workspace sign-in page a tokenless download ends on.
func (s *Server) serveSignin(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!DOCTYPE html><html><body>Sign in to herd</body></html>"))
}
