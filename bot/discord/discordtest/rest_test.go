package discordtest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/herdbot/herdbot/bot/discord/discordtest"
)

// formErrors returns the v8 "errors" object of a 400 and its code.
func formErrors(t *testing.T, err error) (int, map[string]any) {
	t.Helper()
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		t.Fatalf("want a REST error, got %v", err)
	}
	var body struct {
		Code    int            `json:"code"`
		Message string         `json:"message"`
		Errors  map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(re.ResponseBody, &body); err != nil {
		t.Fatalf("error body %s: %v", re.ResponseBody, err)
	}
	if re.Message == nil || re.Message.Code != body.Code || body.Message == "" {
		t.Fatalf("discordgo did not parse the error body %s", re.ResponseBody)
	}
	return body.Code, body.Errors
}

// leaf follows a dotted path through a v8 errors object to its first
// _errors entry's code.
func leaf(errs map[string]any, path string) string {
	var cur any = errs
	for _, p := range strings.Split(path, ".") {
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	m, _ := cur.(map[string]any)
	list, _ := m["_errors"].([]any)
	if len(list) == 0 {
		return ""
	}
	e, _ := list[0].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestV8ErrorBodies(t *testing.T) {
	s, _, ch := setup(t)
	_, err := s.ChannelMessageSend(ch, strings.Repeat("x", 2001))
	code, errs := formErrors(t, err)
	if code != 50035 || leaf(errs, "content") != "BASE_TYPE_MAX_LENGTH" {
		t.Errorf("content too long: code %d, errors %v", code, errs)
	}
	_, err = s.ChannelMessageSendComplex(ch, &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{
		buttons(2, func(int) string { return "same" })}})
	if code, errs := formErrors(t, err); code != 50035 || leaf(errs, "components.0.components.1.custom_id") != "COMPONENT_CUSTOM_ID_DUPLICATED" {
		t.Errorf("duplicate custom_id: code %d, errors %v", code, errs)
	}
}

func TestEmbedLimits(t *testing.T) {
	s, _, ch := setup(t)
	for _, tc := range []struct {
		name   string
		embeds []*discordgo.MessageEmbed
		path   string
	}{
		{"eleven embeds", make11(), "embeds"},
		{"long description", []*discordgo.MessageEmbed{{Description: strings.Repeat("d", 4097)}}, "embeds.0.description"},
		{"long title", []*discordgo.MessageEmbed{{Title: strings.Repeat("t", 257)}}, "embeds.0.title"},
		{"long field", []*discordgo.MessageEmbed{{Fields: []*discordgo.MessageEmbedField{{Name: "n", Value: strings.Repeat("v", 1025)}}}}, "embeds.0.fields.0.value"},
		{"6,001 in all", []*discordgo.MessageEmbed{{Description: strings.Repeat("d", 4000)}, {Description: strings.Repeat("d", 2001)}}, "embeds"},
	} {
		_, err := s.ChannelMessageSendComplex(ch, &discordgo.MessageSend{Embeds: tc.embeds})
		if code, errs := formErrors(t, err); code != 50035 || leaf(errs, tc.path) == "" {
			t.Errorf("%s: code %d, errors %v; want one at %s", tc.name, code, errs, tc.path)
		}
	}
	if _, err := s.ChannelMessageSendComplex(ch, &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Title: "ok", Description: "fine"}}}); err != nil {
		t.Errorf("a valid embed was refused: %v", err)
	}
}

func make11() []*discordgo.MessageEmbed {
	out := make([]*discordgo.MessageEmbed, 11)
	for i := range out {
		out[i] = &discordgo.MessageEmbed{Title: "e"}
	}
	return out
}

func TestMentionsPingUnlessAllowedMentionsSaysNo(t *testing.T) {
	s, _, ch := setup(t)
	before := len(srv.MentionRisks())
	m, err := s.ChannelMessageSend(ch, "@everyone look")
	if err != nil {
		t.Fatal(err)
	}
	if !m.MentionEveryone {
		t.Error("@everyone without allowed_mentions did not ping")
	}
	risks := srv.MentionRisks()[before:]
	if len(risks) != 1 || !strings.Contains(risks[0].Reason, "without allowed_mentions") {
		t.Errorf("risks %+v", risks)
	}
	safe := &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeUsers}}
	m, err = s.ChannelMessageSendComplex(ch, &discordgo.MessageSend{Content: "@everyone look", AllowedMentions: safe})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Message(ch, m.ID); m.MentionEveryone || len(got.Pings) != 0 {
		t.Errorf("pinged %v with parse [users]", got.Pings)
	}
	everyone := &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeEveryone}}
	if _, err := s.ChannelMessageSendComplex(ch, &discordgo.MessageSend{Content: "hi", AllowedMentions: everyone}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.MentionRisks()) - before; n != 2 {
		t.Errorf("%d risks, want 2 (parse everyone counts even when this text has no @everyone)", n)
	}
}

func TestRateLimitHeadersOnEveryResponse(t *testing.T) {
	b := srv.AddBot("headers")
	g := srv.AddGuild("g")
	srv.AddMember(g, b.User.ID)
	ch := srv.AddChannel(g, "general")
	do := func(method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, strings.TrimSuffix(srv.APIURL(), "/")+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bot "+b.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/channels/" + ch + "/messages", `{"content":"hi","allowed_mentions":{"parse":[]}}`, 200},
		{"POST", "/channels/" + ch + "/messages", `{"content":""}`, 400},
		{"GET", "/channels/" + ch, "", 200},
		{"GET", "/channels/999", "", 404},
	} {
		resp := do(tc.method, tc.path, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Reset-After", "X-RateLimit-Bucket"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("%s %s (%d): no %s header", tc.method, tc.path, resp.StatusCode, h)
			}
		}
	}

	remove := srv.AddBucket(discordtest.Bucket{Method: "POST", Pattern: "/channels/" + ch + "/typing", Limit: 1, Window: 1500 * time.Millisecond})
	defer remove()
	if r := do("POST", "/channels/"+ch+"/typing", ""); r.StatusCode != 204 || r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("first typing: %d, remaining %q", r.StatusCode, r.Header.Get("X-RateLimit-Remaining"))
	}
	req, _ := http.NewRequest("POST", strings.TrimSuffix(srv.APIURL(), "/")+"/channels/"+ch+"/typing", nil)
	req.Header.Set("Authorization", "Bot "+b.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Message    string  `json:"message"`
		RetryAfter float64 `json:"retry_after"`
		Global     *bool   `json:"global"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || body.RetryAfter != 1.5 || body.Global == nil || body.Message == "" {
		t.Errorf("429: status %d, Retry-After %q (want whole seconds, rounded up), body %+v", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp.Header.Get("X-RateLimit-Remaining") != "0" || resp.Header.Get("X-RateLimit-Reset-After") != "1.500" {
		t.Errorf("429 headers: remaining %q, reset-after %q", resp.Header.Get("X-RateLimit-Remaining"), resp.Header.Get("X-RateLimit-Reset-After"))
	}
}

func TestFollowupsAreWebhooksAndTokensExpire(t *testing.T) {
	s, b, ch := setup(t)
	if _, err := s.ApplicationCommandBulkOverwrite(b.AppID, "", []*discordgo.ApplicationCommand{{Name: "ask", Description: "ask"}}); err != nil {
		t.Fatal(err)
	}
	u := srv.AddUser("asker")
	in, err := srv.SlashCommand(b, u.ID, ch, "ask", nil)
	if err != nil {
		t.Fatal(err)
	}
	i := &discordgo.Interaction{ID: in.ID, AppID: b.AppID, Token: in.Token}
	if err := s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}); err != nil {
		t.Fatal(err)
	}
	none := &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
	m, err := s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "with wait", AllowedMentions: none})
	if err != nil || m == nil || m.ID == "" || m.Content != "with wait" {
		t.Fatalf("follow-up with wait=true: %+v, %v; want the message", m, err)
	}
	if m, err := s.FollowupMessageCreate(i, false, &discordgo.WebhookParams{Content: "no wait", AllowedMentions: none}); err != nil || m != nil {
		t.Fatalf("follow-up without wait: %+v, %v; want 204 and no message", m, err)
	}
	calls := srv.CallsTo("POST", "/webhooks/*/*")
	if len(calls) != 2 || calls[0].Status != 200 || calls[1].Status != 204 || calls[0].Bot != "limits" {
		t.Errorf("follow-up calls %+v", calls)
	}

	clk.advance(discordtest.InteractionTokenLifetime + time.Second)
	_, err = s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "too late", AllowedMentions: none})
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusUnauthorized || re.Message == nil || re.Message.Code != 50027 {
		t.Fatalf("follow-up after 15 minutes: %v, want 401 Invalid Webhook Token (50027)", err)
	}
	if _, err := s.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &m.Content, AllowedMentions: none}); apiCode(err) != 50027 {
		t.Errorf("response edit after 15 minutes: %v, want 50027", err)
	}
}
