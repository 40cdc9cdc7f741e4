package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
	return s.db.loadAccount(ctx, s.db.pool, "a.id = $1", s.accountID)
}

func (s *accountStore) Verify(ctx context.Context, req model.VerifyRequest) (model.VerifyResult, error) {
	return s.db.Verify(ctx, req)
}

// scanKey reads a row of keySelect (usage already for the current period),
// then extra columns.
func (db *DB) scanKey(r pgx.Row, now time.Time, extra ...any) (model.Key, error) {
	var (
		k                      model.Key
		rotated, created, last int64
		revoked                *int64
		perm                   int32
		status, period         string
	)
	if err := r.Scan(append([]any{&k.ID, &k.Account, &k.Name, &k.ClientID, &k.SecretHint, &rotated, &perm,
		&k.QueryAlloc, &k.MutationAlloc, &k.QueryUsed, &k.MutationUsed, &k.CreditsUsed,
		&created, &last, &status, &revoked, &k.KeepsAllocation, &period}, extra...)...); err != nil {
		return k, err
	}
	k.Permissions = model.Permission(perm)
	k.Status = model.Status(status)
	p := model.Period(period)
	k.PeriodStart = p.Start(now)
	if end := p.End(now); !end.IsZero() {
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
// that name. It takes no lock; writers lock what it found with lockKey.
func (s *accountStore) resolve(ctx context.Context, q querier, id string) (model.Key, error) {
	now := s.db.now()
	if id == "" {
		return model.Key{}, &model.ValidationError{Field: "id", Msg: "no key given (a Client ID or a key name)"}
	}
	if model.ValidClientID(id) {
		k, err := s.db.scanKey(q.QueryRow(ctx, keySelect(now)+`WHERE k.client_id = $1 AND k.account_id = $2`, id, s.accountID), now)
		if err == nil {
			return k, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return k, err
		}
	}
	rows, err := q.Query(ctx, keySelect(now)+`WHERE k.name = $1 AND k.account_id = $2
		ORDER BY k.status = 'active' DESC, k.created_at DESC LIMIT 21`, id, s.accountID)
	if err != nil {
		return model.Key{}, err
	}
	defer rows.Close()
	var found []model.Key
	for rows.Next() {
		k, err := s.db.scanKey(rows, now)
		if err != nil {
			return k, err
		}
		if k.Active() {
			return k, nil
		}
		found = append(found, k)
	}
	if err := rows.Err(); err != nil {
		return model.Key{}, err
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

// lockKey resolves id inside tx and locks the key's row (FOR UPDATE),
// returning the row as it is once locked: a change committed between the
// lookup and the lock (a revoke, a verification) is seen. Key rows are
// locked before account rows, in the verifier's order.
func (s *accountStore) lockKey(ctx context.Context, tx pgx.Tx, id string) (model.Key, error) {
	k, err := s.resolve(ctx, tx, id)
	if err != nil {
		return k, err
	}
	now := s.db.now()
	return s.db.scanKey(tx.QueryRow(ctx, keySelect(now)+`WHERE k.id = $1 FOR UPDATE OF k`, k.ID), now)
}

// activeKey is lockKey insisting the key is active.
func (s *accountStore) activeKey(ctx context.Context, tx pgx.Tx, id string) (model.Key, error) {
	k, err := s.lockKey(ctx, tx, id)
	if err != nil {
		return k, err
	}
	return k, k.CanChange()
}

// reload reads a key by row id.
func (s *accountStore) reload(ctx context.Context, q querier, id int64) (model.Key, error) {
	now := s.db.now()
	return s.db.scanKey(q.QueryRow(ctx, keySelect(now)+`WHERE k.id = $1`, id), now)
}

func (s *accountStore) GetKey(ctx context.Context, id string) (model.Key, error) {
	k, err := s.resolve(ctx, s.db.pool, id)
	return k, s.db.wrapErr(err)
}

// ListKeys returns a page of keys with a keyset cursor; the page and its
// total are read in one snapshot.
func (s *accountStore) ListKeys(ctx context.Context, opt storage.ListOptions) (page storage.KeyPage, err error) {
	err = s.db.snapshot(ctx, func(q querier) (err error) {
		page, err = s.listKeys(ctx, q, opt)
		return err
	})
	return page, err
}

func (s *accountStore) listKeys(ctx context.Context, q querier, opt storage.ListOptions) (storage.KeyPage, error) {
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
	where := []string{"k.account_id = $1"}
	args := []any{s.accountID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if !opt.IncludeRevoked {
		where = append(where, "k.status = 'active'")
	}
	if opt.Name != "" {
		where = append(where, "k.name = "+arg(opt.Name))
	}
	if q := strings.TrimSpace(opt.Query); q != "" {
		like := arg("%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%")
		where = append(where, `(k.name ILIKE `+like+` ESCAPE '\' OR k.client_id ILIKE `+like+` ESCAPE '\')`)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM keys k WHERE `+strings.Join(where, " AND "), args...).Scan(&total); err != nil {
		return storage.KeyPage{}, err
	}
	usage := "(" + usedSQL(now, "query") + " + " + usedSQL(now, "mutation") + ")"
	// Names sort by bytes, as in SQLite, whatever the database's collation.
	name := `k.name COLLATE "C"`
	var order string
	switch opt.Sort {
	case storage.SortCreated:
		order = "k.created_at DESC, k.id DESC"
	case storage.SortName:
		order = name + " ASC, k.id ASC"
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
		id := arg(c.ID)
		switch opt.Sort {
		case storage.SortCreated:
			n, _ := strconv.ParseInt(c.Value, 10, 64)
			v := arg(n)
			where = append(where, "(k.created_at < "+v+" OR (k.created_at = "+v+" AND k.id < "+id+"))")
		case storage.SortName:
			v := arg(c.Value) + `::text COLLATE "C"`
			where = append(where, "("+name+" > "+v+" OR (k.name = "+v+" AND k.id > "+id+"))")
		case storage.SortUsage:
			n, _ := strconv.ParseInt(c.Value, 10, 64)
			v := arg(n)
			where = append(where, "("+usage+" < "+v+" OR ("+usage+" = "+v+" AND k.id < "+id+"))")
		}
	}
	limit := arg(opt.Limit + 1)
	// The cursor columns come last, for scanKey's extra.
	sel := keySelect(now, "k.created_at", usage)
	rows, err := q.Query(ctx, sel+`WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT `+limit, args...)
	if err != nil {
		return storage.KeyPage{}, err
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
		k, err := s.db.scanKey(rows, now, &createdRaw, &usageRaw)
		if err != nil {
			return storage.KeyPage{}, err
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
	return page, rows.Err()
}

// insertKeySQL inserts a key and its create event in one statement and
// returns the key's id.
const insertKeySQL = `WITH k AS (
	INSERT INTO keys (account_id, name, client_id, secret_digest, secret_hint,
		secret_rotated_at, permissions, query_alloc, mutation_alloc, period_start, created_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $6) RETURNING id)
INSERT INTO audit_events (account_id, key_id, at, actor, action, details)
SELECT $1, k.id, $6, $11, $12, $13 FROM k RETURNING key_id`

// insertKeyArgs are insertKeySQL's arguments for one key.
func insertKeyArgs(accountID int64, spec model.KeySpec, clientID, secret string, now time.Time, period model.Period, actor, details string) []any {
	d := model.DigestOf(secret)
	return []any{accountID, spec.Name, clientID, d[:], model.Hint(secret), ms(now), int32(spec.Permissions),
		spec.QueryAlloc, spec.MutationAlloc, period.Start(now).Unix(), actor, model.AuditKeyCreate, details}
}

func (s *accountStore) CreateKey(ctx context.Context, spec model.KeySpec) (model.Key, string, error) {
	if err := spec.Validate(); err != nil {
		return model.Key{}, "", err
	}
	secret := model.NewSecret()
	clientID := model.NewClientID()
	details, err := detailsJSON(map[string]any{
		"name": spec.Name, "permissions": spec.Permissions.List(),
		"query_allocation": spec.QueryAlloc, "mutation_allocation": spec.MutationAlloc})
	if err != nil {
		return model.Key{}, "", err
	}
	var key model.Key
	err = s.db.tx(ctx, func(tx pgx.Tx) error {
		// The account lock first: creates of one account queue here, so the
		// name check and the sums below see every key created before.
		a, err := s.db.lockAccount(ctx, tx, "a.id = $1", s.accountID)
		if err != nil {
			return err
		}
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM keys WHERE account_id = $1 AND name = $2 AND status = 'active')`,
			s.accountID, spec.Name).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("%w: %q", model.ErrDuplicateName, spec.Name)
		}
		if err := model.CheckNewKey(a, spec); err != nil {
			return err
		}
		now := s.db.now()
		var id int64
		if err := tx.QueryRow(ctx, insertKeySQL, insertKeyArgs(s.accountID, spec, clientID, secret, now, a.Period, s.actor, details)...).Scan(&id); err != nil {
			return err
		}
		key, err = s.reload(ctx, tx, id)
		return err
	})
	if err != nil {
		return model.Key{}, "", err
	}
	return key, secret, nil
}

func (s *accountStore) EditKey(ctx context.Context, id string, edit model.KeyEdit) (model.Key, error) {
	if err := edit.Validate(); err != nil {
		return model.Key{}, err
	}
	if edit.Empty() {
		return model.Key{}, &model.ValidationError{Field: "edit", Msg: "nothing to change (give a name, permissions or an allocation)"}
	}
	var key model.Key
	err := s.db.tx(ctx, func(tx pgx.Tx) error {
		k, err := s.activeKey(ctx, tx, id)
		if err != nil {
			return err
		}
		details := map[string]any{}
		if edit.Name != nil && *edit.Name != k.Name {
			var taken bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM keys WHERE account_id = $1 AND name = $2 AND status = 'active' AND id != $3)`,
				s.accountID, *edit.Name, k.ID).Scan(&taken); err != nil {
				return err
			}
			if taken {
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
			a, err := s.db.lockAccount(ctx, tx, "a.id = $1", s.accountID)
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
		if _, err := tx.Exec(ctx, `UPDATE keys SET name = $1, permissions = $2, query_alloc = $3, mutation_alloc = $4 WHERE id = $5`,
			k.Name, int32(k.Permissions), k.QueryAlloc, k.MutationAlloc, k.ID); err != nil {
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
	err := s.db.tx(ctx, func(tx pgx.Tx) error {
		k, err := s.activeKey(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.db.now()
		if _, err := tx.Exec(ctx, `UPDATE keys SET secret_digest = $1, secret_hint = $2, secret_rotated_at = $3 WHERE id = $4`,
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
	err := s.db.tx(ctx, func(tx pgx.Tx) error {
		k, err := s.activeKey(ctx, tx, id)
		if err != nil {
			return err
		}
		// What the account holds moves: its lock, after the key's.
		if _, err := s.db.lockAccount(ctx, tx, "a.id = $1", s.accountID); err != nil {
			return err
		}
		now := s.db.now()
		if _, err := tx.Exec(ctx, `UPDATE keys SET status = 'revoked', revoked_at = $1, keeps_allocation = $2 WHERE id = $3`,
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
	err := s.db.tx(ctx, func(tx pgx.Tx) error {
		k, err := s.lockKey(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := k.CanRelease(); err != nil {
			return err
		}
		if _, err := s.db.lockAccount(ctx, tx, "a.id = $1", s.accountID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE keys SET keeps_allocation = false WHERE id = $1`, k.ID); err != nil {
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

func (s *accountStore) Usage(ctx context.Context, id string, days int) ([]model.UsageDay, error) {
	out, err := s.usage(ctx, s.db.pool, id, days)
	return out, s.db.wrapErr(err)
}

func (s *accountStore) usage(ctx context.Context, q querier, id string, days int) ([]model.UsageDay, error) {
	if days < 1 || days > MaxUsageDays {
		return nil, &model.ValidationError{Field: "days", Msg: "days must be between 1 and 366"}
	}
	k, err := s.resolve(ctx, q, id)
	if err != nil {
		return nil, err
	}
	today := s.db.now().UTC()
	from := today.AddDate(0, 0, -(days - 1))
	rows, err := q.Query(ctx, `SELECT day, queries, mutations, credits, denied_401, denied_403, denied_429, denied_402
		FROM usage_days WHERE key_id = $1 AND day >= $2 AND day <= $3 ORDER BY day`, k.ID, model.Day(from), model.Day(today))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := map[string]model.UsageDay{}
	for rows.Next() {
		var u model.UsageDay
		if err := rows.Scan(&u.Day, &u.Queries, &u.Mutations, &u.Credits, &u.Denied401, &u.Denied403, &u.Denied429, &u.Denied402); err != nil {
			return nil, err
		}
		got[u.Day] = u
	}
	if err := rows.Err(); err != nil {
		return nil, err
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

func (s *accountStore) Audit(ctx context.Context, f storage.AuditFilter) ([]model.AuditEvent, error) {
	out, err := s.auditEvents(ctx, s.db.pool, f)
	return out, s.db.wrapErr(err)
}

func (s *accountStore) auditEvents(ctx context.Context, q querier, f storage.AuditFilter) ([]model.AuditEvent, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	where, args := "e.account_id = $1", []any{s.accountID}
	if f.Key != "" {
		k, err := s.resolve(ctx, q, f.Key)
		if err != nil {
			return nil, err
		}
		where += " AND e.key_id = $2"
		args = append(args, k.ID)
	}
	args = append(args, f.Limit)
	rows, err := q.Query(ctx, `SELECT e.id, e.at, e.actor, e.action, a.name, COALESCE(k.client_id, ''),
		COALESCE(k.name, ''), e.details FROM audit_events e JOIN accounts a ON a.id = e.account_id
		LEFT JOIN keys k ON k.id = e.key_id WHERE `+where+` ORDER BY e.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []model.AuditEvent{}
	for rows.Next() {
		var e model.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Account, &e.ClientID, &e.KeyName, &e.Details); err != nil {
			return nil, err
		}
		e.At = fromMs(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
