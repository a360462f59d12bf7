package slacktest

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit limits the fake enforces (Slack's documented limits). A block
// without a block_id gets one, as Slack gives it, so clicks on its buttons
// carry a block_id either way.
const (
	MaxBlocks        = 50
	MaxSectionText   = 3000
	MaxFieldText     = 2000
	MaxFields        = 10
	MaxActionID      = 255
	MaxBlockID       = 255
	MaxButtonValue   = 2000
	MaxButtonText    = 75
	MaxElements      = 25
	MaxContextElems  = 10
	MaxHeaderText    = 150
	MaxMarkdownBlock = 12000
)

// Block is a decoded Block Kit block, enough for assertions.
type Block struct {
	Type     string            `json:"type"`
	BlockID  string            `json:"block_id,omitempty"`
	Text     *Text             `json:"text,omitempty"`
	Fields   []Text            `json:"fields,omitempty"`
	Elements []json.RawMessage `json:"elements,omitempty"`
}

// Text is a Block Kit text object.
type Text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Button is a button element of an actions block.
type Button struct {
	BlockID  string
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
	Style    string `json:"style"`
	Text     Text   `json:"text"`
}

type element struct {
	Type string `json:"type"`
	Button
}

// blockError is a rejection of a message's blocks with Slack-style
// detail; code is the error ("" for invalid_blocks).
type blockError struct{ detail, code string }

func (e blockError) Error() string { return "invalid_blocks: " + e.detail }

func runes(s string) int { return utf8.RuneCountInString(s) }

// parseBlocks decodes and validates a blocks form field ("" is no blocks).
func parseBlocks(raw string) ([]Block, error) {
	if raw == "" {
		return nil, nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &raws); err != nil {
		return nil, blockError{detail: "blocks is not a JSON array: " + err.Error()}
	}
	if len(raws) > MaxBlocks {
		return nil, blockError{detail: fmt.Sprintf("%d blocks, max %d [json-pointer:/blocks]", len(raws), MaxBlocks)}
	}
	blocks := make([]Block, len(raws))
	blockIDs, actionIDs := map[string]bool{}, map[string]bool{}
	markdown := 0 // characters in markdown blocks so far
	for i, r := range raws {
		at := func(format string, a ...any) error {
			return blockError{detail: fmt.Sprintf(format, a...) + fmt.Sprintf(" [json-pointer:/blocks/%d]", i)}
		}
		var head struct {
			Type    string `json:"type"`
			BlockID string `json:"block_id"`
			Text    any    `json:"text"`
		}
		if err := json.Unmarshal(r, &head); err != nil {
			return nil, at("not a block: %v", err)
		}
		if head.Type == "markdown" {
			md, _ := head.Text.(string)
			if md == "" || runes(md) > MaxMarkdownBlock {
				return nil, at("markdown text must be 1..%d chars", MaxMarkdownBlock)
			}
			// The 12,000 characters are for all markdown blocks of a
			// message together.
			if markdown += runes(md); markdown > MaxMarkdownBlock {
				return nil, blockError{fmt.Sprintf("markdown blocks total more than %d characters", MaxMarkdownBlock), "msg_blocks_too_long"}
			}
			blocks[i] = Block{Type: head.Type, BlockID: head.BlockID, Text: &Text{Type: "markdown", Text: md}}
			continue
		}
		if err := json.Unmarshal(r, &blocks[i]); err != nil {
			return nil, at("bad %s block: %v", head.Type, err)
		}
		b := blocks[i]
		if runes(b.BlockID) > MaxBlockID {
			return nil, at("block_id longer than %d", MaxBlockID)
		}
		if b.BlockID != "" {
			if blockIDs[b.BlockID] {
				return nil, at("duplicate block_id %q", b.BlockID)
			}
			blockIDs[b.BlockID] = true
		}
		switch b.Type {
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				return nil, at("section needs text or fields")
			}
			if b.Text != nil {
				if err := checkText(*b.Text, MaxSectionText, true); err != nil {
					return nil, at("section text: %v", err)
				}
			}
			if len(b.Fields) > MaxFields {
				return nil, at("%d fields, max %d", len(b.Fields), MaxFields)
			}
			for _, f := range b.Fields {
				if err := checkText(f, MaxFieldText, true); err != nil {
					return nil, at("field: %v", err)
				}
			}
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" {
				return nil, at("header needs plain_text")
			}
			if err := checkText(*b.Text, MaxHeaderText, false); err != nil {
				return nil, at("header: %v", err)
			}
		case "divider", "image", "rich_text", "file":
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > MaxContextElems {
				return nil, at("context needs 1..%d elements", MaxContextElems)
			}
		case "actions":
			if len(b.Elements) == 0 || len(b.Elements) > MaxElements {
				return nil, at("actions needs 1..%d elements", MaxElements)
			}
			for _, raw := range b.Elements {
				var el element
				if err := json.Unmarshal(raw, &el); err != nil {
					return nil, at("bad element: %v", err)
				}
				if el.Type != "button" {
					continue
				}
				switch {
				case el.ActionID == "" || runes(el.ActionID) > MaxActionID:
					return nil, at("button action_id must be 1..%d chars", MaxActionID)
				case actionIDs[el.ActionID]:
					return nil, at("duplicate action_id %q", el.ActionID)
				case runes(el.Value) > MaxButtonValue:
					return nil, at("button value longer than %d", MaxButtonValue)
				case el.Text.Type != "plain_text":
					return nil, at("button text must be plain_text")
				case el.Style != "" && el.Style != "primary" && el.Style != "danger":
					return nil, at("button style %q", el.Style)
				}
				if err := checkText(el.Text, MaxButtonText, false); err != nil {
					return nil, at("button text: %v", err)
				}
				actionIDs[el.ActionID] = true
			}
		default:
			return nil, at("unknown block type %q", b.Type)
		}
	}
	for i := range blocks {
		for n := 0; blocks[i].BlockID == ""; n++ {
			if id := fmt.Sprintf("auto%d-%d", i, n); !blockIDs[id] {
				blocks[i].BlockID, blockIDs[id] = id, true
			}
		}
	}
	return blocks, nil
}

func checkText(t Text, maxLen int, mrkdwnOK bool) error {
	if t.Type != "plain_text" && !(mrkdwnOK && t.Type == "mrkdwn") {
		return fmt.Errorf("text type %q", t.Type)
	}
	if n := runes(t.Text); n == 0 || n > maxLen {
		return fmt.Errorf("text must be 1..%d chars, got %d", maxLen, n)
	}
	return nil
}
