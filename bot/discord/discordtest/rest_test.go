package discordtest_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
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
