package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

var _ storage.Admin = (*DB)(nil)

const accountCols = `a.id, a.name, a.query_total, a.mutation_total, a.credits, a.period, a.created_at`

// scanAccount reads accountCols, then extra.
func (db *DB) scanAccount(r pgx.Row, extra ...any) (model.Account, error) {
	var a model.Account
	var created int64
	var period string
	err := r.Scan(append([]any{&a.ID, &a.Name, &a.QueryTotal, &a.MutationTotal, &a.Credits, &period, &created}, extra...)...)
	if err != nil {
		return a, err
	}
	a.Period = model.Period(period)
	a.CreatedAt = fromMs(created)
	if end := a.Period.End(db.now()); !end.IsZero() {
		a.ResetsAt = &end
	}
	return a, nil
}

// loadAccount reads one account with what its keys hold, in one statement
// (one snapshot). where names the account by a.id or a.name.
func (db *DB) loadAccount(ctx context.Context, q querier, where string, arg any) (model.Account, error) {
	var h [4]int64
	a, err := db.scanAccount(q.QueryRow(ctx, `SELECT `+accountCols+`, h.* FROM accounts a,
		LATERAL (SELECT `+holdsCols(db.now())+` FROM keys k WHERE k.account_id = a.id) h WHERE `+where, arg),
		&h[0], &h[1], &h[2], &h[3])
	if errors.Is(err, pgx.ErrNoRows) {
		return a, model.AccountNotFound(fmt.Sprint(arg))
	}
	a.QueryHeld, a.MutationHeld, a.ActiveKeys, a.RevokedKeys = h[0], h[1], h[2], h[3]
	return a, db.wrapErr(err)
}

// accountRow reads one account without what its keys hold: for looking up
// whose a token or SSH key is.
func (db *DB) accountRow(ctx context.Context, q querier, where string, arg any) (model.Account, error) {
	a, err := db.scanAccount(q.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts a WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, model.AccountNotFound(fmt.Sprint(arg))
	}
	return a, db.wrapErr(err)
}

// lockAccount locks an account row (FOR UPDATE) inside tx and reads it with
// what its keys hold. The sums are read by a statement of their own after
// the lock is granted, so under READ COMMITTED they see every change
// committed before it: every change that moves an allocation takes this
// lock, so none can slip in between the sums and the commit.
// where names the account by a.id or a.name.
func (db *DB) lockAccount(ctx context.Context, tx pgx.Tx, where string, arg any) (model.Account, error) {
	a, err := db.scanAccount(tx.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts a WHERE `+where+` FOR UPDATE`, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, model.AccountNotFound(fmt.Sprint(arg))
	}
	if err != nil {
		return a, err
	}
	return a, db.holds(ctx, tx, &a)
}

// holds fills in what the account's keys hold and how many there are.
func (db *DB) holds(ctx context.Context, q querier, a *model.Account) error {
	return q.QueryRow(ctx, holdsQuery(db.now()), a.ID).Scan(&a.QueryHeld, &a.MutationHeld, &a.ActiveKeys, &a.RevokedKeys)
}

// Accounts lists every account by name.
func (db *DB) Accounts(ctx context.Context) ([]model.Account, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+accountCols+`, h.* FROM accounts a,
		LATERAL (SELECT `+holdsCols(db.now())+` FROM keys k WHERE k.account_id = a.id) h ORDER BY a.name COLLATE "C"`)
	if err != nil {
		return nil, db.wrapErr(err)
	}
	defer rows.Close()
	out := []model.Account{}
	for rows.Next() {
		var h [4]int64
		a, err := db.scanAccount(rows, &h[0], &h[1], &h[2], &h[3])
		if err != nil {
			return nil, db.wrapErr(err)
		}
		a.QueryHeld, a.MutationHeld, a.ActiveKeys, a.RevokedKeys = h[0], h[1], h[2], h[3]
		out = append(out, a)
	}
	return out, db.wrapErr(rows.Err())
}

// Stats counts accounts and keys.
func (db *DB) Stats(ctx context.Context) (model.Stats, error) {
	var st model.Stats
	err := db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM accounts),
		count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'revoked') FROM keys`).Scan(
		&st.Accounts, &st.ActiveKeys, &st.RevokedKeys)
	return st, db.wrapErr(err)
}

// AccountByName reads one account.
func (db *DB) AccountByName(ctx context.Context, name string) (model.Account, error) {
	return db.loadAccount(ctx, db.pool, "a.name = $1", name)
}

// audit appends an event inside tx.
func audit(ctx context.Context, q querier, at time.Time, accountID int64, keyID *int64, actor, action string, details map[string]any) error {
	d, err := detailsJSON(details)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO audit_events (account_id, key_id, at, actor, action, details)
		VALUES ($1, $2, $3, $4, $5, $6)`, accountID, keyID, ms(at), actor, action, d)
	return err
}

// detailsJSON is an audit event's details as stored: "" for none.
func detailsJSON(details map[string]any) (string, error) {
	if len(details) == 0 {
		return "", nil
	}
	b, err := json.Marshal(details)
	return string(b), err
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
	d := model.DigestOf(token)
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
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO accounts (name, query_total, mutation_total, credits, period, created_at, token_digest, token_hint, token_created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, name, queryTotal, mutationTotal, credits, string(period), ms(now),
			d[:], model.Hint(token), ms(now)).Scan(&id); err != nil {
			return err
		}
		return audit(ctx, tx, now, id, nil, actor, model.AuditAccountCreate, map[string]any{
			"query_total": queryTotal, "mutation_total": mutationTotal, "credits": credits, "period": period})
	})
	if err != nil {
		return model.Account{}, "", err
	}
	a, err := db.AccountByName(ctx, name)
	return a, token, err
}

// UpdateAccount changes totals, credits or period. A total below what the
// keys hold is refused.
func (db *DB) UpdateAccount(ctx context.Context, actor, name string, set model.AccountUpdate) (model.Account, error) {
	if err := set.Validate(); err != nil {
		return model.Account{}, err
	}
	err := db.tx(ctx, func(tx pgx.Tx) error {
		a, err := db.lockAccount(ctx, tx, "a.name = $1", name)
		if err != nil {
			return err
		}
		details := map[string]any{}
		if set.Period != nil && *set.Period != a.Period {
			details["period"] = map[string]any{"from": a.Period, "to": *set.Period}
			a.Period = *set.Period
			// What the keys hold depends on the period: recompute for the
			// new one. The holds query reads the period from the row, so
			// it is written first (the rollback undoes it if a total is
			// then refused).
			if _, err := tx.Exec(ctx, `UPDATE accounts SET period = $1 WHERE id = $2`, string(a.Period), a.ID); err != nil {
				return err
			}
			if err := db.holds(ctx, tx, &a); err != nil {
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
		if _, err := tx.Exec(ctx, `UPDATE accounts SET query_total = $1, mutation_total = $2, credits = $3, period = $4
			WHERE id = $5`, a.QueryTotal, a.MutationTotal, credits, string(a.Period), a.ID); err != nil {
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
	err := db.tx(ctx, func(tx pgx.Tx) error {
		now := db.now()
		var id int64
		err := tx.QueryRow(ctx, `UPDATE accounts SET token_digest = $1, token_hint = $2, token_created_at = $3
			WHERE name = $4 RETURNING id`, d[:], model.Hint(token), ms(now), name).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return model.AccountNotFound(name)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, now, id, nil, actor, model.AuditTokenRotate, map[string]any{"token_hint": model.Hint(token)})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// AuthenticateToken returns the account an API token belongs to. The
// digest found is compared in constant time, and an unknown token costs
// the same comparison against model.DummyDigest.
func (db *DB) AuthenticateToken(ctx context.Context, token string) (model.Account, error) {
	if model.CheckSecret(model.TokenPrefix, token) != nil {
		return model.Account{}, model.ErrUnauthorized
	}
	d := model.DigestOf(token)
	var stored []byte
	a, err := db.scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountCols+`, a.token_digest FROM accounts a
		WHERE a.token_digest = $1`, d[:]), &stored)
	if errors.Is(err, pgx.ErrNoRows) {
		model.DummyDigest.Equal(d)
		return model.Account{}, model.ErrUnauthorized
	}
	if err != nil {
		return model.Account{}, db.wrapErr(err)
	}
	var sd model.Digest
	copy(sd[:], stored)
	if len(stored) != len(sd) || !sd.Equal(d) {
		return model.Account{}, model.ErrUnauthorized
	}
	return a, nil
}

// AddSSHKey registers a public key for an account.
func (db *DB) AddSSHKey(ctx context.Context, actor, account string, key model.SSHKey) (model.SSHKey, error) {
	if key.Fingerprint == "" || key.PublicKey == "" {
		return model.SSHKey{}, &model.ValidationError{Field: "public_key", Msg: "no SSH public key given"}
	}
	key.Account = account
	key.AddedAt = fromMs(ms(db.now()))
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM accounts WHERE name = $1`, account).Scan(&id); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return model.AccountNotFound(account)
			}
			return err
		}
		var owner string
		err := tx.QueryRow(ctx, `SELECT a.name FROM ssh_keys s JOIN accounts a ON a.id = s.account_id WHERE s.fingerprint = $1`, key.Fingerprint).Scan(&owner)
		if err == nil {
			return fmt.Errorf("%w (it belongs to account %q)", model.ErrSSHKeyExists, owner)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// A concurrent add of the same fingerprint fails on the primary
		// key instead: wrapErr makes it model.ErrSSHKeyExists.
		if _, err := tx.Exec(ctx, `INSERT INTO ssh_keys (fingerprint, account_id, public_key, comment, added_at) VALUES ($1, $2, $3, $4, $5)`,
			key.Fingerprint, id, key.PublicKey, key.Comment, ms(key.AddedAt)); err != nil {
			return err
		}
		return audit(ctx, tx, key.AddedAt, id, nil, actor, model.AuditSSHKeyAdd, map[string]any{"fingerprint": key.Fingerprint, "comment": key.Comment})
	})
	return key, err
}

// SSHKeys lists an account's SSH keys.
func (db *DB) SSHKeys(ctx context.Context, account string) ([]model.SSHKey, error) {
	a, err := db.accountRow(ctx, db.pool, "a.name = $1", account)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT fingerprint, public_key, comment, added_at
		FROM ssh_keys WHERE account_id = $1 ORDER BY added_at, fingerprint COLLATE "C"`, a.ID)
	if err != nil {
		return nil, db.wrapErr(err)
	}
	defer rows.Close()
	out := []model.SSHKey{}
	for rows.Next() {
		k := model.SSHKey{Account: account}
		var added int64
		if err := rows.Scan(&k.Fingerprint, &k.PublicKey, &k.Comment, &added); err != nil {
			return nil, db.wrapErr(err)
		}
		k.AddedAt = fromMs(added)
		out = append(out, k)
	}
	return out, db.wrapErr(rows.Err())
}

// RemoveSSHKey unregisters a key by fingerprint.
func (db *DB) RemoveSSHKey(ctx context.Context, actor, account, fingerprint string) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `DELETE FROM ssh_keys s USING accounts a
			WHERE a.id = s.account_id AND a.name = $1 AND s.fingerprint = $2 RETURNING s.account_id`, account, fingerprint).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return &model.NotFoundError{Kind: model.ErrSSHKeyNotFound, ID: fingerprint}
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, db.now(), id, nil, actor, model.AuditSSHKeyRemove, map[string]any{"fingerprint": fingerprint})
	})
}

// AccountForSSHKey returns the account an SSH key fingerprint opens.
func (db *DB) AccountForSSHKey(ctx context.Context, fingerprint string) (model.Account, error) {
	a, err := db.scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts a
		JOIN ssh_keys s ON s.account_id = a.id WHERE s.fingerprint = $1`, fingerprint))
	if errors.Is(err, pgx.ErrNoRows) {
		return model.Account{}, &model.NotFoundError{Kind: model.ErrSSHKeyNotFound, ID: fingerprint}
	}
	return a, db.wrapErr(err)
}

// Store returns the key store of one account, acting as actor. Closing it
// leaves the DB open.
func (db *DB) Store(account, actor string) (storage.Store, error) {
	// Only the account's id: its sums are computed when they are read.
	var id int64
	err := db.pool.QueryRow(context.Background(), `SELECT id FROM accounts WHERE name = $1`, account).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, model.AccountNotFound(account)
	}
	if err != nil {
		return nil, db.wrapErr(err)
	}
	return &accountStore{db: db, accountID: id, account: account, actor: actor}, nil
}

// Backup is not available on PostgreSQL: the server's own tools make
// consistent copies.
func (db *DB) Backup(ctx context.Context, path string) error {
	return errors.New("backup copies a SQLite file; for PostgreSQL use pg_dump (or `keydeck copy` to a SQLite file)")
}
