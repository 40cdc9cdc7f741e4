package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// dbtx is what a write runs its statements on: the writer's connection,
// inside the transaction the writer has begun.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// stmts are the writer's statements, prepared once on its connection.
// The writer controls its transactions with prepared statements too,
// rather than through sql.Tx: per batch that saves parsing BEGIN and
// COMMIT and wrapping every statement for the transaction, a good part of
// a batch's fixed cost (see BenchmarkVerifySerial).
type stmts struct {
	rollback, savepoint, rollbackTo, release                                                      *sql.Stmt
	selectKey, selectAccount, updateKeys, updateCredits, upsertUsage, pendingExists, clearPending *sql.Stmt
	hot                                                                                           hotStmts
}

func (s *stmts) all() []*sql.Stmt {
	return []*sql.Stmt{s.rollback, s.savepoint, s.rollbackTo, s.release,
		s.selectKey, s.selectAccount, s.updateKeys, s.updateCredits, s.upsertUsage, s.pendingExists, s.clearPending}
}

// close closes every statement, on c.
func (s *stmts) close(c *sql.Conn) {
	for _, st := range s.all() {
		if st != nil {
			st.Close()
		}
	}
	c.Raw(func(any) error { s.hot.close(); return nil })
}

func prepareStmts(ctx context.Context, c *sql.Conn) (*stmts, error) {
	var s stmts
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&s.rollback, `ROLLBACK`},
		{&s.savepoint, `SAVEPOINT job`},
		{&s.rollbackTo, `ROLLBACK TO job`},
		{&s.release, `RELEASE job`},
		{&s.selectKey, `SELECT id, account_id, secret_digest, permissions, status,
		query_alloc, mutation_alloc, query_used, mutation_used, credits_used, period_start,
		COALESCE(last_used_at, 0)
		FROM keys WHERE client_id = ?`},
		{&s.selectAccount, `SELECT period, credits FROM accounts WHERE id = ?`},
		// Folding writes every key with one statement: the rows come as a
		// JSON array [[id, q, m, c, period_start, last_used], …].
		{&s.updateKeys, `UPDATE keys SET query_used = folded.query_used, mutation_used = folded.mutation_used,
			credits_used = folded.credits_used, period_start = folded.period_start, last_used_at = folded.last_used_at
			FROM (SELECT value->>0 AS id, value->>1 AS query_used, value->>2 AS mutation_used, value->>3 AS credits_used,
				value->>4 AS period_start, value->>5 AS last_used_at FROM json_each(?)) AS folded
			WHERE keys.id = folded.id`},
		{&s.updateCredits, `UPDATE accounts SET credits = ? WHERE id = ?`},
		{&s.pendingExists, `SELECT EXISTS (SELECT 1 FROM pending_usage)`},
		{&s.clearPending, `DELETE FROM pending_usage`},
		// Likewise [[key_id, day, queries, mutations, credits, 401, 403, 429, 402], …].
		{&s.upsertUsage, `INSERT INTO usage_days
		(key_id, day, queries, mutations, credits, denied_401, denied_403, denied_429, denied_402)
		SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8
		FROM json_each(?) WHERE true
		ON CONFLICT (key_id, day) DO UPDATE SET
		queries = queries + excluded.queries, mutations = mutations + excluded.mutations,
		credits = credits + excluded.credits, denied_401 = denied_401 + excluded.denied_401,
		denied_403 = denied_403 + excluded.denied_403, denied_429 = denied_429 + excluded.denied_429,
		denied_402 = denied_402 + excluded.denied_402`},
	} {
		st, err := c.PrepareContext(ctx, p.q)
		if err != nil {
			s.close(c)
			return nil, err
		}
		*p.dst = st
	}
	if err := s.prepareHot(ctx, c); err != nil {
		s.close(c)
		return nil, err
	}
	return &s, nil
}

// hotStmts are the statements every batch runs, prepared on the driver's
// connection and run through Conn.Raw: database/sql's wrapping of each
// execution (locking, argument conversion, Rows and Row objects) was a
// fifth of a batch's fixed cost. They are only ever used inside Raw, while
// database/sql holds the connection for us.
type hotStmts struct {
	begin, commit, dataVersion, insertPending driver.Stmt
	dest                                      []driver.Value
	args                                      []driver.NamedValue
}

func (s *stmts) prepareHot(ctx context.Context, c *sql.Conn) error {
	return c.Raw(func(dc any) error {
		conn, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T cannot prepare statements", dc)
		}
		for _, p := range []struct {
			dst *driver.Stmt
			q   string
		}{
			// IMMEDIATE: the write lock is taken at the start, so the
			// decisions made inside are made under it (and a busy
			// database waits in the busy handler here).
			{&s.hot.begin, `BEGIN IMMEDIATE`},
			{&s.hot.commit, `COMMIT`},
			{&s.hot.dataVersion, `PRAGMA data_version`},
			{&s.hot.insertPending, `INSERT INTO pending_usage (deltas) VALUES (?)`},
		} {
			st, err := conn.PrepareContext(ctx, p.q)
			if err != nil {
				s.hot.close()
				return err
			}
			if _, ok := st.(driver.StmtExecContext); !ok {
				st.Close()
				s.hot.close()
				return fmt.Errorf("sqlite driver statement %T cannot execute with a context", st)
			}
			if _, ok := st.(driver.StmtQueryContext); !ok {
				st.Close()
				s.hot.close()
				return fmt.Errorf("sqlite driver statement %T cannot query with a context", st)
			}
			*p.dst = st
		}
		s.hot.dest = make([]driver.Value, 1)
		s.hot.args = make([]driver.NamedValue, 1)
		return nil
	})
}

func (h *hotStmts) close() {
	for _, st := range []*driver.Stmt{&h.begin, &h.commit, &h.dataVersion, &h.insertPending} {
		if *st != nil {
			(*st).Close()
			*st = nil
		}
	}
}

// exec runs a hot statement (inside Raw).
func (h *hotStmts) exec(ctx context.Context, st driver.Stmt, args []driver.NamedValue) error {
	_, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	return err
}

// beginBatch begins the batch's transaction and reads PRAGMA data_version
// inside it.
func (w *writer) beginBatch(ctx context.Context) (version int64, err error) {
	err = w.conn.Raw(func(any) error {
		h := &w.stmts.hot
		if err := h.exec(ctx, h.begin, nil); err != nil {
			return err
		}
		rows, err := h.dataVersion.(driver.StmtQueryContext).QueryContext(ctx, nil)
		if err != nil {
			return err
		}
		err = rows.Next(h.dest)
		rows.Close()
		if err != nil {
			return err
		}
		v, ok := h.dest[0].(int64)
		if !ok {
			return fmt.Errorf("PRAGMA data_version gave %T", h.dest[0])
		}
		version = v
		return nil
	})
	return version, err
}

// commitBatch commits the batch's transaction.
func (w *writer) commitBatch(ctx context.Context) error {
	if f := w.db.opt.commitFault; f != nil {
		if err := f(); err != nil {
			return err
		}
	}
	return w.conn.Raw(func(any) error {
		return w.stmts.hot.exec(ctx, w.stmts.hot.commit, nil)
	})
}

// insertPending appends one pending_usage row.
func (w *writer) insertPending(ctx context.Context, deltas string) error {
	return w.conn.Raw(func(any) error {
		h := &w.stmts.hot
		h.args[0] = driver.NamedValue{Ordinal: 1, Value: deltas}
		err := h.exec(ctx, h.insertPending, h.args)
		h.args[0] = driver.NamedValue{}
		return err
	})
}
