package discordtest

import (
	"net/http"
	"strings"
)

// write answers with the error. Form errors get Discord's v8+ body,
//
//	{"code": 50035, "message": "Invalid Form Body",
//	 "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}}
//
// with the field's path as nested objects: "components.0.custom_id" is
// {"components": {"0": {"custom_id": {"_errors": [...]}}}}.
func (e *bodyError) write(w http.ResponseWriter, status int) int {
	if e.code != 50035 {
		return apiError(w, status, e.code, e.msg)
	}
	var errs map[string]any = map[string]any{"_errors": []map[string]string{{"code": e.errc, "message": e.detail}}}
	if e.path != "" {
		parts := strings.Split(e.path, ".")
		for i := len(parts) - 1; i >= 0; i-- {
			errs = map[string]any{parts[i]: errs}
		}
	}
	return writeJSON(w, status, map[string]any{"code": e.code, "message": e.msg, "errors": errs})
}

// formError is a 50035 Invalid Form Body error about one field.
func formError(path, code, detail string) *bodyError {
	return &bodyError{code: 50035, msg: "Invalid Form Body", path: path, errc: code, detail: detail}
}

// errorCode is Discord's error code for a validation message.
func errorCode(detail string) string {
	switch {
	case strings.Contains(detail, "or fewer in length"):
		return "BASE_TYPE_MAX_LENGTH"
	case strings.Contains(detail, "Must be between"):
		return "BASE_TYPE_BAD_LENGTH"
	case strings.Contains(detail, "must be one of"), strings.Contains(detail, "Value must be one of"):
		return "BASE_TYPE_CHOICES"
	case strings.Contains(detail, "duplicated"):
		return "COMPONENT_CUSTOM_ID_DUPLICATED"
	}
	return "BASE_TYPE_INVALID"
}
