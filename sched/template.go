package sched

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/herdbot/herdbot/sched/spec"
)

// DefaultFieldLen is the longest value (in characters) RenderPrompt puts in
// place of one placeholder when maxLen is 0.
const DefaultFieldLen = 500

// ErrBadPayload is returned by RenderPrompt when the template needs fields
// and the payload is not a JSON document.
var ErrBadPayload = errors.New("payload is not JSON")

// RenderPrompt fills tmpl's {{field.path}} placeholders from the JSON
// payload. It is plain substitution in one pass (a value that looks like a
// placeholder stays text). Only paths listed in fields are filled; any other
// placeholder, and a path missing from the payload, becomes "". Each value
// has control characters removed, goes through redact (when not nil), and is
// cut to maxLen characters (DefaultFieldLen when 0). Objects and arrays are
// inserted as compact JSON; a numeric path segment indexes an array.
func RenderPrompt(tmpl string, payload []byte, fields []string, redact func(string) string, maxLen int) (string, error) {
	if len(spec.Placeholders(tmpl)) == 0 {
		return tmpl, nil
	}
	if maxLen <= 0 {
		maxLen = DefaultFieldLen
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	if dec.More() {
		return "", fmt.Errorf("%w: trailing data after the document", ErrBadPayload)
	}
	out := spec.ExpandPlaceholders(tmpl, func(path string) string {
		if !slices.Contains(fields, path) {
			return ""
		}
		v := clean(valueText(lookup(doc, path)))
		if redact != nil {
			v = redact(v)
		}
		return truncate(v, maxLen)
	})
	return out, nil
}

func lookup(doc any, path string) any {
	cur := doc
	for seg := range strings.SplitSeq(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(b)
	}
}

// clean drops control characters other than newline and tab, and invalid
// UTF-8.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || (unicode.IsControl(r) && r != '\n' && r != '\t') {
			return -1
		}
		return r
	}, s)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
