package agents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/herdbot/herdbot/bot"
)

// Files people send with a chat message reach the agent: images (sniffed
// from their bytes) as image blocks of the prompt, every other file saved
// in the agent's workspace under inbox/<job id>/ (inboxfs.go), with the
// prompt saying where. herdbot downloads them (bot.Attachment.Fetch, the
// adapter's, which knows the platform's auth and hosts); the container
// never does. Limits apply per file and per message; a message over them,
// or with a type the agent does not take, is refused with a chat reply and
// nothing of it is saved.

// FileLimits are an agent's limits on files sent with a chat message.
type FileLimits struct {
	Disabled   bool     // a message with files is refused
	MaxFile    int64    // bytes per file
	MaxMessage int64    // bytes per message, all files together
	MaxCount   int      // files per message
	Types      []string // allowed types, sniffed: "image/png", "text/*", "*"; nil: DefaultFileTypes
}

// File limit defaults.
const (
	DefaultMaxFile    = 10 << 20
	DefaultMaxMessage = 25 << 20
	DefaultMaxCount   = 10
	// MaxImageBytes is the largest image sent to the model inline (the
	// Messages API's limit is 5 MB); a larger one is saved in the inbox.
	MaxImageBytes = 5 << 20
	// InboxDir is the workspace folder files are saved in.
	InboxDir = "inbox"
	// maxNameBytes caps a saved file's name.
	maxNameBytes = 100
)

// DefaultFileTypes are the types an agent takes unless configured: images,
// text, PDF and zip/gzip archives (Office files are zip).
var DefaultFileTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "text/*",
	"application/pdf", "application/zip", "application/x-gzip"}

// imageTypes are the types sent to the model as image blocks.
var imageTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}

func (l *FileLimits) defaults() {
	if l.MaxFile <= 0 {
		l.MaxFile = DefaultMaxFile
	}
	if l.MaxMessage <= 0 {
		l.MaxMessage = DefaultMaxMessage
	}
	if l.MaxCount <= 0 {
		l.MaxCount = DefaultMaxCount
	}
	if l.Types == nil { // an empty, non-nil list takes no type
		l.Types = DefaultFileTypes
	}
}

// allows reports whether a sniffed content type is allowed.
func (l FileLimits) allows(ct string) bool {
	for _, t := range l.Types {
		if t == "*" || t == ct {
			return true
		}
		if major, ok := strings.CutSuffix(t, "/*"); ok && strings.HasPrefix(ct, major+"/") {
			return true
		}
	}
	return false
}

// Image is an image sent to the model with the prompt.
type Image struct {
	MediaType string // image/png, image/jpeg, image/gif, image/webp
	Data      []byte
}

// ImageSender is implemented by Conns that can send a user turn with
// images (content blocks).
type ImageSender interface {
	SendImages(ctx context.Context, text string, images []Image) error
}

// inboxFile is a file to save in the inbox.
type inboxFile struct {
	name string // sanitised, unique in the message
	ct   string // sniffed
	data []byte
}

// fileRefusal is why a message's files were refused: told in chat.
type fileRefusal struct{ text string }

func (e *fileRefusal) Error() string { return e.text }

// checkDeclared refuses a message whose files are over the limits by what
// the platform declared (before anything is downloaded).
func checkDeclared(l FileLimits, as []bot.Attachment) error {
	if len(as) == 0 {
		return nil
	}
	if l.Disabled {
		return &fileRefusal{"📎 This agent does not take files; the message was not run. Send it again without the files."}
	}
	if len(as) > l.MaxCount {
		return &fileRefusal{fmt.Sprintf("📎 %d files is more than this agent takes in one message (%d); the message was not run.", len(as), l.MaxCount)}
	}
	var total int64
	for _, a := range as {
		if a.Size > l.MaxFile {
			return &fileRefusal{fmt.Sprintf("📎 %s is %s, over this agent's limit of %s per file; the message was not run.",
				quoteName(a.Name), bytesText(a.Size), bytesText(l.MaxFile))}
		}
		total += max(a.Size, 0)
	}
	if total > l.MaxMessage {
		return &fileRefusal{fmt.Sprintf("📎 The files come to %s, over this agent's limit of %s per message; the message was not run.",
			bytesText(total), bytesText(l.MaxMessage))}
	}
	return nil
}

// fetchFiles downloads a message's files and sorts them into images for
// the prompt and files for the inbox. Any file over a limit, of a type
// not allowed, or that cannot be downloaded refuses the whole message.
func fetchFiles(ctx context.Context, l FileLimits, as []bot.Attachment, workspaceRO bool) ([]Image, []inboxFile, error) {
	if err := checkDeclared(l, as); err != nil {
		return nil, nil, err
	}
	var images []Image
	var files []inboxFile
	var total int64
	used := map[string]bool{}
	for _, a := range as {
		if a.Fetch == nil {
			return nil, nil, &fileRefusal{fmt.Sprintf("📎 %s could not be downloaded; the message was not run.", quoteName(a.Name))}
		}
		data, err := a.Fetch(ctx, min(l.MaxFile, l.MaxMessage-total))
		switch {
		case errors.Is(err, bot.ErrTooLarge):
			return nil, nil, &fileRefusal{fmt.Sprintf("📎 %s is over this agent's limits (%s per file, %s per message); the message was not run.",
				quoteName(a.Name), bytesText(l.MaxFile), bytesText(l.MaxMessage))}
		case err != nil:
			return nil, nil, fmt.Errorf("download %s: %w", quoteName(a.Name), err)
		}
		total += int64(len(data))
		ct, _, _ := strings.Cut(http.DetectContentType(data), ";")
		if !l.allows(ct) {
			return nil, nil, &fileRefusal{fmt.Sprintf("📎 %s is %s, a type this agent does not take; the message was not run.", quoteName(a.Name), ct)}
		}
		if isImage(ct) && len(data) <= MaxImageBytes {
			images = append(images, Image{MediaType: ct, Data: data})
			continue
		}
		if workspaceRO {
			return nil, nil, &fileRefusal{fmt.Sprintf("📎 This agent's workspace is read-only, so it takes images but not other files (%s); the message was not run.", quoteName(a.Name))}
		}
		files = append(files, inboxFile{name: uniqueName(SanitizeFileName(a.Name), used), ct: ct, data: data})
	}
	return images, files, nil
}

func isImage(ct string) bool {
	for _, t := range imageTypes {
		if ct == t {
			return true
		}
	}
	return false
}

// SanitizeFileName makes a file name a person sent safe to create in a
// directory: the last path element only, no control, format or
// separator characters, no leading dots or spaces, at most 100 bytes
// (the extension kept), never empty.
func SanitizeFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == '/', r == '\\', r == ':',
			r == '*', r == '?', r == '"', r == '<', r == '>', r == '|':
			b.WriteRune('_')
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	s := strings.TrimLeft(strings.TrimSpace(b.String()), ". ")
	s = strings.TrimRight(s, ". ")
	if len(s) > maxNameBytes {
		ext := path.Ext(s)
		if len(ext) > 16 || !utf8.ValidString(ext) {
			ext = ""
		}
		stem := s[:maxNameBytes-len(ext)]
		for !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
		s = strings.TrimRight(stem, ". ") + ext
	}
	if s == "" {
		s = "file"
	}
	return s
}

// uniqueName returns name, or "stem (2).ext" and so on when it is taken
// (case-insensitively) in used; it records the name.
func uniqueName(name string, used map[string]bool) string {
	out := name
	for i := 2; used[strings.ToLower(out)]; i++ {
		ext := path.Ext(name)
		out = strings.TrimSuffix(name, ext) + fmt.Sprintf(" (%d)", i) + ext
	}
	used[strings.ToLower(out)] = true
	return out
}

// quoteName shows a person's file name in chat: sanitised, in quotes.
func quoteName(name string) string { return "“" + truncate(SanitizeFileName(name), 60) + "”" }

func bytesText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// filesPrompt is what the prompt says about the files of a message.
func filesPrompt(dir string, images []Image, files []inboxFile) string {
	var b strings.Builder
	if len(files) > 0 {
		fmt.Fprintf(&b, "\n\n[The person attached %d file(s); herdbot saved them in your workspace:", len(files))
		for _, f := range files {
			fmt.Fprintf(&b, "\n- %s/%s (%s, %s)", dir, f.name, f.ct, bytesText(int64(len(f.data))))
		}
		b.WriteString("]")
	}
	if len(images) > 0 {
		fmt.Fprintf(&b, "\n\n[The person attached %d image(s); they are included in this message.]", len(images))
	}
	return b.String()
}

// filesDetail is the audit detail of a message's files: names, types,
// sizes and sha256, never contents.
func filesDetail(job, dir string, images []Image, files []inboxFile) string {
	type item struct {
		Name   string `json:"name,omitempty"`
		Type   string `json:"type"`
		Size   int    `json:"size"`
		SHA256 string `json:"sha256"`
	}
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	var items []item
	for _, im := range images {
		items = append(items, item{Type: im.MediaType, Size: len(im.Data), SHA256: sum(im.Data)})
	}
	for _, f := range files {
		items = append(items, item{Name: dir + "/" + f.name, Type: f.ct, Size: len(f.data), SHA256: sum(f.data)})
	}
	d, _ := json.Marshal(map[string]any{"job": job, "files": items})
	return string(d)
}

// fetchTimeout bounds the downloads of one message's files.
const fetchTimeout = 5 * time.Minute

// takeFiles downloads in's files and readies p to run with them: images
// in p.images, other files saved under inbox/<job id>/ and named in the
// prompt. When the files are refused (limits, types, a download that
// failed, an inbox that is not a plain folder) the person is told why,
// nothing is saved, and ok is false: the message does not run.
func (f *Fleet) takeFiles(ctx context.Context, a *agentState, in bot.Inbound, p runParams) (runParams, bool) {
	s := a.spec
	actor := chatUser(in)
	refuse := func(text, why string) (runParams, bool) {
		f.audit(ctx, AuditEntry{Time: f.now(), Agent: s.Name, Actor: actor, Action: "files.refused", Subject: in.Target.Key(),
			Detail: f.red.String(why)})
		f.say(ctx, a, in.Target, text)
		return p, false
	}
	fctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	images, files, err := fetchFiles(fctx, s.Files, in.Attachments, s.Sandbox.WorkspaceReadOnly)
	cancel()
	var fr *fileRefusal
	switch {
	case errors.As(err, &fr):
		return refuse(fr.text, fr.text)
	case err != nil:
		f.log.Warn("chat files not downloaded", "agent", s.Name, "err", err)
		return refuse("📎 herdbot could not download the files of this message, so it did not run it. Please send it again.", err.Error())
	}
	p.jobID = newID("j-")
	dir := InboxDir + "/" + p.jobID
	if len(files) > 0 {
		if s.Sandbox.Workspace == "" {
			return refuse("📎 This agent has no workspace to save files in; the message was not run.", "no workspace")
		}
		if err := saveInbox(s.Sandbox.Workspace, p.jobID, files); err != nil {
			f.log.Warn("chat files not saved", "agent", s.Name, "err", err)
			return refuse("📎 herdbot could not save the files in the agent's workspace ("+truncate(f.red.String(err.Error()), 200)+
				"); nothing was saved and the message was not run.", err.Error())
		}
	}
	p.images = images
	p.prompt = strings.TrimSpace(p.prompt + filesPrompt(dir, images, files))
	f.audit(ctx, AuditEntry{Time: f.now(), Agent: s.Name, Actor: actor, Action: "files.received", Subject: p.jobID,
		Detail: filesDetail(p.jobID, dir, images, files)})
	return p, true
}
