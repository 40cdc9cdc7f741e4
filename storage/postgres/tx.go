package postgres

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// querier is what reads need: the pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// txAttempts bounds how often tx runs a transaction that PostgreSQL
// aborted for a deadlock or a serialization failure.
const txAttempts = 5

// tx runs fn in a READ COMMITTED transaction and commits it. A deadlock
// (40P01) or serialization failure (40001) aborts the whole transaction,
// so fn is run again from the start, a few times, after a short jittered
// wait: fn must not keep state across attempts except what it overwrites.
// fn returns driver errors as they are (wrapping them hides the SQLSTATE
// the retry needs); tx maps the final error with wrapErr.
func (db *DB) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for attempt := range txAttempts {
		if attempt > 0 {
			// 5–10ms, 10–20ms, 20–40ms, …: the other transaction has
			// usually finished by then.
			base := (5 * time.Millisecond) << (attempt - 1)
			wait := base + rand.N(base)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return db.wrapErr(ctx.Err())
			case <-t.C:
			}
		}
		err = pgx.BeginFunc(ctx, db.pool, fn)
		if !retryable(err) {
			break
		}
		db.log.Debug("transaction retried", "attempt", attempt+1, "err", err)
	}
	return db.wrapErr(err)
}

// retryable reports a transaction PostgreSQL aborted to break a deadlock
// or keep transactions serializable: running it again may succeed.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// snapshot runs reads in one read-only REPEATABLE READ transaction, so
// reads of several statements (a page and its total) see one instant.
func (db *DB) snapshot(ctx context.Context, fn func(q querier) error) error {
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(tx) })
	return db.wrapErr(err)
}

// isUnique reports a unique violation of a constraint or index whose name
// contains name.
func isUnique(err error, name string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && strings.Contains(pe.ConstraintName, name)
}
