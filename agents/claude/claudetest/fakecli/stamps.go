package fakecli

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// LastStamp reads a stamp file (EnvStampFile): how many user lines the
// fake read, and the time and pid of the last one.
func LastStamp(path string) (n int, at time.Time, pid string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, time.Time{}, "", err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	ns, pid, _ := strings.Cut(lines[len(lines)-1], " ")
	v, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return 0, time.Time{}, "", fmt.Errorf("stamp file %s: bad line %q", path, lines[len(lines)-1])
	}
	return len(lines), time.Unix(0, v), pid, nil
}
