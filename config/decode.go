package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
)

// keyDelim separates keys in koanf's flattened key paths. It is a control
// character (never in a key: the YAML reader refuses those) so that keys
// with dots (labels, MCP server names, host_config) stay whole.
const keyDelim = "\x1f"

// fieldError is a decoding problem at a field path.
type fieldError struct {
	Path string
	Msg  string
}

// merge loads layers into one koanf, each merged over the ones before it
// with koanf's merge: mappings merge key by key, anything else (lists
// included) replaces what is below. "key:" with nothing in an upper layer
// sets nothing there, so it keeps what is below (see withoutNulls). The
// layers are the parsed, interpolated files (or parts of them): parsing
// stays with yaml nodes for the line of every field.
func merge(layers ...map[string]any) (*koanf.Koanf, error) {
	k := koanf.New(keyDelim)
	for i, m := range layers {
		if i > 0 {
			m = withoutNulls(m)
		}
		// confmap copies m: koanf's merge keeps the maps it is given.
		if err := k.Load(confmap.Provider(m, ""), nil); err != nil {
			return nil, fmt.Errorf("merge configuration: %w", err)
		}
	}
	return k, nil
}

// withoutNulls returns m without the keys whose value is null, at every
// level of mappings (lists are values: kept whole).
func withoutNulls(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case nil:
		case map[string]any:
			out[k] = withoutNulls(v)
		default:
			out[k] = v
		}
	}
	return out
}

// decodeMap decodes m into out: decode of m as the only layer.
func decodeMap(m map[string]any, out any, strict bool) []fieldError {
	k, err := merge(m)
	if err != nil {
		return []fieldError{{"", err.Error()}}
	}
	return decode(k, out, strict)
}

// decode unmarshals k into out (a pointer to a schema struct) with koanf's
// mapstructure decoder, matching fields by their yaml tag. strict rejects
// unknown keys. Keys match exactly (case-sensitive): "Image" is not
// "image". Types are not bent: "1.5" is not a whole number, "yes" is not
// true and a single value is not a list. The problems name field paths;
// the caller finds their file and line.
func decode(k *koanf.Koanf, out any, strict bool) []fieldError {
	err := k.UnmarshalWithConf("", out, koanf.UnmarshalConf{
		Tag: "yaml",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook: mapstructure.ComposeDecodeHookFunc(
				wholeNumberHook,
				scalarToStringHook,
				mapstructure.StringToTimeDurationHookFunc(),
				mapstructure.TextUnmarshallerHookFunc()),
			ErrorUnused:      strict,
			WeaklyTypedInput: false,
			MatchName:        func(mapKey, fieldName string) bool { return mapKey == fieldName },
		},
	})
	if err == nil {
		return nil
	}
	var out2 []fieldError
	collectDecodeErrors(err, &out2)
	if len(out2) == 0 {
		out2 = append(out2, fieldError{"", err.Error()})
	}
	return out2
}

// wholeNumberHook refuses a number with a fraction where a whole number is
// wanted: mapstructure would cut 1.5 to 1.
func wholeNumberHook(from, to reflect.Type, data any) (any, error) {
	switch to.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
	default:
		return data, nil
	}
	switch v := data.(type) {
	case float64:
		if n, ok := wholeNumber(v); ok {
			return n, nil
		}
		return nil, fmt.Errorf("expected a whole number, got %s", strconv.FormatFloat(v, 'g', -1, 64))
	case string:
		return nil, fmt.Errorf("expected a whole number, got %q", truncate(v, 40))
	case bool:
		return nil, fmt.Errorf("expected a whole number, got %t", v)
	}
	return data, nil
}

// scalarToStringHook writes booleans and numbers as YAML would when the
// target is a string, so that "name: true" is "true", not "1".
func scalarToStringHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.String {
		return data, nil
	}
	switch v := data.(type) {
	case bool:
		return strconv.FormatBool(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case int:
		return strconv.Itoa(v), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case map[string]any, []any:
		return nil, fmt.Errorf("expected a single value, got %s", describeNode(v))
	}
	return data, nil
}

// collectDecodeErrors flattens mapstructure's joined errors.
func collectDecodeErrors(err error, out *[]fieldError) {
	var de *mapstructure.DecodeError
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, c := range e.Unwrap() {
			collectDecodeErrors(c, out)
		}
		return
	}
	if errors.As(err, &de) && err == error(de) {
		path := normalizePath(de.Name())
		inner := de.Unwrap()
		msg := ""
		if inner != nil {
			msg = inner.Error()
		}
		if keys, ok := strings.CutPrefix(msg, "has invalid keys: "); ok {
			for _, key := range strings.Split(keys, ", ") {
				*out = append(*out, fieldError{joinPath(path, key), "unknown key"})
			}
			return
		}
		var pe *mapstructure.ParseError
		if errors.As(inner, &pe) {
			msg = fmt.Sprintf("expected %s, got %q", kindWord(pe.Expected.Kind()), fmt.Sprint(pe.Value))
		}
		*out = append(*out, fieldError{path, friendlyDecodeMsg(msg)})
		return
	}
	if u := errors.Unwrap(err); u != nil {
		collectDecodeErrors(u, out)
		return
	}
	*out = append(*out, fieldError{"", err.Error()})
}

// normalizePath turns mapstructure's "a[key].b" into "a.key.b"; list
// indexes stay "[0]". A struct-typed root name ("config.agentSpec") is dropped.
func normalizePath(name string) string {
	if strings.HasPrefix(name, "config.") {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] != '[' {
			b.WriteByte(name[i])
			continue
		}
		end := strings.IndexByte(name[i:], ']')
		if end < 0 {
			b.WriteString(name[i:])
			break
		}
		inner := name[i+1 : i+end]
		if _, err := strconv.Atoi(inner); err == nil {
			b.WriteString(name[i : i+end+1])
		} else {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(inner)
		}
		i += end
	}
	return b.String()
}

var typeWords = strings.NewReplacer(
	"map[string]interface {}", "a mapping",
	"[]interface {}", "a list",
	"'int64'", "a whole number", "'int'", "a whole number",
	"'string'", "text", "'bool'", "true or false",
)

func friendlyDecodeMsg(msg string) string {
	return typeWords.Replace(msg)
}

func kindWord(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + k.String()
}
