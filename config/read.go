package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"unicode/utf8"
)

// MaxFileSize is the largest configuration or .env file Load reads.
const MaxFileSize = 1 << 20

// readFile reads a configuration file, refusing directories, special files,
// files over MaxFileSize and text that is not UTF-8. A leading UTF-8 byte
// order mark is dropped.
func readFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a file", path)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s is %d bytes; configuration files are limited to %d bytes", path, st.Size(), MaxFileSize)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes; configuration files are limited to that size", path, MaxFileSize)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%s is not valid UTF-8 text", path)
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, fmt.Errorf("%s contains a NUL byte; it is not a text file", path)
	}
	return b, nil
}

// exists reports whether path exists (as anything).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}

// fileAbsent is the digest recorded for a file a load looked for and did
// not find.
const fileAbsent = "absent"

// readFile is readFile that records the digest of what it read.
func (l *loader) readFile(path string) ([]byte, error) {
	b, err := readFile(path)
	if err == nil {
		l.read[filepath.Clean(path)] = digest(b)
	}
	return b, err
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ChangedSinceLoad lists the files the load of f read (or looked for and
// did not find) that are different now: written, created or removed after
// the load read them. A watch started after a load asks this once it is in
// place, so a change made between the load and the watch is not lost.
func (f *Fleet) ChangedSinceLoad() []string {
	var out []string
	for p, was := range f.read {
		now := fileAbsent
		if exists(p) {
			b, err := readFile(p)
			if err != nil {
				now = "unreadable: " + err.Error()
			} else {
				now = digest(b)
			}
		}
		if now != was {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}
