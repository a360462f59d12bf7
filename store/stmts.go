package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// stmts are the statements of the per-message hot path (job rows, transcript
// inserts, conversation bindings), prepared once at Open rather than on every
// call. database/sql prepares a statement again on each connection that runs
// it and keeps it there, so the reader pool prepares a read once per
// connection; inside a transaction, on() reuses the writer connection's copy.
type stmts struct {
	// on the writer
	createJob, updateJob, insertEvent, maxSeq, putConv *sql.Stmt
	// on the reader pool
	job, conv *sql.Stmt
}

func prepareStmts(ctx context.Context, w, r *sql.DB) (*stmts, error) {
	s := &stmts{}
	for _, p := range []struct {
		dst  **sql.Stmt
		db   *sql.DB
		name string
		sql  string
	}{
		{&s.createJob, w, "create job", sqlCreateJob},
		{&s.updateJob, w, "update job", sqlUpdateJob},
		{&s.insertEvent, w, "insert event", sqlInsertEvent},
		{&s.maxSeq, w, "last event seq", sqlMaxSeq},
		{&s.putConv, w, "put conversation", sqlPutConversation},
		{&s.job, r, "read job", sqlJob},
		{&s.conv, r, "read conversation", sqlConversation},
	} {
		st, err := p.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("prepare %s: %w", p.name, err), s.close())
		}
		*p.dst = st
	}
	return s, nil
}

// close closes every prepared statement; it is safe on a partly prepared set.
func (s *stmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.createJob, s.updateJob, s.insertEvent, s.maxSeq, s.putConv, s.job, s.conv} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// on returns st for use inside tx (the writer's cached statement, bound to
// the transaction), or st itself when tx is nil. The statement returned for a
// transaction is closed with it.
func on(ctx context.Context, tx *sql.Tx, st *sql.Stmt) *sql.Stmt {
	if tx == nil {
		return st
	}
	return tx.StmtContext(ctx, st)
}
