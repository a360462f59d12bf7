package config

import (
	"fmt"
	"strings"
)

// envError is a problem at one line of a .env file.
type envError struct {
	Line int
	Msg  string
}

// parseDotenv parses a .env file: KEY=VALUE lines, blank lines and
// "# comments", an optional "export " prefix, values in single quotes
// (literal, may span lines), double quotes (\n \r \t \" \\ \$ escapes, may
// span lines) or bare (a " #" starts a comment, surrounding blanks are
// trimmed). Nothing is expanded or executed: "$X" and "$(cmd)" are kept as
// written. A key given twice keeps its last value.
func parseDotenv(src string) (map[string]string, []envError) {
	vars := make(map[string]string)
	var errs []envError
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "\t")) {
			line = strings.TrimSpace(rest)
		}
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok {
			errs = append(errs, envError{lineNo, "expected KEY=VALUE (the line is not shown: it may hold a secret)"})
			continue
		}
		if !isVarName(key) {
			errs = append(errs, envError{lineNo, fmt.Sprintf("invalid variable name %q (letters, digits and _, not starting with a digit)", truncate(key, 40))})
			continue
		}
		val = strings.TrimLeft(val, " \t")
		switch {
		case strings.HasPrefix(val, "'") || strings.HasPrefix(val, `"`):
			q := val[0]
			body := val[1:]
			start := lineNo
			var sb strings.Builder
			closed := false
			for {
				end, rest, found := scanQuoted(body, q, &sb)
				if found {
					rest = strings.TrimSpace(rest)
					if rest != "" && !strings.HasPrefix(rest, "#") {
						errs = append(errs, envError{lineNo, fmt.Sprintf("unexpected text after closing quote of %s", key)})
					}
					_ = end
					closed = true
					break
				}
				if i+1 >= len(lines) {
					break
				}
				sb.WriteByte('\n')
				i++
				lineNo = i + 1
				body = lines[i]
			}
			if !closed {
				errs = append(errs, envError{start, fmt.Sprintf("value of %s has no closing %c quote", key, q)})
				continue
			}
			vars[key] = sb.String()
		default:
			if j := strings.Index(val, " #"); j >= 0 {
				val = val[:j]
			} else if j := strings.Index(val, "\t#"); j >= 0 {
				val = val[:j]
			}
			vars[key] = strings.TrimSpace(val)
		}
	}
	return vars, errs
}

// scanQuoted copies s into sb up to the closing quote q, handling escapes
// in double quotes. It returns the index of the quote, the text after it,
// and whether the quote was found on this line.
func scanQuoted(s string, q byte, sb *strings.Builder) (int, string, bool) {
	for j := 0; j < len(s); j++ {
		c := s[j]
		if c == q {
			return j, s[j+1:], true
		}
		if q == '"' && c == '\\' && j+1 < len(s) {
			j++
			switch s[j] {
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case '"', '\\', '$', '\'':
				sb.WriteByte(s[j])
			default:
				sb.WriteByte('\\')
				sb.WriteByte(s[j])
			}
			continue
		}
		sb.WriteByte(c)
	}
	return -1, "", false
}

// isVarName reports whether s is a valid environment variable name.
func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
