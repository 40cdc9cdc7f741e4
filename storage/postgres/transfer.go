package postgres

import (
	"context"
	"iter"

	"github.com/jackc/pgx/v5"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// keydeck copy: the whole database read as storage rows (Dump) or written
// from them (Load, with COPY). See storage/transfer.go.

var (
	_ storage.Dumper = (*DB)(nil)
	_ storage.Loader = (*DB)(nil)
)

// Dump calls fn with a Source reading the whole database in one
// repeatable-read, read-only transaction: one consistent state, however
// many processes keep writing.
func (db *DB) Dump(ctx context.Context, fn func(storage.Source) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return db.wrapErr(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	return fn(&source{ctx: ctx, db: db, tx: tx})
}

type source struct {
	ctx context.Context
	db  *DB
	tx  pgx.Tx
}

// rowsOf yields the rows of query, each scanned by scan.
func rowsOf[T any](s *source, query string, scan func(pgx.Rows, *T) error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		rows, err := s.tx.Query(s.ctx, query)
		if err != nil {
			yield(zero, s.db.wrapErr(err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var r T
			if err := scan(rows, &r); err != nil {
				yield(zero, s.db.wrapErr(err))
				return
			}
			if !yield(r, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(zero, s.db.wrapErr(err))
		}
	}
}

func (s *source) Accounts() iter.Seq2[storage.AccountRow, error] {
	return rowsOf(s, `SELECT id, name, query_total, mutation_total, credits, period, created_at,
		token_digest, token_hint, token_created_at FROM accounts ORDER BY id`,
		func(rows pgx.Rows, r *storage.AccountRow) error {
			return rows.Scan(&r.ID, &r.Name, &r.QueryTotal, &r.MutationTotal, &r.Credits, &r.Period, &r.CreatedAt,
				&r.TokenDigest, &r.TokenHint, &r.TokenCreatedAt)
		})
}

func (s *source) Keys() iter.Seq2[storage.KeyRow, error] {
	return rowsOf(s, `SELECT id, account_id, name, client_id, secret_digest, secret_hint, secret_rotated_at,
		permissions, query_alloc, mutation_alloc, query_used, mutation_used, credits_used, period_start,
		created_at, last_used_at, status, revoked_at, keeps_allocation FROM keys ORDER BY id`,
		func(rows pgx.Rows, r *storage.KeyRow) error {
			return rows.Scan(&r.ID, &r.AccountID, &r.Name, &r.ClientID, &r.SecretDigest, &r.SecretHint, &r.SecretRotatedAt,
				&r.Permissions, &r.QueryAlloc, &r.MutationAlloc, &r.QueryUsed, &r.MutationUsed, &r.CreditsUsed, &r.PeriodStart,
				&r.CreatedAt, &r.LastUsedAt, &r.Status, &r.RevokedAt, &r.KeepsAllocation)
		})
}

func (s *source) UsageDays() iter.Seq2[storage.UsageRow, error] {
	return rowsOf(s, `SELECT key_id, day, queries, mutations, credits,
		denied_401, denied_403, denied_429, denied_402 FROM usage_days ORDER BY key_id, day`,
		func(rows pgx.Rows, r *storage.UsageRow) error {
			return rows.Scan(&r.KeyID, &r.Day, &r.Queries, &r.Mutations, &r.Credits,
				&r.Denied401, &r.Denied403, &r.Denied429, &r.Denied402)
		})
}

func (s *source) AuditEvents() iter.Seq2[storage.AuditRow, error] {
	return rowsOf(s, `SELECT id, account_id, key_id, at, actor, action, details FROM audit_events ORDER BY id`,
		func(rows pgx.Rows, r *storage.AuditRow) error {
			return rows.Scan(&r.ID, &r.AccountID, &r.KeyID, &r.At, &r.Actor, &r.Action, &r.Details)
		})
}

func (s *source) SSHKeys() iter.Seq2[storage.SSHKeyRow, error] {
	return rowsOf(s, `SELECT fingerprint, account_id, public_key, comment, added_at FROM ssh_keys ORDER BY fingerprint`,
		func(rows pgx.Rows, r *storage.SSHKeyRow) error {
			return rows.Scan(&r.Fingerprint, &r.AccountID, &r.PublicKey, &r.Comment, &r.AddedAt)
		})
}

// Load writes every row of src in one transaction, with COPY, into a
// database that must be empty (storage.Occupancy.Check); the "default"
// account Open made, with its creation event, is replaced. The tables are
// locked against writers for the whole copy, and the identity sequences
// continue after the copied ids.
func (db *DB) Load(ctx context.Context, src storage.Source) (storage.Counts, error) {
	n, err := db.load(ctx, src)
	if err != nil {
		return storage.Counts{}, db.wrapErr(err)
	}
	return n, nil
}

func (db *DB) load(ctx context.Context, src storage.Source) (storage.Counts, error) {
	var n storage.Counts
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return n, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `LOCK TABLE accounts, keys, usage_days, audit_events, ssh_keys IN EXCLUSIVE MODE`); err != nil {
		return n, err
	}
	var o storage.Occupancy
	if err := tx.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM accounts), (SELECT count(*) FROM keys), (SELECT count(*) FROM ssh_keys),
		(SELECT count(*) FROM audit_events), (SELECT count(*) FROM accounts WHERE name <> $1),
		(SELECT count(*) FROM audit_events e WHERE NOT (e.action = $2 AND e.key_id IS NULL
			AND e.account_id IN (SELECT id FROM accounts WHERE name = $1)))`,
		model.DefaultAccount, model.AuditAccountCreate).Scan(
		&o.Accounts, &o.Keys, &o.SSHKeys, &o.AuditEvents, &o.OtherAccounts, &o.OtherEvents); err != nil {
		return n, err
	}
	if err := o.Check(); err != nil {
		return n, err
	}
	if o.Accounts > 0 {
		// The audit log is append-only: its trigger is lifted for this
		// one delete, inside the transaction (the table's owner may).
		if _, err := tx.Exec(ctx, `ALTER TABLE audit_events DISABLE TRIGGER audit_no_update;
			DELETE FROM audit_events; DELETE FROM accounts;
			ALTER TABLE audit_events ENABLE TRIGGER audit_no_update`); err != nil {
			return n, err
		}
	}

	if n.Accounts, err = copyRows(ctx, tx, "accounts", src.Accounts(), []string{"id", "name", "query_total",
		"mutation_total", "credits", "period", "created_at", "token_digest", "token_hint", "token_created_at"},
		func(r storage.AccountRow) []any {
			if r.TokenDigest != nil {
				n.Tokens++
			}
			return []any{r.ID, r.Name, r.QueryTotal, r.MutationTotal, r.Credits, r.Period, r.CreatedAt,
				r.TokenDigest, r.TokenHint, r.TokenCreatedAt}
		}); err != nil {
		return n, err
	}
	if n.Keys, err = copyRows(ctx, tx, "keys", src.Keys(), []string{"id", "account_id", "name", "client_id",
		"secret_digest", "secret_hint", "secret_rotated_at", "permissions", "query_alloc", "mutation_alloc",
		"query_used", "mutation_used", "credits_used", "period_start", "created_at", "last_used_at", "status",
		"revoked_at", "keeps_allocation"},
		func(r storage.KeyRow) []any {
			return []any{r.ID, r.AccountID, r.Name, r.ClientID, r.SecretDigest, r.SecretHint, r.SecretRotatedAt,
				r.Permissions, r.QueryAlloc, r.MutationAlloc, r.QueryUsed, r.MutationUsed, r.CreditsUsed,
				r.PeriodStart, r.CreatedAt, r.LastUsedAt, r.Status, r.RevokedAt, r.KeepsAllocation}
		}); err != nil {
		return n, err
	}
	if n.UsageDays, err = copyRows(ctx, tx, "usage_days", src.UsageDays(), []string{"key_id", "day", "queries",
		"mutations", "credits", "denied_401", "denied_403", "denied_429", "denied_402"},
		func(r storage.UsageRow) []any {
			return []any{r.KeyID, r.Day, r.Queries, r.Mutations, r.Credits, r.Denied401, r.Denied403, r.Denied429, r.Denied402}
		}); err != nil {
		return n, err
	}
	if n.AuditEvents, err = copyRows(ctx, tx, "audit_events", src.AuditEvents(), []string{"id", "account_id",
		"key_id", "at", "actor", "action", "details"},
		func(r storage.AuditRow) []any {
			return []any{r.ID, r.AccountID, r.KeyID, r.At, r.Actor, r.Action, r.Details}
		}); err != nil {
		return n, err
	}
	if n.SSHKeys, err = copyRows(ctx, tx, "ssh_keys", src.SSHKeys(), []string{"fingerprint", "account_id",
		"public_key", "comment", "added_at"},
		func(r storage.SSHKeyRow) []any {
			return []any{r.Fingerprint, r.AccountID, r.PublicKey, r.Comment, r.AddedAt}
		}); err != nil {
		return n, err
	}

	// The ids came with the rows: the sequences must continue after them,
	// or the next account, key or event would collide.
	for _, table := range []string{"accounts", "keys", "audit_events"} {
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'),
			COALESCE(max(id), 1), max(id) IS NOT NULL) FROM `+table); err != nil {
			return n, err
		}
	}
	return n, tx.Commit(ctx)
}

// copyRows COPYs rows into table; values makes a row's columns.
func copyRows[T any](ctx context.Context, tx pgx.Tx, table string, rows iter.Seq2[T, error], columns []string, values func(T) []any) (int64, error) {
	next, stop := iter.Pull2(rows)
	defer stop()
	cs := &copySource[T]{next: next, values: values}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, cs)
	if cs.err != nil {
		// The source's own error, not COPY's account of it.
		return n, cs.err
	}
	return n, err
}

// copySource is pgx's pull-style CopyFromSource over a sequence of rows.
type copySource[T any] struct {
	next   func() (T, error, bool)
	values func(T) []any
	row    []any
	err    error
}

func (c *copySource[T]) Next() bool {
	r, err, ok := c.next()
	if !ok {
		return false
	}
	if err != nil {
		c.err = err
		return false
	}
	c.row = c.values(r)
	return true
}

func (c *copySource[T]) Values() ([]any, error) { return c.row, nil }
func (c *copySource[T]) Err() error             { return c.err }
