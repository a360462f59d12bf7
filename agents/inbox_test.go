package agents

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/bot"
)

func TestSanitizeFileName(t *testing.T) {
	long := strings.Repeat("é", 80) + ".txt"
	for _, c := range []struct{ in, want string }{
		{"notes.txt", "notes.txt"},
		{"../../etc/passwd", "passwd"},
		{`..\..\boot.ini`, "boot.ini"},
		{".env", "env"},
		{"...", "file"},
		{"", "file"},
		{" .bashrc ", "bashrc"},
		{"a\x00b\nc\u202e.txt", "a_b_c_.txt"},
		{"re:port?.md", "re_port_.md"},
		{"trailing. ", "trailing"},
	} {
		if got := SanitizeFileName(c.in); got != c.want {
			t.Errorf("SanitizeFileName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	got := SanitizeFileName(long)
	if len(got) > maxNameBytes || !strings.HasSuffix(got, ".txt") || !strings.HasPrefix(got, "éé") {
		t.Errorf("long name: %q (%d bytes), want at most %d bytes ending .txt", got, len(got), maxNameBytes)
	}
}

func TestUniqueName(t *testing.T) {
	used := map[string]bool{}
	var got []string
	for _, n := range []string{"a.txt", "A.txt", "a.txt", "b"} {
		got = append(got, uniqueName(n, used))
	}
	want := []string{"a.txt", "A (2).txt", "a (3).txt", "b"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func attachment(name string, data []byte) bot.Attachment {
	return bot.Attachment{Name: name, Size: int64(len(data)), Fetch: func(_ context.Context, max int64) ([]byte, error) {
		if int64(len(data)) > max {
			return nil, bot.ErrTooLarge
		}
		return data, nil
	}}
}

// pngBytes is the start of a PNG file (enough for http.DetectContentType).
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 32)...)

func TestFetchFilesSortsAndRefuses(t *testing.T) {
	l := FileLimits{}
	l.defaults()
	ctx := context.Background()
	// An image declared as text is sniffed as an image; text declared as
	// an image is saved as a file.
	png := attachment("pic.txt", pngBytes)
	txt := attachment("notes.png", []byte("hello\n"))
	txt.ContentType = "image/png"
	images, files, err := fetchFiles(ctx, l, []bot.Attachment{png, txt}, false)
	if err != nil || len(images) != 1 || images[0].MediaType != "image/png" || len(files) != 1 ||
		files[0].name != "notes.png" || files[0].ct != "text/plain" {
		t.Fatalf("images %+v files %+v err %v", images, files, err)
	}

	refused := func(name string, l FileLimits, as []bot.Attachment, ro bool, want string) {
		t.Helper()
		_, _, err := fetchFiles(ctx, l, as, ro)
		var fr *fileRefusal
		if !errors.As(err, &fr) || !strings.Contains(fr.text, want) {
			t.Errorf("%s: err %v, want a refusal saying %q", name, err, want)
		}
	}
	small := l
	small.MaxFile = 4
	refused("declared too large", small, []bot.Attachment{attachment("big.txt", []byte("12345"))}, false, "per file")
	lying := attachment("big.txt", []byte("12345"))
	lying.Size = 1 // declares less than it is: the download is cut at the limit
	refused("download too large", small, []bot.Attachment{lying}, false, "over this agent's limits")
	few := l
	few.MaxCount = 1
	refused("count", few, []bot.Attachment{png, txt}, false, "more than this agent takes")
	per := l
	per.MaxMessage = 8
	refused("message total", per, []bot.Attachment{attachment("a.txt", []byte("12345")), attachment("b.txt", []byte("12345"))}, false, "per message")
	refused("type", l, []bot.Attachment{attachment("x.bin", []byte{0, 1, 2, 3, 0xff, 0xfe})}, false, "a type this agent does not take")
	refused("read-only workspace", l, []bot.Attachment{txt}, true, "read-only")
	off := l
	off.Disabled = true
	refused("disabled", off, []bot.Attachment{txt}, false, "does not take files")
	if _, _, err := fetchFiles(ctx, l, []bot.Attachment{png}, true); err != nil {
		t.Errorf("an image for a read-only workspace: %v", err)
	}
	only := l
	only.Types = []string{"text/*"}
	refused("images not allowed", only, []bot.Attachment{png}, false, "image/png")
}

func TestSaveInbox(t *testing.T) {
	ws := t.TempDir()
	files := []inboxFile{{name: "a.txt", data: []byte("A")}, {name: "b (2).md", data: []byte("B")}}
	if err := saveInbox(ws, "j-1", files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(ws, InboxDir, "j-1", f.name))
		if err != nil || !bytes.Equal(b, f.data) {
			t.Fatalf("%s: %q %v", f.name, b, err)
		}
	}
	// The message's folder is new: an existing one is not written into.
	if err := saveInbox(ws, "j-1", files[:1]); err == nil {
		t.Fatal("saved into an existing folder")
	}
}

// TestSaveInboxFollowsNoLink: the agent can plant links in its workspace;
// herdbot's writes never follow them, and nothing is left behind.
func TestSaveInboxFollowsNoLink(t *testing.T) {
	files := []inboxFile{{name: "a.txt", data: []byte("A")}}
	t.Run("inbox is a link", func(t *testing.T) {
		ws, outside := t.TempDir(), t.TempDir()
		if err := os.Symlink(outside, filepath.Join(ws, InboxDir)); err != nil {
			t.Fatal(err)
		}
		err := saveInbox(ws, "j-1", files)
		if !errors.Is(err, errInboxNotDir) {
			t.Fatalf("err %v, want errInboxNotDir", err)
		}
		if es, _ := os.ReadDir(outside); len(es) != 0 {
			t.Fatalf("written through the link: %v", es)
		}
	})
	t.Run("inbox is a link inside the workspace", func(t *testing.T) {
		ws := t.TempDir()
		if err := os.Symlink(".", filepath.Join(ws, InboxDir)); err != nil {
			t.Fatal(err)
		}
		if err := saveInbox(ws, "j-1", files); !errors.Is(err, errInboxNotDir) {
			t.Fatalf("err %v, want errInboxNotDir", err)
		}
		if _, err := os.Lstat(filepath.Join(ws, "j-1")); err == nil {
			t.Fatal("a folder was made through the link")
		}
	})
	t.Run("the message's folder is a link", func(t *testing.T) {
		ws, outside := t.TempDir(), t.TempDir()
		if err := os.Mkdir(filepath.Join(ws, InboxDir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(ws, InboxDir, "j-1")); err != nil {
			t.Fatal(err)
		}
		if err := saveInbox(ws, "j-1", files); err == nil {
			t.Fatal("saved through a planted folder link")
		}
		if es, _ := os.ReadDir(outside); len(es) != 0 {
			t.Fatalf("written through the link: %v", es)
		}
	})
	t.Run("inbox is a file", func(t *testing.T) {
		ws := t.TempDir()
		if err := os.WriteFile(filepath.Join(ws, InboxDir), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := saveInbox(ws, "j-1", files); err == nil {
			t.Fatal("saved with a file named inbox")
		}
	})
	t.Run("nothing partial", func(t *testing.T) {
		ws := t.TempDir()
		// The second name cannot be created (a directory name with a
		// slash is refused by the kernel): the first is removed again.
		bad := append(files, inboxFile{name: "x/y", data: []byte("Y")})
		if err := saveInbox(ws, "j-1", bad); err == nil {
			t.Fatal("no error")
		}
		if _, err := os.Lstat(filepath.Join(ws, InboxDir, "j-1")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the message's folder is left: %v", err)
		}
	})
}
