package discordtest_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/herdbot/herdbot/bot/discord/discordtest"
)

// identify opens a raw gateway connection, reads HELLO and sends an
// IDENTIFY with token and intents; it returns the connection.
func identify(t *testing.T, token string, intents int) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(strings.TrimSuffix(srv.APIURL(), "/api/v9/"), "http") + "/gateway/?v=9&encoding=json"
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var hello struct {
		Op int `json:"op"`
		D  struct {
			HeartbeatInterval int `json:"heartbeat_interval"`
		} `json:"d"`
	}
	if err := c.ReadJSON(&hello); err != nil || hello.Op != 10 || hello.D.HeartbeatInterval <= 0 {
		t.Fatalf("HELLO %+v, %v", hello, err)
	}
	if err := c.WriteJSON(map[string]any{"op": 2, "d": map[string]any{"token": token, "intents": intents,
		"properties": map[string]string{"os": "linux", "browser": "t", "device": "t"}}}); err != nil {
		t.Fatal(err)
	}
	return c
}

// next reads frames until a close or a dispatch; it returns the close code
// (0 for a dispatch) and the dispatch's type.
func next(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f struct {
			Op int    `json:"op"`
			T  string `json:"t"`
		}
		err := c.ReadJSON(&f)
		if ce, ok := errors.AsType[*websocket.CloseError](err); ok {
			return ce.Code, ""
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if f.Op == 0 {
			return 0, f.T
		}
	}
}

func TestIdentifyTokenForms(t *testing.T) {
	b := srv.AddBot("tokens")
	for _, tc := range []struct {
		token string
		close int
	}{
		{b.Token, 0},                // the spec's form
		{"Bot " + b.Token, 0},       // REST's form, which Discord also takes
		{"Bearer " + b.Token, 4004}, // an OAuth2 token type: not a bot's
		{b.Token + "x", 4004},       // wrong token
		{"", 4004},
	} {
		code, typ := next(t, identify(t, tc.token, 1<<9))
		if code != tc.close || (code == 0 && typ != "READY") {
			t.Errorf("IDENTIFY with %q: close %d, event %q; want close %d", strings.Replace(tc.token, b.Token, "<token>", 1), code, typ, tc.close)
		}
	}
}

func TestDisallowedIntentCloses4014(t *testing.T) {
	b := srv.AddBot("nocontent")
	b.DenyMessageContent()
	if code, _ := next(t, identify(t, b.Token, 1<<9|1<<15)); code != 4014 {
		t.Errorf("IDENTIFY with Message Content not granted: close %d, want 4014", code)
	}
	if code, typ := next(t, identify(t, b.Token, 1<<9)); code != 0 || typ != "READY" {
		t.Errorf("IDENTIFY without it: close %d, event %q; want READY", code, typ)
	}
}

func TestOverdueHeartbeatCloses(t *testing.T) {
	restore := srv.SetHeartbeatInterval(100 * time.Millisecond)
	defer restore()
	b := srv.AddBot("silent")
	c := identify(t, b.Token, 1<<9)
	if code, typ := next(t, c); code != 0 || typ != "READY" {
		t.Fatalf("close %d, event %q", code, typ)
	}
	// This client never heartbeats: the fake must hang up on it.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatal("connection still open 10 s after a 100 ms heartbeat interval")
			}
			break
		}
	}
	if !srv.WaitFor(5*time.Second, func() bool { return b.HeartbeatClosures() == 1 && !b.Ready() }) {
		t.Errorf("closures %d, ready %v", b.HeartbeatClosures(), b.Ready())
	}
}

// TestWithoutMessageContentFieldsAreEmptied: a bot without the Message
// Content intent gets another bot's guild message with content, embeds,
// attachments and components emptied, unless the message mentions it.
func TestWithoutMessageContentFieldsAreEmptied(t *testing.T) {
	g := srv.AddGuild("content")
	author, reader := srv.AddBot("author"), srv.AddBot("reader")
	srv.AddMember(g, author.User.ID)
	srv.AddMember(g, reader.User.ID)
	ch := srv.AddChannel(g, "general")
	c := identify(t, reader.Token, 1<<9) // guild messages, no message content
	if code, typ := next(t, c); code != 0 || typ != "READY" {
		t.Fatalf("close %d, event %q", code, typ)
	}
	row := discordtest.Row{Buttons: []discordtest.Button{{Label: "b", Style: 1, CustomID: "x"}}}
	srv.PostAsBot(author, ch, "secret plans", row)
	srv.PostAsBot(author, ch, "hey <@"+reader.User.ID+"> these plans", row)
	for _, want := range []struct {
		content string
		rows    int
	}{{"", 0}, {"hey <@" + reader.User.ID + "> these plans", 1}} {
		m := nextMessage(t, c)
		if m.Content != want.content || len(m.Components) != want.rows || m.Embeds == nil || m.Attachments == nil {
			t.Errorf("MESSAGE_CREATE %+v; want content %q and %d rows", m, want.content, want.rows)
		}
	}
}

type wireMessage struct {
	Content     string `json:"content"`
	Components  []any  `json:"components"`
	Embeds      []any  `json:"embeds"`
	Attachments []any  `json:"attachments"`
}

// nextMessage reads frames until a MESSAGE_CREATE and returns it.
func nextMessage(t *testing.T, c *websocket.Conn) wireMessage {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f struct {
			T string          `json:"t"`
			D json.RawMessage `json:"d"`
		}
		if err := c.ReadJSON(&f); err != nil {
			t.Fatalf("read: %v", err)
		}
		if f.T == "MESSAGE_CREATE" {
			var m wireMessage
			if err := json.Unmarshal(f.D, &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
}
