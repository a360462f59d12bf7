package fakecli

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Stamp is one line of a stamp file (EnvStampFile): a user line the fake
// read.
type Stamp struct {
	At     time.Time // when it was read
	PID    string    // of the fake that read it
	Prompt string
}

// Stamps reads a stamp file, oldest first.
func Stamps(path string) ([]Stamp, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Stamp
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		ns, rest, _ := strings.Cut(l, " ")
		pid, quoted, _ := strings.Cut(rest, " ")
		v, err := strconv.ParseInt(ns, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("stamp file %s: bad line %q", path, l)
		}
		prompt, err := strconv.Unquote(quoted)
		if err != nil {
			return nil, fmt.Errorf("stamp file %s: bad prompt in %q", path, l)
		}
		out = append(out, Stamp{At: time.Unix(0, v), PID: pid, Prompt: prompt})
	}
	return out, nil
}

// LastStamp reads a stamp file: how many user lines the fake read, and the
// time and pid of the last one.
func LastStamp(path string) (n int, at time.Time, pid string, err error) {
	st, err := Stamps(path)
	if err != nil || len(st) == 0 {
		return 0, time.Time{}, "", fmt.Errorf("stamp file %s: %w", path, err)
	}
	last := st[len(st)-1]
	return len(st), last.At, last.PID, nil
}
