package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// queryer is what reads need: the read pool or the writer's transaction.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMs(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMs(v.Int64)
	return &t
}

// loadAccount reads one account with what its keys hold.
func (db *DB) loadAccount(ctx context.Context, q queryer, where string, arg any) (model.Account, error) {
	a, err := db.accountRow(ctx, q, where, arg)
	if err != nil {
		return a, err
	}
	if err := db.holds(ctx, q, db.now(), &a); err != nil {
		return a, wrapErr(err)
	}
	return a, nil
}

// accountRow reads one account without what its keys hold (a scan of the
// account's keys): for looking up whose a token or SSH key is.
func (db *DB) accountRow(ctx context.Context, q queryer, where string, arg any) (model.Account, error) {
	var a model.Account
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, name, query_total, mutation_total, credits, period, created_at
		FROM accounts WHERE `+where, arg).Scan(&a.ID, &a.Name, &a.QueryTotal, &a.MutationTotal, &a.Credits, &a.Period, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return a, model.AccountNotFound(fmt.Sprint(arg))
	}
	if err != nil {
		return a, wrapErr(err)
	}
	a.CreatedAt = fromMs(created)
	if end := a.Period.End(db.now()); !end.IsZero() {
		a.ResetsAt = &end
	}
	return a, nil
}

// snapshot runs reads in one read transaction: key rows, the per-day
// history and the pending log are then seen as of one instant, so a fold
// committed between two of the reads cannot hide units or count them twice.
func (db *DB) snapshot(ctx context.Context, fn func(q queryer) error) error {
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// loadAccountSnap is loadAccount in a snapshot of its own.
func (db *DB) loadAccountSnap(ctx context.Context, where string, arg any) (a model.Account, err error) {
	err = db.snapshot(ctx, func(q queryer) error {
		a, err = db.loadAccount(ctx, q, where, arg)
		return err
	})
	return a, err
}

// holds fills in what the account's keys hold and how many there are.
func (db *DB) holds(ctx context.Context, q queryer, now time.Time, a *model.Account) error {
	if err := q.QueryRowContext(ctx, holdsQuery(now), a.ID).Scan(&a.QueryHeld, &a.MutationHeld, &a.ActiveKeys, &a.RevokedKeys); err != nil {
		return err
	}
	pending, err := pendingFor(ctx, q, now, a.ID)
	if err != nil {
		return err
	}
	queries, mutations := heldPending(pending)
	a.QueryHeld += queries
	a.MutationHeld += mutations
	return nil
}

// Accounts lists every account by name.
func (db *DB) Accounts(ctx context.Context) ([]model.Account, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name FROM accounts ORDER BY name`)
	if err != nil {
		return nil, wrapErr(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, wrapErr(err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapErr(err)
	}
	out := make([]model.Account, 0, len(names))
	for _, n := range names {
		a, err := db.AccountByName(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Stats counts accounts and keys.
func (db *DB) Stats(ctx context.Context) (model.Stats, error) {
	var st model.Stats
	err := db.read.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM accounts),
		COALESCE(SUM(status = 'active'), 0), COALESCE(SUM(status = 'revoked'), 0) FROM keys`).Scan(
		&st.Accounts, &st.ActiveKeys, &st.RevokedKeys)
	return st, wrapErr(err)
}

// AccountByName reads one account.
func (db *DB) AccountByName(ctx context.Context, name string) (model.Account, error) {
	return db.loadAccountSnap(ctx, "name = ?", name)
}

// audit appends an event inside tx.
func audit(ctx context.Context, tx dbtx, at time.Time, accountID int64, keyID *int64, actor, action string, details map[string]any) error {
	d := ""
	if len(details) > 0 {
		b, err := json.Marshal(details)
		if err != nil {
			return err
		}
		d = string(b)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_events (account_id, key_id, at, actor, action, details)
		VALUES (?, ?, ?, ?, ?, ?)`, accountID, keyID, ms(at), actor, action, d)
	return err
}

// CreateAccount makes an account and returns its first API token.
func (db *DB) CreateAccount(ctx context.Context, actor, name string, set model.AccountUpdate) (model.Account, string, error) {
	if err := model.ValidateAccountName(name); err != nil {
		return model.Account{}, "", err
	}
	if err := set.Validate(); err != nil {
		return model.Account{}, "", err
	}
	token := model.NewToken()
	if err := db.write(ctx, func(tx dbtx) error {
		_, err := db.createAccount(ctx, tx, actor, name, set, token)
		return err
	}); err != nil {
		return model.Account{}, "", err
	}
	a, err := db.AccountByName(ctx, name)
	return a, token, err
}

func (db *DB) createAccount(ctx context.Context, tx dbtx, actor, name string, set model.AccountUpdate, token string) (int64, error) {
	now := db.now()
	queryTotal, mutationTotal, credits, period := int64(model.DefaultQueryTotal), int64(model.DefaultMutationTotal), int64(model.DefaultCredits), model.PeriodMonthly
	if set.QueryTotal != nil {
		queryTotal = *set.QueryTotal
	}
	if set.MutationTotal != nil {
		mutationTotal = *set.MutationTotal
	}
	if set.Credits != nil {
		credits = *set.Credits
	}
	if set.AddCredits != nil {
		credits = min(max(0, credits+*set.AddCredits), model.MaxQuota)
	}
	if set.Period != nil {
		period = *set.Period
	}
	var digest []byte
	var hint any
	if token != "" {
		d := model.DigestOf(token)
		digest, hint = d[:], model.Hint(token)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO accounts (name, query_total, mutation_total, credits, period, created_at, token_digest, token_hint, token_created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, name, queryTotal, mutationTotal, credits, string(period), ms(now), digest, hint, ms(now))
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	return id, audit(ctx, tx, now, id, nil, actor, model.AuditAccountCreate, map[string]any{
		"query_total": queryTotal, "mutation_total": mutationTotal, "credits": credits, "period": period})
}

// ensureDefault creates the "default" account on a fresh database. It has
// no API token until `keydeck account token default` makes one.
func (db *DB) ensureDefault(ctx context.Context) error {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE name = ?`, model.DefaultAccount).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	return db.write(ctx, func(tx dbtx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE name = ?`, model.DefaultAccount).Scan(&n); err != nil || n > 0 {
			return err
		}
		_, err := db.createAccount(ctx, tx, "keydeck", model.DefaultAccount, model.AccountUpdate{}, "")
		return err
	})
}

// UpdateAccount changes totals, credits or period. A total below what the
// keys hold is refused.
func (db *DB) UpdateAccount(ctx context.Context, actor, name string, set model.AccountUpdate) (model.Account, error) {
	if err := set.Validate(); err != nil {
		return model.Account{}, err
	}
	err := db.write(ctx, func(tx dbtx) error {
		a, err := db.loadAccount(ctx, tx, "name = ?", name)
		if err != nil {
			return err
		}
		details := map[string]any{}
		if set.Period != nil && *set.Period != a.Period {
			details["period"] = map[string]any{"from": a.Period, "to": *set.Period}
			a.Period = *set.Period
			// What the keys hold depends on the period: recompute for the
			// new one. The holds queries read the period from the row, so
			// it is written first (the job's savepoint undoes it if a total
			// is then refused).
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET period = ? WHERE id = ?`, a.Period, a.ID); err != nil {
				return err
			}
			now := db.now()
			if err := db.holds(ctx, tx, now, &a); err != nil {
				return err
			}
		}
		if v := set.QueryTotal; v != nil {
			if err := model.CheckTotal(model.KindQuery, *v, a.QueryHeld); err != nil {
				return err
			}
			details["query_total"] = map[string]any{"from": a.QueryTotal, "to": *v}
			a.QueryTotal = *v
		}
		if v := set.MutationTotal; v != nil {
			if err := model.CheckTotal(model.KindMutation, *v, a.MutationHeld); err != nil {
				return err
			}
			details["mutation_total"] = map[string]any{"from": a.MutationTotal, "to": *v}
			a.MutationTotal = *v
		}
		credits := a.Credits
		if set.Credits != nil {
			credits = *set.Credits
		}
		if set.AddCredits != nil {
			credits += *set.AddCredits
			if credits < 0 {
				return &model.ValidationError{Field: "credits", Msg: fmt.Sprintf("the balance is %d; cannot take away more than that", a.Credits)}
			}
			if credits > model.MaxQuota {
				return &model.ValidationError{Field: "credits", Msg: "the balance would exceed 1000000000000"}
			}
		}
		if credits != a.Credits {
			details["credits"] = map[string]any{"from": a.Credits, "to": credits}
		}
		if len(details) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET query_total = ?, mutation_total = ?, credits = ?, period = ?
			WHERE id = ?`, a.QueryTotal, a.MutationTotal, credits, string(a.Period), a.ID); err != nil {
			return err
		}
		return audit(ctx, tx, db.now(), a.ID, nil, actor, model.AuditAccountSet, details)
	})
	if err != nil {
		return model.Account{}, err
	}
	return db.AccountByName(ctx, name)
}

// RotateToken replaces an account's API token; the old one stops working
// at once.
func (db *DB) RotateToken(ctx context.Context, actor, name string) (string, error) {
	token := model.NewToken()
	d := model.DigestOf(token)
	err := db.write(ctx, func(tx dbtx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE name = ?`, name).Scan(&id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return model.AccountNotFound(name)
			}
			return err
		}
		now := db.now()
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET token_digest = ?, token_hint = ?, token_created_at = ? WHERE id = ?`,
			d[:], model.Hint(token), ms(now), id); err != nil {
			return err
		}
		return audit(ctx, tx, now, id, nil, actor, model.AuditTokenRotate, map[string]any{"token_hint": model.Hint(token)})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// AuthenticateToken returns the account an API token belongs to.
func (db *DB) AuthenticateToken(ctx context.Context, token string) (model.Account, error) {
	if model.CheckSecret(model.TokenPrefix, token) != nil {
		return model.Account{}, model.ErrUnauthorized
	}
	d := model.DigestOf(token)
	var id int64
	var stored []byte
	err := db.read.QueryRowContext(ctx, `SELECT id, token_digest FROM accounts WHERE token_digest = ?`, d[:]).Scan(&id, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		model.DummyDigest.Equal(d)
		return model.Account{}, model.ErrUnauthorized
	}
	if err != nil {
		return model.Account{}, wrapErr(err)
	}
	var sd model.Digest
	copy(sd[:], stored)
	if !sd.Equal(d) {
		return model.Account{}, model.ErrUnauthorized
	}
	return db.accountRow(ctx, db.read, "id = ?", id)
}

// AddSSHKey registers a public key for an account.
func (db *DB) AddSSHKey(ctx context.Context, actor, account string, key model.SSHKey) (model.SSHKey, error) {
	if key.Fingerprint == "" || key.PublicKey == "" {
		return model.SSHKey{}, &model.ValidationError{Field: "public_key", Msg: "no SSH public key given"}
	}
	key.Account = account
	key.AddedAt = fromMs(ms(db.now()))
	err := db.write(ctx, func(tx dbtx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE name = ?`, account).Scan(&id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return model.AccountNotFound(account)
			}
			return err
		}
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT a.name FROM ssh_keys s JOIN accounts a ON a.id = s.account_id WHERE s.fingerprint = ?`, key.Fingerprint).Scan(&owner)
		if err == nil {
			return fmt.Errorf("%w (it belongs to account %q)", model.ErrSSHKeyExists, owner)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ssh_keys (fingerprint, account_id, public_key, comment, added_at) VALUES (?, ?, ?, ?, ?)`,
			key.Fingerprint, id, key.PublicKey, key.Comment, ms(key.AddedAt)); err != nil {
			return err
		}
		return audit(ctx, tx, key.AddedAt, id, nil, actor, model.AuditSSHKeyAdd, map[string]any{"fingerprint": key.Fingerprint, "comment": key.Comment})
	})
	return key, err
}

// SSHKeys lists an account's SSH keys.
func (db *DB) SSHKeys(ctx context.Context, account string) ([]model.SSHKey, error) {
	if _, err := db.AccountByName(ctx, account); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT s.fingerprint, s.public_key, s.comment, s.added_at
		FROM ssh_keys s JOIN accounts a ON a.id = s.account_id WHERE a.name = ? ORDER BY s.added_at, s.fingerprint`, account)
	if err != nil {
		return nil, wrapErr(err)
	}
	defer rows.Close()
	out := []model.SSHKey{}
	for rows.Next() {
		k := model.SSHKey{Account: account}
		var added int64
		if err := rows.Scan(&k.Fingerprint, &k.PublicKey, &k.Comment, &added); err != nil {
			return nil, wrapErr(err)
		}
		k.AddedAt = fromMs(added)
		out = append(out, k)
	}
	return out, wrapErr(rows.Err())
}

// RemoveSSHKey unregisters a key by fingerprint.
func (db *DB) RemoveSSHKey(ctx context.Context, actor, account, fingerprint string) error {
	return db.write(ctx, func(tx dbtx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT s.account_id FROM ssh_keys s JOIN accounts a ON a.id = s.account_id
			WHERE a.name = ? AND s.fingerprint = ?`, account, fingerprint).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return &model.NotFoundError{Kind: model.ErrSSHKeyNotFound, ID: fingerprint}
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ssh_keys WHERE fingerprint = ?`, fingerprint); err != nil {
			return err
		}
		return audit(ctx, tx, db.now(), id, nil, actor, model.AuditSSHKeyRemove, map[string]any{"fingerprint": fingerprint})
	})
}

// AccountForSSHKey returns the account an SSH key fingerprint opens.
func (db *DB) AccountForSSHKey(ctx context.Context, fingerprint string) (model.Account, error) {
	var id int64
	err := db.read.QueryRowContext(ctx, `SELECT account_id FROM ssh_keys WHERE fingerprint = ?`, fingerprint).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return model.Account{}, &model.NotFoundError{Kind: model.ErrSSHKeyNotFound, ID: fingerprint}
	}
	if err != nil {
		return model.Account{}, wrapErr(err)
	}
	return db.accountRow(ctx, db.read, "id = ?", id)
}

// Store returns the key store of one account, acting as actor. Closing it
// leaves the DB open.
func (db *DB) Store(account, actor string) (storage.Store, error) {
	// Only the account's id: its sums are computed when they are read.
	var id int64
	err := db.read.QueryRowContext(context.Background(), `SELECT id FROM accounts WHERE name = ?`, account).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, model.AccountNotFound(account)
	}
	if err != nil {
		return nil, wrapErr(err)
	}
	return &accountStore{db: db, accountID: id, account: account, actor: actor}, nil
}
