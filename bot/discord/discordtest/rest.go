package discordtest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := "/api/v" + discordgo.APIVersion
	mux.HandleFunc("GET /gateway/", s.serveGateway)
	mux.HandleFunc("GET /gateway", s.serveGateway)
	mux.HandleFunc("GET "+api+"/gateway", s.open(s.getGateway))
	mux.HandleFunc("GET "+api+"/gateway/bot", s.bot(s.getGateway))
	mux.HandleFunc("GET "+api+"/users/@me", s.bot(s.getMe))
	mux.HandleFunc("POST "+api+"/users/@me/channels", s.bot(s.createDM))
	mux.HandleFunc("GET "+api+"/channels/{ch}", s.bot(s.getChannel))
	mux.HandleFunc("POST "+api+"/channels/{ch}/messages", s.bot(s.createMessage))
	mux.HandleFunc("PATCH "+api+"/channels/{ch}/messages/{id}", s.bot(s.editMessage))
	mux.HandleFunc("DELETE "+api+"/channels/{ch}/messages/{id}", s.bot(s.deleteMessage))
	mux.HandleFunc("PUT "+api+"/channels/{ch}/messages/{id}/reactions/{emoji}/@me", s.bot(s.addReaction))
	mux.HandleFunc("POST "+api+"/channels/{ch}/typing", s.bot(s.typing))
	mux.HandleFunc("GET "+api+"/guilds/{g}/members/{u}", s.bot(s.getMember))
	mux.HandleFunc("PUT "+api+"/applications/{app}/commands", s.bot(s.putCommands))
	mux.HandleFunc("PUT "+api+"/applications/{app}/guilds/{g}/commands", s.bot(s.putCommands))
	mux.HandleFunc("GET "+api+"/applications/{app}/commands", s.bot(s.getCommands))
	mux.HandleFunc("GET "+api+"/applications/{app}/guilds/{g}/commands", s.bot(s.getCommands))
	mux.HandleFunc("POST "+api+"/interactions/{id}/{token}/callback", s.open(s.callback))
	mux.HandleFunc("POST "+api+"/webhooks/{app}/{token}", s.open(s.followup))
	mux.HandleFunc("PATCH "+api+"/webhooks/{app}/{token}/messages/{id}", s.open(s.webhookEdit))
	mux.HandleFunc("DELETE "+api+"/webhooks/{app}/{token}/messages/{id}", s.open(s.webhookDelete))
	mux.HandleFunc("GET /attachments/{ch}/{id}/{name}", s.serveAttachment)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(r, nil, http.StatusNotFound, nil)
		apiError(w, http.StatusNotFound, 0, "404: Not Found")
	})
	return mux
}

// request is what a REST handler gets: the parsed body and the calling bot
// (nil on token-authenticated webhook and interaction routes).
type request struct {
	r     *http.Request
	bot   *Bot
	body  []byte // JSON (payload_json for multipart)
	files []Attachment
}

type handler func(w http.ResponseWriter, q *request) int

// bot wraps a route that needs "Authorization: Bot <token>".
func (s *Server) bot(h handler) http.HandlerFunc {
	return s.serve(h, true)
}

// open wraps a route authenticated by the token in its URL.
func (s *Server) open(h handler) http.HandlerFunc {
	return s.serve(h, false)
}

func (s *Server) serve(h handler, auth bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := &request{r: r}
		if auth {
			tok := r.Header.Get("Authorization")
			q.bot = s.botByToken(tok)
			if q.bot == nil || !strings.HasPrefix(tok, "Bot ") {
				s.record(r, nil, http.StatusUnauthorized, nil)
				apiError(w, http.StatusUnauthorized, 0, "401: Unauthorized")
				return
			}
		}
		if err := q.parse(); err != nil {
			s.record(r, q.bot, http.StatusBadRequest, nil)
			apiError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
			return
		}
		s.held(r.Method, apiPath(r))
		if status, ok := s.failing(r.Method, apiPath(r), q.body); ok {
			s.record(r, q.bot, status, q.body)
			apiError(w, status, 0, strconv.Itoa(status)+": "+http.StatusText(status))
			return
		}
		var rs rateState
		wait, limited := s.rateLimited(r.Method, apiPath(r))
		if limited {
			_, route := routeKey(r.Method, apiPath(r))
			rs = rateState{limit: 1, resetAfter: wait, bucket: bucketHash(route)}
		} else {
			rs, limited = s.bucketLimited(r.Method, apiPath(r))
		}
		setRateHeaders(w, rs)
		if limited {
			s.record(r, q.bot, http.StatusTooManyRequests, q.body)
			w.Header().Set("Retry-After", retryAfterHeader(rs.resetAfter))
			w.Header().Set("X-RateLimit-Scope", "user")
			writeJSON(w, http.StatusTooManyRequests, map[string]any{
				"message": "You are being rate limited.", "retry_after": rs.resetAfter.Seconds(), "global": false})
			return
		}
		status := h(w, q)
		if status < 300 {
			s.checkMentions(r.Method, apiPath(r), q.body)
		}
		s.record(r, q.bot, status, q.body)
	}
}

func (q *request) parse() error {
	ct, params, _ := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		b, err := io.ReadAll(q.r.Body)
		q.body = b
		if err == nil && len(b) > 0 && !json.Valid(b) {
			return fmt.Errorf("invalid json")
		}
		return err
	}
	mr := multipart.NewReader(q.r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return err
		}
		switch name := p.FormName(); {
		case name == "payload_json":
			q.body = data
		case strings.HasPrefix(name, "files["):
			q.files = append(q.files, Attachment{Filename: p.FileName(), Data: data})
		}
	}
}

func apiPath(r *http.Request) string {
	return strings.TrimPrefix(r.URL.Path, "/api/v"+discordgo.APIVersion)
}

func (s *Server) record(r *http.Request, b *Bot, status int, body []byte) {
	name := ""
	if b != nil {
		name = b.User.Name
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Time: time.Now(), Bot: name, Method: r.Method, Path: apiPath(r), Status: status, Body: string(body)})
	s.notify()
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
	return status
}

func apiError(w http.ResponseWriter, status, code int, msg string) int {
	return writeJSON(w, status, map[string]any{"code": code, "message": msg})
}

func noContent(w http.ResponseWriter) int {
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// rateLimit answers the next n requests matching method and pattern with 429.
type rateLimit struct {
	method, pattern string
	n               int
	wait            time.Duration
}

// RateLimitNext makes the next n requests with this method whose path
// (without /api/v9) matches pattern (path.Match syntax, e.g.
// "/channels/*/messages") fail with 429 and retry_after = wait.
func (s *Server) RateLimitNext(method, pattern string, n int, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = append(s.limits, &rateLimit{method: method, pattern: pattern, n: n, wait: wait})
}

func (s *Server) rateLimited(method, p string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.limits {
		if l.n > 0 && l.method == method && matchPath(l.pattern, p) {
			l.n--
			return l.wait, true
		}
	}
	return 0, false
}

func matchPath(pattern, p string) bool {
	ok, _ := path.Match(pattern, p)
	return ok
}

func (s *Server) getGateway(w http.ResponseWriter, q *request) int {
	return writeJSON(w, http.StatusOK, map[string]any{"url": s.gatewayURL(), "shards": 1,
		"session_start_limit": map[string]any{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})
}

func (s *Server) getMe(w http.ResponseWriter, q *request) int {
	return writeJSON(w, http.StatusOK, q.bot.User.wire())
}

func (s *Server) createDM(w http.ResponseWriter, q *request) int {
	var body struct {
		RecipientID string `json:"recipient_id"`
	}
	json.Unmarshal(q.body, &body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[body.RecipientID] == nil {
		return apiError(w, http.StatusBadRequest, 50035, "Invalid Form Body: recipient_id")
	}
	c := s.channels[s.openDM(q.bot.User.ID, body.RecipientID)]
	m := c.wire()
	m["recipients"] = []any{s.users[body.RecipientID].wire()}
	return writeJSON(w, http.StatusOK, m)
}

// canSee reports whether bot b may use channel c. Callers hold s.mu.
func (s *Server) canSee(b *Bot, c *channel) bool {
	if c == nil {
		return false
	}
	if c.typ == discordgo.ChannelTypeDM {
		return c.dmBot == b.User.ID
	}
	_, ok := s.guilds[c.guild].members[b.User.ID]
	return ok
}

func (s *Server) getChannel(w http.ResponseWriter, q *request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[q.r.PathValue("ch")]
	if c == nil {
		return apiError(w, http.StatusNotFound, 10003, "Unknown Channel")
	}
	if !s.canSee(q.bot, c) {
		return apiError(w, http.StatusForbidden, 50001, "Missing Access")
	}
	return writeJSON(w, http.StatusOK, c.wire())
}

func (s *Server) getMember(w http.ResponseWriter, q *request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.guilds[q.r.PathValue("g")]
	if g == nil {
		return apiError(w, http.StatusNotFound, 10004, "Unknown Guild")
	}
	if _, ok := g.members[q.bot.User.ID]; !ok {
		return apiError(w, http.StatusForbidden, 50001, "Missing Access")
	}
	roles, ok := g.members[q.r.PathValue("u")]
	u := s.users[q.r.PathValue("u")]
	if !ok || u == nil {
		return apiError(w, http.StatusNotFound, 10007, "Unknown Member")
	}
	return writeJSON(w, http.StatusOK, map[string]any{"user": u.wire(), "roles": nzs(roles), "joined_at": "2026-11-22T00:00:00Z"})
}

func (s *Server) createMessage(w http.ResponseWriter, q *request) int {
	body, err := parseMessageBody(q.body)
	if err == nil {
		err = body.validate(true, len(q.files))
	}
	if err != nil {
		return err.write(w, http.StatusBadRequest)
	}
	s.mu.Lock()
	c := s.channels[q.r.PathValue("ch")]
	if c == nil {
		s.mu.Unlock()
		return apiError(w, http.StatusNotFound, 10003, "Unknown Channel")
	}
	if !s.canSee(q.bot, c) {
		s.mu.Unlock()
		return apiError(w, http.StatusForbidden, 50001, "Missing Access")
	}
	m := &Message{ID: s.id(), ChannelID: c.id, GuildID: c.guild, Author: q.bot.User, Time: time.Now()}
	body.apply(m)
	s.addFiles(m, q.files)
	s.messages[c.id] = append(s.messages[c.id], m)
	out := s.wireMessage(m)
	s.mu.Unlock()
	s.dispatchMessage(m)
	return writeJSON(w, http.StatusOK, out)
}

// addFiles stores uploaded files on m. Callers hold s.mu.
func (s *Server) addFiles(m *Message, files []Attachment) {
	for _, f := range files {
		f.ID = s.id()
		m.Attachments = append(m.Attachments, f)
	}
}

func (s *Server) editMessage(w http.ResponseWriter, q *request) int {
	body, err := parseMessageBody(q.body)
	if err == nil {
		err = body.validate(false, len(q.files))
	}
	if err != nil {
		return err.write(w, http.StatusBadRequest)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.findMessage(q.r.PathValue("ch"), q.r.PathValue("id"))
	if m == nil {
		return apiError(w, http.StatusNotFound, 10008, "Unknown Message")
	}
	if m.Author.ID != q.bot.User.ID {
		return apiError(w, http.StatusForbidden, 50005, "Cannot edit a message authored by another user")
	}
	body.apply(m)
	s.addFiles(m, q.files)
	m.Edits++
	s.notify()
	return writeJSON(w, http.StatusOK, s.wireMessage(m))
}

func (s *Server) deleteMessage(w http.ResponseWriter, q *request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := q.r.PathValue("ch")
	for i, m := range s.messages[ch] {
		if m.ID == q.r.PathValue("id") {
			if m.Author.ID != q.bot.User.ID {
				return apiError(w, http.StatusForbidden, 50013, "Missing Permissions")
			}
			s.messages[ch] = append(s.messages[ch][:i], s.messages[ch][i+1:]...)
			s.notify()
			return noContent(w)
		}
	}
	return apiError(w, http.StatusNotFound, 10008, "Unknown Message")
}

func (s *Server) addReaction(w http.ResponseWriter, q *request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[q.r.PathValue("ch")]
	if !s.canSee(q.bot, c) {
		return apiError(w, http.StatusForbidden, 50001, "Missing Access")
	}
	m := s.findMessage(c.id, q.r.PathValue("id"))
	if m == nil {
		return apiError(w, http.StatusNotFound, 10008, "Unknown Message")
	}
	m.Reactions = append(m.Reactions, q.r.PathValue("emoji"))
	s.notify()
	return noContent(w)
}

func (s *Server) typing(w http.ResponseWriter, q *request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[q.r.PathValue("ch")]
	if c == nil {
		return apiError(w, http.StatusNotFound, 10003, "Unknown Channel")
	}
	if !s.canSee(q.bot, c) {
		return apiError(w, http.StatusForbidden, 50001, "Missing Access")
	}
	return noContent(w)
}

// bodyError is a Discord API error. Form errors (code 50035) name the
// field (path, dotted as "components.0.custom_id") and what is wrong with it
// (detail), and are written in the v8+ shape (see write).
type bodyError struct {
	code   int
	msg    string
	path   string
	errc   string // e.g. BASE_TYPE_MAX_LENGTH
	detail string
}

func (e *bodyError) Error() string { return e.msg }

// messageBody is the part of a message create/edit body the fake checks.
type messageBody struct {
	Content         *string          `json:"content"`
	Components      *[]wireRow       `json:"components"`
	Flags           int              `json:"flags"`
	Embeds          *[]wireEmbed     `json:"embeds"`
	AllowedMentions *allowedMentions `json:"allowed_mentions"`
}

type wireRow struct {
	Type       int        `json:"type"`
	Components []wireComp `json:"components"`
}

type wireComp struct {
	Type     int    `json:"type"`
	Style    int    `json:"style"`
	Label    string `json:"label"`
	CustomID string `json:"custom_id"`
	URL      string `json:"url"`
	Disabled bool   `json:"disabled"`
}

func parseMessageBody(raw []byte) (*messageBody, *bodyError) {
	var b messageBody
	if len(raw) == 0 {
		return &b, nil
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, formError("", "MODEL_TYPE_CONVERT", err.Error())
	}
	return &b, nil
}

// validate applies Discord's limits: content ≤ 2,000 characters; ≤ 5 action
// rows of ≤ 5 buttons; custom_id 1–100 characters, unique; label ≤ 80; a
// new message must not be empty.
func (b *messageBody) validate(create bool, files int) *bodyError {
	bad := func(f string, a ...any) *bodyError {
		path, detail, _ := strings.Cut(fmt.Sprintf(f, a...), ": ")
		return formError(path, errorCode(detail), detail)
	}
	if err := b.validateEmbeds(); err != nil {
		return err
	}
	if b.Content != nil && len([]rune(*b.Content)) > 2000 {
		return bad("content: Must be 2000 or fewer in length.")
	}
	if b.Components != nil {
		rows := *b.Components
		if len(rows) > 5 {
			return bad("components: Must be 5 or fewer in length.")
		}
		ids := map[string]bool{}
		for i, r := range rows {
			if r.Type != 1 {
				return bad("components.%d.type: Value must be an action row (1).", i)
			}
			if len(r.Components) == 0 || len(r.Components) > 5 {
				return bad("components.%d.components: Must be between 1 and 5 in length.", i)
			}
			for j, c := range r.Components {
				at := fmt.Sprintf("components.%d.components.%d", i, j)
				if c.Type != 2 {
					return bad("%s.type: Only buttons are supported by the fake here.", at)
				}
				if len([]rune(c.Label)) > 80 {
					return bad("%s.label: Must be 80 or fewer in length.", at)
				}
				if c.Style == int(discordgo.LinkButton) {
					if c.URL == "" || c.CustomID != "" {
						return bad("%s.url: a link button needs a url and no custom_id", at)
					}
					continue
				}
				if c.Style < 1 || c.Style > 4 {
					return bad("%s.style: Value must be one of (1, 2, 3, 4, 5, 6).", at)
				}
				if n := len([]rune(c.CustomID)); n < 1 || n > 100 {
					return bad("%s.custom_id: Must be between 1 and 100 in length.", at)
				}
				if ids[c.CustomID] {
					return bad("%s.custom_id: Component custom id cannot be duplicated", at)
				}
				ids[c.CustomID] = true
			}
		}
	}
	if create && (b.Content == nil || *b.Content == "") && (b.Components == nil || len(*b.Components) == 0) &&
		(b.Embeds == nil || len(*b.Embeds) == 0) && files == 0 {
		return &bodyError{code: 50006, msg: "Cannot send an empty message"}
	}
	return nil
}

// apply sets the fields the body carries on m.
func (b *messageBody) apply(m *Message) {
	if b.Content != nil {
		m.Content = *b.Content
		m.Pings = b.pings()
	}
	if b.Components != nil {
		m.Rows = nil
		for _, r := range *b.Components {
			var row Row
			for _, c := range r.Components {
				row.Buttons = append(row.Buttons, Button{Label: c.Label, Style: c.Style, CustomID: c.CustomID, URL: c.URL, Disabled: c.Disabled})
			}
			m.Rows = append(m.Rows, row)
		}
	}
	m.Loading = false
}
