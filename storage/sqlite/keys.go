package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// accountStore is the Store of one account.
type accountStore struct {
	db        *DB
	accountID int64
	account   string
	actor     string
}

var _ storage.Store = (*accountStore)(nil)

// Close does nothing: the store is a view of the DB, which its opener
// closes.
func (s *accountStore) Close() error { return nil }

func (s *accountStore) Account(ctx context.Context) (model.Account, error) {
	return s.db.loadAccountSnap(ctx, "id = ?", s.accountID)
}

func (s *accountStore) Verify(ctx context.Context, req model.VerifyRequest) (model.VerifyResult, error) {
	return s.db.Verify(ctx, req)
}

type scanner interface{ Scan(...any) error }

// scanKey reads a row of keySelect (usage already for the current period).
func (db *DB) scanKey(r scanner, now time.Time) (model.Key, error) {
	var (
		k                      model.Key
		rotated, created, last int64
		revoked                sql.NullInt64
		period                 model.Period
	)
	if err := r.Scan(&k.ID, &k.Account, &k.Name, &k.ClientID, &k.SecretHint, &rotated, &k.Permissions,
		&k.QueryAlloc, &k.MutationAlloc, &k.QueryUsed, &k.MutationUsed, &k.CreditsUsed,
		&created, &last, &k.Status, &revoked, &k.KeepsAllocation, &period); err != nil {
		return k, err
	}
	k.PeriodStart = period.Start(now)
	if end := period.End(now); !end.IsZero() {
		k.ResetsAt = &end
	}
	k.SecretRotatedAt = fromMs(rotated)
	k.CreatedAt = fromMs(created)
	if last > 0 {
		t := fromMs(last)
		k.LastUsedAt = &t
	}
	k.RevokedAt = fromNullMs(revoked)
	return k, nil
}

// resolve finds a key of this account by Client ID or exact name: a Client
// ID first, then the active key of that name, then the one revoked key of
// that name.
func (s *accountStore) resolve(ctx context.Context, q queryer, id string) (model.Key, error) {
	k, err := s.resolveRow(ctx, q, id)
	if err != nil {
		return k, err
	}
	ks := []model.Key{k}
	if err := addPending(ctx, q, s.db.now(), s.accountID, ks); err != nil {
		return k, wrapErr(err)
	}
	return ks[0], nil
}

// resolveRow is resolve without pending usage.
func (s *accountStore) resolveRow(ctx context.Context, q queryer, id string) (model.Key, error) {
	now := s.db.now()
	if id == "" {
		return model.Key{}, &model.ValidationError{Field: "id", Msg: "no key given (a Client ID or a key name)"}
	}
	if model.ValidClientID(id) {
		k, err := s.db.scanKey(q.QueryRowContext(ctx, keySelect(now)+`WHERE k.client_id = ? AND k.account_id = ?`, id, s.accountID), now)
		if err == nil {
			return k, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return k, wrapErr(err)
		}
	}
	rows, err := q.QueryContext(ctx, keySelect(now)+`WHERE k.name = ? AND k.account_id = ?
		ORDER BY k.status = 'active' DESC, k.created_at DESC LIMIT 21`, id, s.accountID)
	if err != nil {
		return model.Key{}, wrapErr(err)
	}
	defer rows.Close()
	var found []model.Key
	for rows.Next() {
		k, err := s.db.scanKey(rows, now)
		if err != nil {
			return k, wrapErr(err)
		}
		if k.Active() {
			return k, nil
		}
		found = append(found, k)
	}
	if err := rows.Err(); err != nil {
		return model.Key{}, wrapErr(err)
	}
	switch len(found) {
	case 0:
		return model.Key{}, model.KeyNotFound(id)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, k := range found {
		ids[i] = k.ClientID
	}
	return model.Key{}, &model.AmbiguousError{Name: id, Matches: ids}
}

func (s *accountStore) GetKey(ctx context.Context, id string) (model.Key, error) {
	var k model.Key
	err := s.db.snapshot(ctx, func(q queryer) (err error) {
		k, err = s.resolve(ctx, q, id)
		return err
	})
	return k, err
}

// ListKeys returns a page of keys with a keyset cursor.
func (s *accountStore) ListKeys(ctx context.Context, opt storage.ListOptions) (page storage.KeyPage, err error) {
	err = s.db.snapshot(ctx, func(q queryer) (err error) {
		page, err = s.listKeys(ctx, q, opt)
		return err
	})
	return page, err
}

func (s *accountStore) listKeys(ctx context.Context, q queryer, opt storage.ListOptions) (storage.KeyPage, error) {
	if opt.Limit <= 0 {
		opt.Limit = storage.DefaultLimit
	}
	if opt.Limit > storage.MaxLimit {
		opt.Limit = storage.MaxLimit
	}
	if opt.Sort == "" {
		opt.Sort = storage.SortCreated
	}
	now := s.db.now()
	where := []string{"k.account_id = ?"}
	args := []any{s.accountID}
	if !opt.IncludeRevoked {
		where = append(where, "k.status = 'active'")
	}
	if opt.Name != "" {
		where = append(where, "k.name = ?")
		args = append(args, opt.Name)
	}
	if q := strings.TrimSpace(opt.Query); q != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
		where = append(where, `(k.name LIKE ? ESCAPE '\' OR k.client_id LIKE ? ESCAPE '\')`)
		args = append(args, like, like)
	}
	var total int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM keys k WHERE `+strings.Join(where, " AND "), args...).Scan(&total); err != nil {
		return storage.KeyPage{}, wrapErr(err)
	}
	usage := "(" + usedSQL(now, "query") + " + " + usedSQL(now, "mutation") + ")"
	var order string
	switch opt.Sort {
	case storage.SortCreated:
		order = "k.created_at DESC, k.id DESC"
	case storage.SortName:
		order = "k.name ASC, k.id ASC"
	case storage.SortUsage:
		order = usage + " DESC, k.id DESC"
	default:
		return storage.KeyPage{}, &model.ValidationError{Field: "sort", Msg: fmt.Sprintf("unknown sort %q (use created, name or usage)", model.Sanitize(string(opt.Sort), 20))}
	}
	if opt.Cursor != "" {
		c, err := storage.DecodeCursor(opt.Cursor, opt.Sort)
		if err != nil {
			return storage.KeyPage{}, err
		}
		switch opt.Sort {
		case storage.SortCreated:
			n, _ := strconv.ParseInt(c.Value, 10, 64)
			where = append(where, "(k.created_at < ? OR (k.created_at = ? AND k.id < ?))")
			args = append(args, n, n, c.ID)
		case storage.SortName:
			where = append(where, "(k.name > ? OR (k.name = ? AND k.id > ?))")
			args = append(args, c.Value, c.Value, c.ID)
		case storage.SortUsage:
			n, _ := strconv.ParseInt(c.Value, 10, 64)
			where = append(where, "("+usage+" < ? OR ("+usage+" = ? AND k.id < ?))")
			args = append(args, n, n, c.ID)
		}
	}
	args = append(args, opt.Limit+1)
	// The cursor columns come last, for scanKeyExtra.
	sel := keySelect(now, "k.created_at", usage)
	rows, err := q.QueryContext(ctx, sel+`WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return storage.KeyPage{}, wrapErr(err)
	}
	defer rows.Close()
	page := storage.KeyPage{Keys: make([]model.Key, 0, min(opt.Limit, total)), Total: total}
	var lastCursor storage.Cursor
	for rows.Next() {
		if len(page.Keys) == opt.Limit {
			page.NextCursor = lastCursor.Encode(opt.Sort)
			break
		}
		var createdRaw, usageRaw int64
		k, err := s.db.scanKeyExtra(rows, now, &createdRaw, &usageRaw)
		if err != nil {
			return storage.KeyPage{}, wrapErr(err)
		}
		page.Keys = append(page.Keys, k)
		lastCursor = storage.Cursor{ID: k.ID}
		switch opt.Sort {
		case storage.SortCreated:
			lastCursor.Value = strconv.FormatInt(createdRaw, 10)
		case storage.SortName:
			lastCursor.Value = k.Name
		case storage.SortUsage:
			lastCursor.Value = strconv.FormatInt(usageRaw, 10)
		}
	}
	if err := rows.Err(); err != nil {
		return storage.KeyPage{}, wrapErr(err)
	}
	return page, wrapErr(addPending(ctx, q, now, s.accountID, page.Keys))
}

// scanKeyExtra is scanKey with two more columns at the end.
func (db *DB) scanKeyExtra(r scanner, now time.Time, extra ...any) (model.Key, error) {
	return db.scanKey(scanFunc(func(dest ...any) error { return r.Scan(append(dest, extra...)...) }), now)
}

type scanFunc func(...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func (s *accountStore) CreateKey(ctx context.Context, spec model.KeySpec) (model.Key, string, error) {
	if err := spec.Validate(); err != nil {
		return model.Key{}, "", err
	}
	secret := model.NewSecret()
	digest := model.DigestOf(secret)
	clientID := model.NewClientID()
	var key model.Key
	err := s.db.write(ctx, func(tx dbtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM keys WHERE account_id = ? AND name = ? AND status = 'active'`,
			s.accountID, spec.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %q", model.ErrDuplicateName, spec.Name)
		}
		a, err := s.db.loadAccount(ctx, tx, "id = ?", s.accountID)
		if err != nil {
			return err
		}
		if err := model.CheckNewKey(a, spec); err != nil {
			return err
		}
		now := s.db.now()
		period := a.Period
		res, err := tx.ExecContext(ctx, `INSERT INTO keys (account_id, name, client_id, secret_digest, secret_hint,
			secret_rotated_at, permissions, query_alloc, mutation_alloc, period_start, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.accountID, spec.Name, clientID, digest[:], model.Hint(secret),
			ms(now), spec.Permissions, spec.QueryAlloc, spec.MutationAlloc, period.Start(now).Unix(), ms(now))
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if err := audit(ctx, tx, now, s.accountID, &id, s.actor, model.AuditKeyCreate, map[string]any{
			"name": spec.Name, "permissions": spec.Permissions.List(),
			"query_allocation": spec.QueryAlloc, "mutation_allocation": spec.MutationAlloc}); err != nil {
			return err
		}
		key, err = s.db.scanKey(tx.QueryRowContext(ctx, keySelect(now)+`WHERE k.id = ?`, id), now)
		return err
	})
	if err != nil {
		return model.Key{}, "", err
	}
	return key, secret, nil
}

// activeKey resolves id inside tx and insists it is active.
func (s *accountStore) activeKey(ctx context.Context, tx dbtx, id string) (model.Key, error) {
	k, err := s.resolve(ctx, tx, id)
	if err != nil {
		return k, err
	}
	return k, k.CanChange()
}

// reload reads a key of this account by row id inside tx, pending usage
// included.
func (s *accountStore) reload(ctx context.Context, tx dbtx, id int64) (model.Key, error) {
	now := s.db.now()
	k, err := s.db.scanKey(tx.QueryRowContext(ctx, keySelect(now)+`WHERE k.id = ?`, id), now)
	if err != nil {
		return k, err
	}
	ks := []model.Key{k}
	err = addPending(ctx, tx, now, s.accountID, ks)
	return ks[0], err
}

func (s *accountStore) EditKey(ctx context.Context, id string, edit model.KeyEdit) (model.Key, error) {
	if err := edit.Validate(); err != nil {
		return model.Key{}, err
	}
	if edit.Empty() {
		return model.Key{}, &model.ValidationError{Field: "edit", Msg: "nothing to change (give a name, permissions or an allocation)"}
	}
	var key model.Key
	err := s.db.write(ctx, func(tx dbtx) error {
		k, err := s.activeKey(ctx, tx, id)
		if err != nil {
			return err
		}
		details := map[string]any{}
		if edit.Name != nil && *edit.Name != k.Name {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM keys WHERE account_id = ? AND name = ? AND status = 'active' AND id != ?`,
				s.accountID, *edit.Name, k.ID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: %q", model.ErrDuplicateName, *edit.Name)
			}
			details["name"] = map[string]any{"from": k.Name, "to": *edit.Name}
			k.Name = *edit.Name
		}
		if edit.Permissions != nil && *edit.Permissions != k.Permissions {
			details["permissions"] = map[string]any{"from": k.Permissions.List(), "to": edit.Permissions.List()}
			k.Permissions = *edit.Permissions
		}
		if edit.QueryAlloc != nil || edit.MutationAlloc != nil {
			a, err := s.db.loadAccount(ctx, tx, "id = ?", s.accountID)
			if err != nil {
				return err
			}
			if v := edit.QueryAlloc; v != nil && *v != k.QueryAlloc {
				if err := model.CheckAllocEdit(a, k, model.KindQuery, *v); err != nil {
					return err
				}
				details["query_allocation"] = map[string]any{"from": k.QueryAlloc, "to": *v}
				k.QueryAlloc = *v
			}
			if v := edit.MutationAlloc; v != nil && *v != k.MutationAlloc {
				if err := model.CheckAllocEdit(a, k, model.KindMutation, *v); err != nil {
					return err
				}
				details["mutation_allocation"] = map[string]any{"from": k.MutationAlloc, "to": *v}
				k.MutationAlloc = *v
			}
		}
		if len(details) == 0 {
			key = k
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE keys SET name = ?, permissions = ?, query_alloc = ?, mutation_alloc = ? WHERE id = ?`,
			k.Name, k.Permissions, k.QueryAlloc, k.MutationAlloc, k.ID); err != nil {
			return err
		}
		if err := audit(ctx, tx, s.db.now(), s.accountID, &k.ID, s.actor, model.AuditKeyEdit, details); err != nil {
			return err
		}
		key, err = s.reload(ctx, tx, k.ID)
		return err
	})
	return key, err
}

func (s *accountStore) RegenerateKey(ctx context.Context, id string) (model.Key, string, error) {
	secret := model.NewSecret()
	digest := model.DigestOf(secret)
	var key model.Key
	err := s.db.write(ctx, func(tx dbtx) error {
		k, err := s.activeKey(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.db.now()
		if _, err := tx.ExecContext(ctx, `UPDATE keys SET secret_digest = ?, secret_hint = ?, secret_rotated_at = ? WHERE id = ?`,
			digest[:], model.Hint(secret), ms(now), k.ID); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, s.accountID, &k.ID, s.actor, model.AuditKeyRegenerate, map[string]any{
			"old_secret_hint": k.SecretHint, "new_secret_hint": model.Hint(secret)}); err != nil {
			return err
		}
		key, err = s.reload(ctx, tx, k.ID)
		return err
	})
	if err != nil {
		return model.Key{}, "", err
	}
	return key, secret, nil
}

func (s *accountStore) RevokeKey(ctx context.Context, id string, keep bool) (model.Key, error) {
	var key model.Key
	err := s.db.write(ctx, func(tx dbtx) error {
		k, err := s.activeKey(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.db.now()
		if _, err := tx.ExecContext(ctx, `UPDATE keys SET status = 'revoked', revoked_at = ?, keeps_allocation = ? WHERE id = ?`,
			ms(now), keep, k.ID); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, s.accountID, &k.ID, s.actor, model.AuditKeyRevoke, map[string]any{
			"keep_allocation": keep, "query_allocation": k.QueryAlloc, "mutation_allocation": k.MutationAlloc}); err != nil {
			return err
		}
		key, err = s.reload(ctx, tx, k.ID)
		return err
	})
	return key, err
}

func (s *accountStore) ReleaseKey(ctx context.Context, id string) (model.Key, error) {
	var key model.Key
	err := s.db.write(ctx, func(tx dbtx) error {
		k, err := s.resolve(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := k.CanRelease(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE keys SET keeps_allocation = 0 WHERE id = ?`, k.ID); err != nil {
			return err
		}
		if err := audit(ctx, tx, s.db.now(), s.accountID, &k.ID, s.actor, model.AuditKeyRelease, map[string]any{
			"query_allocation": k.QueryAlloc, "mutation_allocation": k.MutationAlloc}); err != nil {
			return err
		}
		key, err = s.reload(ctx, tx, k.ID)
		return err
	})
	return key, err
}

// MaxUsageDays bounds Usage's window.
const MaxUsageDays = 366

func (s *accountStore) Usage(ctx context.Context, id string, days int) (out []model.UsageDay, err error) {
	err = s.db.snapshot(ctx, func(q queryer) (err error) {
		out, err = s.usage(ctx, q, id, days)
		return err
	})
	return out, err
}

func (s *accountStore) usage(ctx context.Context, q queryer, id string, days int) ([]model.UsageDay, error) {
	if days < 1 || days > MaxUsageDays {
		return nil, &model.ValidationError{Field: "days", Msg: "days must be between 1 and 366"}
	}
	k, err := s.resolve(ctx, q, id)
	if err != nil {
		return nil, err
	}
	today := s.db.now().UTC()
	from := today.AddDate(0, 0, -(days - 1))
	rows, err := q.QueryContext(ctx, `SELECT day, queries, mutations, credits, denied_401, denied_403, denied_429, denied_402
		FROM usage_days WHERE key_id = ? AND day >= ? AND day <= ? ORDER BY day`, k.ID, model.Day(from), model.Day(today))
	if err != nil {
		return nil, wrapErr(err)
	}
	defer rows.Close()
	got := map[string]model.UsageDay{}
	for rows.Next() {
		var u model.UsageDay
		if err := rows.Scan(&u.Day, &u.Queries, &u.Mutations, &u.Credits, &u.Denied401, &u.Denied403, &u.Denied429, &u.Denied402); err != nil {
			return nil, wrapErr(err)
		}
		got[u.Day] = u
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(err)
	}
	pending, err := pendingDays(ctx, q, k.ID)
	if err != nil {
		return nil, wrapErr(err)
	}
	for d, p := range pending {
		u := got[d]
		u.Day = d
		u.Queries += p.Queries
		u.Mutations += p.Mutations
		u.Credits += p.Credits
		got[d] = u
	}
	out := make([]model.UsageDay, 0, days)
	for i := range days {
		d := model.Day(from.AddDate(0, 0, i))
		u, ok := got[d]
		if !ok {
			u.Day = d
		}
		out = append(out, u)
	}
	return out, nil
}

func (s *accountStore) Audit(ctx context.Context, f storage.AuditFilter) (out []model.AuditEvent, err error) {
	err = s.db.snapshot(ctx, func(q queryer) (err error) {
		out, err = s.auditEvents(ctx, q, f)
		return err
	})
	return out, err
}

func (s *accountStore) auditEvents(ctx context.Context, q queryer, f storage.AuditFilter) ([]model.AuditEvent, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	where, args := "e.account_id = ?", []any{s.accountID}
	if f.Key != "" {
		k, err := s.resolve(ctx, q, f.Key)
		if err != nil {
			return nil, err
		}
		where += " AND e.key_id = ?"
		args = append(args, k.ID)
	}
	args = append(args, f.Limit)
	rows, err := q.QueryContext(ctx, `SELECT e.id, e.at, e.actor, e.action, a.name, COALESCE(k.client_id, ''),
		COALESCE(k.name, ''), e.details FROM audit_events e JOIN accounts a ON a.id = e.account_id
		LEFT JOIN keys k ON k.id = e.key_id WHERE `+where+` ORDER BY e.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, wrapErr(err)
	}
	defer rows.Close()
	out := []model.AuditEvent{}
	for rows.Next() {
		var e model.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Account, &e.ClientID, &e.KeyName, &e.Details); err != nil {
			return nil, wrapErr(err)
		}
		e.At = fromMs(at)
		out = append(out, e)
	}
	return out, wrapErr(rows.Err())
}
