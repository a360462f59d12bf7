package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/herdbot/herdbot/agents"
)

// ErrExists is returned when creating a record whose id is already taken.
var ErrExists = errors.New("already exists")

// ms converts t to a column value: UTC unix milliseconds, NULL for zero.
func ms(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// fromMS converts a column value back to a UTC time; NULL is the zero time.
func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// limitOr returns n, or defaultLimit when n <= 0.
func limitOr(n int) int {
	if n <= 0 {
		return defaultLimit
	}
	return n
}

// notFound turns sql.ErrNoRows into agents.ErrNotFound, naming what.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, agents.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// constraint translates SQLite constraint failures: a duplicate key becomes
// ErrExists and a missing parent row agents.ErrNotFound.
func constraint(err error, what string) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("%s: %w (%v)", what, ErrExists, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%s: %w (%v)", what, agents.ErrNotFound, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// jsonColumn returns b for a JSON column: nil (NULL) when empty, b itself
// when it is valid JSON, and otherwise b as a JSON string, so that a stray
// non-JSON payload (a CLI error line, a damaged redaction) is kept rather than
// failing the whole write, and every read gives valid JSON.
func jsonColumn(b []byte) any {
	switch {
	case len(b) == 0:
		return nil
	case json.Valid(b):
		return b
	}
	s, _ := json.Marshal(strings.ToValidUTF8(string(b), "\uFFFD")) // a string never fails to marshal
	return s
}
