package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
)

// fieldError is a decoding problem at a field path.
type fieldError struct {
	Path string
	Msg  string
}

// decode decodes m into out (a pointer to a schema struct) with
// mapstructure, matching fields by their yaml tag. strict rejects unknown
// keys. Keys match exactly (case-sensitive): "Image"
// is not "image". Types are not bent: "1.5" is not a whole number, "yes"
// is not true and a single value is not a list.
func decode(m map[string]any, out any, strict bool) []fieldError {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			wholeNumberHook,
			scalarToStringHook,
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.TextUnmarshallerHookFunc()),
		ErrorUnused:      strict,
		WeaklyTypedInput: false,
		MatchName:        func(mapKey, fieldName string) bool { return mapKey == fieldName },
		TagName:          "yaml",
		Result:           out,
	})
	if err != nil {
		return []fieldError{{"", err.Error()}}
	}
	err = d.Decode(m)
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
