package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"iter"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// keydeck copy: the whole database read as storage rows (Dump) or written
// from them (Load). See storage/transfer.go.

var (
	_ storage.Dumper = (*DB)(nil)
	_ storage.Loader = (*DB)(nil)
)

// Dump calls fn with a Source reading the whole database, inside the
// writer's transaction: first every pending unit is folded into the key
// rows and usage_days (the fold the writer runs every second, so a delta
// of an earlier period reaches only the history), then the rows are read
// as one consistent state, and no other writer commits until fn returns.
// The fold is committed even when fn fails: it changes no total a reader
// sees.
func (db *DB) Dump(ctx context.Context, fn func(storage.Source) error) error {
	var fnErr error
	err := db.write(ctx, func(tx dbtx) error {
		if err := db.writer.fold(ctx, tx); err != nil {
			return err
		}
		fnErr = fn(&source{ctx: ctx, q: tx})
		return nil
	})
	if err != nil {
		return err
	}
	return fnErr
}

// source reads the tables through the writer's transaction.
type source struct {
	ctx context.Context
	q   queryer
}

// rowsOf yields the rows of query, each scanned by scan.
func rowsOf[T any](ctx context.Context, q queryer, query string, scan func(*sql.Rows, *T) error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		rows, err := q.QueryContext(ctx, query)
		if err != nil {
			yield(zero, wrapErr(err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var r T
			if err := scan(rows, &r); err != nil {
				yield(zero, wrapErr(err))
				return
			}
			if !yield(r, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(zero, wrapErr(err))
		}
	}
}

func (s *source) Accounts() iter.Seq2[storage.AccountRow, error] {
	return rowsOf(s.ctx, s.q, `SELECT id, name, query_total, mutation_total, credits, period, created_at,
		token_digest, token_hint, token_created_at FROM accounts ORDER BY id`,
		func(rows *sql.Rows, r *storage.AccountRow) error {
			return rows.Scan(&r.ID, &r.Name, &r.QueryTotal, &r.MutationTotal, &r.Credits, &r.Period, &r.CreatedAt,
				&r.TokenDigest, &r.TokenHint, &r.TokenCreatedAt)
		})
}

func (s *source) Keys() iter.Seq2[storage.KeyRow, error] {
	return rowsOf(s.ctx, s.q, `SELECT id, account_id, name, client_id, secret_digest, secret_hint, secret_rotated_at,
		permissions, query_alloc, mutation_alloc, query_used, mutation_used, credits_used, period_start,
		created_at, last_used_at, status, revoked_at, keeps_allocation FROM keys ORDER BY id`,
		func(rows *sql.Rows, r *storage.KeyRow) error {
			return rows.Scan(&r.ID, &r.AccountID, &r.Name, &r.ClientID, &r.SecretDigest, &r.SecretHint, &r.SecretRotatedAt,
				&r.Permissions, &r.QueryAlloc, &r.MutationAlloc, &r.QueryUsed, &r.MutationUsed, &r.CreditsUsed, &r.PeriodStart,
				&r.CreatedAt, &r.LastUsedAt, &r.Status, &r.RevokedAt, &r.KeepsAllocation)
		})
}

func (s *source) UsageDays() iter.Seq2[storage.UsageRow, error] {
	return rowsOf(s.ctx, s.q, `SELECT key_id, day, queries, mutations, credits,
		denied_401, denied_403, denied_429, denied_402 FROM usage_days ORDER BY key_id, day`,
		func(rows *sql.Rows, r *storage.UsageRow) error {
			return rows.Scan(&r.KeyID, &r.Day, &r.Queries, &r.Mutations, &r.Credits,
				&r.Denied401, &r.Denied403, &r.Denied429, &r.Denied402)
		})
}

func (s *source) AuditEvents() iter.Seq2[storage.AuditRow, error] {
	return rowsOf(s.ctx, s.q, `SELECT id, account_id, key_id, at, actor, action, details FROM audit_events ORDER BY id`,
		func(rows *sql.Rows, r *storage.AuditRow) error {
			return rows.Scan(&r.ID, &r.AccountID, &r.KeyID, &r.At, &r.Actor, &r.Action, &r.Details)
		})
}

func (s *source) SSHKeys() iter.Seq2[storage.SSHKeyRow, error] {
	return rowsOf(s.ctx, s.q, `SELECT fingerprint, account_id, public_key, comment, added_at FROM ssh_keys ORDER BY fingerprint`,
		func(rows *sql.Rows, r *storage.SSHKeyRow) error {
			return rows.Scan(&r.Fingerprint, &r.AccountID, &r.PublicKey, &r.Comment, &r.AddedAt)
		})
}

// Load writes every row of src in one transaction into a database that
// must be empty (storage.Occupancy.Check); the "default" account a new
// database may have, with its creation event, is replaced.
func (db *DB) Load(ctx context.Context, src storage.Source) (storage.Counts, error) {
	var n storage.Counts
	err := db.write(ctx, func(tx dbtx) error {
		n = storage.Counts{}
		var o storage.Occupancy
		if err := tx.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM accounts), (SELECT count(*) FROM keys), (SELECT count(*) FROM ssh_keys),
			(SELECT count(*) FROM audit_events), (SELECT count(*) FROM accounts WHERE name <> ?1),
			(SELECT count(*) FROM audit_events e WHERE NOT (e.action = ?2 AND e.key_id IS NULL
				AND e.account_id IN (SELECT id FROM accounts WHERE name = ?1)))`,
			model.DefaultAccount, model.AuditAccountCreate).Scan(
			&o.Accounts, &o.Keys, &o.SSHKeys, &o.AuditEvents, &o.OtherAccounts, &o.OtherEvents); err != nil {
			return err
		}
		if err := o.Check(); err != nil {
			return err
		}
		if o.Accounts > 0 {
			if err := dropDefault(ctx, tx); err != nil {
				return err
			}
		}
		return load(ctx, tx, src, &n)
	})
	if err != nil {
		return storage.Counts{}, err
	}
	return n, nil
}

// dropDefault deletes the "default" account of a new database and its
// creation event. The audit log is append-only, so its trigger is lifted
// for this one delete, inside the transaction, and put back as it was.
func dropDefault(ctx context.Context, tx dbtx) error {
	var trigger string
	if err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_no_delete'`).Scan(&trigger); err != nil {
		return fmt.Errorf("the audit log's trigger: %w", err)
	}
	for _, q := range []string{`DROP TRIGGER audit_no_delete`, `DELETE FROM audit_events`, `DELETE FROM accounts`, trigger} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// load inserts each table of src through one prepared statement.
func load(ctx context.Context, tx dbtx, src storage.Source, n *storage.Counts) error {
	err := insertAll(ctx, tx, src.Accounts(), `INSERT INTO accounts (id, name, query_total, mutation_total, credits,
		period, created_at, token_digest, token_hint, token_created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		func(r storage.AccountRow) []any {
			n.Accounts++
			if r.TokenDigest != nil {
				n.Tokens++
			}
			return []any{r.ID, r.Name, r.QueryTotal, r.MutationTotal, r.Credits, r.Period, r.CreatedAt,
				r.TokenDigest, r.TokenHint, r.TokenCreatedAt}
		})
	if err != nil {
		return err
	}
	err = insertAll(ctx, tx, src.Keys(), `INSERT INTO keys (id, account_id, name, client_id, secret_digest, secret_hint,
		secret_rotated_at, permissions, query_alloc, mutation_alloc, query_used, mutation_used, credits_used,
		period_start, created_at, last_used_at, status, revoked_at, keeps_allocation)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		func(r storage.KeyRow) []any {
			n.Keys++
			return []any{r.ID, r.AccountID, r.Name, r.ClientID, r.SecretDigest, r.SecretHint, r.SecretRotatedAt,
				r.Permissions, r.QueryAlloc, r.MutationAlloc, r.QueryUsed, r.MutationUsed, r.CreditsUsed,
				r.PeriodStart, r.CreatedAt, r.LastUsedAt, r.Status, r.RevokedAt, r.KeepsAllocation}
		})
	if err != nil {
		return err
	}
	err = insertAll(ctx, tx, src.UsageDays(), `INSERT INTO usage_days (key_id, day, queries, mutations, credits,
		denied_401, denied_403, denied_429, denied_402) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		func(r storage.UsageRow) []any {
			n.UsageDays++
			return []any{r.KeyID, r.Day, r.Queries, r.Mutations, r.Credits, r.Denied401, r.Denied403, r.Denied429, r.Denied402}
		})
	if err != nil {
		return err
	}
	err = insertAll(ctx, tx, src.AuditEvents(), `INSERT INTO audit_events (id, account_id, key_id, at, actor, action, details)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		func(r storage.AuditRow) []any {
			n.AuditEvents++
			return []any{r.ID, r.AccountID, r.KeyID, r.At, r.Actor, r.Action, r.Details}
		})
	if err != nil {
		return err
	}
	return insertAll(ctx, tx, src.SSHKeys(), `INSERT INTO ssh_keys (fingerprint, account_id, public_key, comment, added_at)
		VALUES (?, ?, ?, ?, ?)`,
		func(r storage.SSHKeyRow) []any {
			n.SSHKeys++
			return []any{r.Fingerprint, r.AccountID, r.PublicKey, r.Comment, r.AddedAt}
		})
}

// insertAll runs query once per row of rows, with the arguments args makes.
func insertAll[T any](ctx context.Context, tx dbtx, rows iter.Seq2[T, error], query string, args func(T) []any) error {
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer st.Close()
	for r, err := range rows {
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, args(r)...); err != nil {
			return err
		}
	}
	return nil
}
