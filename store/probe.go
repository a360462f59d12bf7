package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteMagic starts every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// probe checks, without writing, that path is a healthy SQLite database whose
// schema this binary knows. It runs before any connection that sets
// journal_mode (which writes the header), so a refused file is never touched.
func probe(ctx context.Context, path string) error {
	if err := checkHeader(path); err != nil {
		return err
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "query_only(1)")
	q.Set("mode", "rw") // never create
	p, err := sql.Open("sqlite", fileURI(path, q))
	if err != nil {
		return err
	}
	defer p.Close()
	p.SetMaxOpenConns(1)

	var version int
	if err := p.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return classify(err)
	}
	if known := len(migrations); version > known {
		return fmt.Errorf("%w (schema %d, this binary knows %d)", ErrNewerSchema, version, known)
	}
	rows, err := p.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return classify(err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], "…")
		}
		return fmt.Errorf("%w: %s; the file was left untouched", ErrCorrupt, strings.Join(problems, "; "))
	}
	return nil
}

// checkHeader refuses a non-empty file that does not start with the SQLite
// magic string. An empty file is a new database.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF) || (err == nil && !bytes.Equal(head, sqliteMagic)):
		return fmt.Errorf("%w: no SQLite header; the file was left untouched", ErrCorrupt)
	case err != nil:
		return fmt.Errorf("read header: %w", err)
	}
	return nil
}

// classify turns SQLite's "not a database" and "malformed" errors into
// ErrCorrupt.
func classify(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("%w: %v; the file was left untouched", ErrCorrupt, err)
		}
	}
	return err
}
