package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// File is a file uploaded through files.getUploadURLExternal, the upload
// URL and files.completeUploadExternal.
type File struct {
	ID       string
	Name     string
	Title    string
	Length   int  // as declared to files.getUploadURLExternal
	Mismatch bool // an upload of another length was refused
	Data     []byte
	Channel  string // set once shared
	ThreadTS string
	App      string
	Mimetype string // files people share
	User     string // who shared it (people's files)
}

// Files returns the files shared in channel.
func (s *Server) Files(channel string) []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, id := range s.fileOrder {
		if f := s.files[id]; f.Channel == channel {
			out = append(out, *f)
		}
	}
	return out
}

func (s *Server) uploadURL(w http.ResponseWriter, a *app, p url.Values) {
	name := p.Get("filename")
	n, err := strconv.Atoi(p.Get("length"))
	if name == "" || err != nil || n <= 0 {
		slackErr(w, "invalid_arguments")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &File{ID: "F" + itoa(s.nextLocked()), Name: name, Length: n, App: a.Name}
	s.files[f.ID] = f
	s.fileOrder = append(s.fileOrder, f.ID)
	writeJSON(w, map[string]any{"ok": true, "upload_url": s.hs.URL + "/upload/" + f.ID, "file_id": f.ID})
}

// serveUpload takes the multipart POST to an upload URL.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	file, _, err := r.FormFile("file")
	if err != nil {
		http.Error(w, "no file", http.StatusBadRequest)
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, 64<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[r.PathValue("file")]
	if f == nil || s.appByBotToken(tok) == nil || s.appByBotToken(tok).Name != f.App {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	// files.getUploadURLExternal took the file's size in bytes: the upload
	// must be exactly that long.
	if len(data) != f.Length {
		f.Mismatch = true
		s.notifyLocked()
		http.Error(w, fmt.Sprintf("upload of %d bytes for a file declared %d bytes long", len(data), f.Length), http.StatusBadRequest)
		return
	}
	f.Data = data
	s.notifyLocked()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "OK - "+strconv.Itoa(len(data)))
}

func (s *Server) completeUpload(w http.ResponseWriter, a *app, p url.Values) {
	var list []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(p.Get("files")), &list); err != nil || len(list) == 0 {
		slackErr(w, "invalid_arguments")
		return
	}
	ch := p.Get("channel_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	var out []map[string]string
	for _, x := range list {
		f := s.files[x.ID]
		if f == nil || f.App != a.Name {
			slackErr(w, "file_not_found")
			return
		}
		if f.Data == nil {
			slackErr(w, "file_upload_not_complete")
			return
		}
		f.Title, f.Channel, f.ThreadTS = x.Title, ch, p.Get("thread_ts")
		ids = append(ids, f.ID)
		out = append(out, map[string]string{"id": f.ID, "title": f.Title})
	}
	if ch != "" {
		s.messages = append(s.messages, &Message{Channel: ch, TS: s.tsLocked(), ThreadTS: p.Get("thread_ts"),
			User: a.BotUserID, App: a.Name, Text: p.Get("initial_comment"), Files: ids})
	}
	s.notifyLocked()
	writeJSON(w, map[string]any{"ok": true, "files": out})
}
