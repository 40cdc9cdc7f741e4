package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/keydeck/keydeck/model"
)

// ImportKeys creates many keys of one account in one transaction, all or
// nothing: what the account has unallocated is computed once, not once per
// key, and the inserts go in one round trip. The secrets come back in the
// order of specs, the only time they exist.
func (db *DB) ImportKeys(ctx context.Context, account, actor string, specs []model.KeySpec) ([]model.Key, []string, error) {
	st, err := db.Store(account, actor)
	if err != nil {
		return nil, nil, err
	}
	s := st.(*accountStore)
	names := make(map[string]bool, len(specs))
	details := make([]string, len(specs))
	var needQueries, needMutations int64
	for i := range specs {
		if err := specs[i].Validate(); err != nil {
			return nil, nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		if names[specs[i].Name] {
			return nil, nil, fmt.Errorf("key %d: %w: %q", i+1, model.ErrDuplicateName, specs[i].Name)
		}
		names[specs[i].Name] = true
		needQueries += specs[i].QueryAlloc
		needMutations += specs[i].MutationAlloc
		if details[i], err = detailsJSON(map[string]any{
			"name": specs[i].Name, "permissions": specs[i].Permissions.List(), "import": true,
			"query_allocation": specs[i].QueryAlloc, "mutation_allocation": specs[i].MutationAlloc}); err != nil {
			return nil, nil, err
		}
	}
	secrets := make([]string, len(specs))
	ids := make([]int64, len(specs))
	err = db.tx(ctx, func(tx pgx.Tx) error {
		a, err := db.lockAccount(ctx, tx, "a.id = $1", s.accountID)
		if err != nil {
			return err
		}
		// The whole batch must fit, as one key asking for the sum would.
		if err := model.CheckNewKey(a, model.KeySpec{QueryAlloc: needQueries, MutationAlloc: needMutations}); err != nil {
			return err
		}
		if len(specs) == 0 {
			return nil
		}
		now := db.now()
		var b pgx.Batch
		for i, spec := range specs {
			secrets[i] = model.NewSecret()
			b.Queue(insertKeySQL, insertKeyArgs(s.accountID, spec, model.NewClientID(), secrets[i], now, a.Period, actor, details[i])...)
		}
		res := tx.SendBatch(ctx, &b)
		for i, spec := range specs {
			if err := res.QueryRow().Scan(&ids[i]); err != nil {
				res.Close()
				if isUnique(err, "keys_active_name") {
					return fmt.Errorf("key %d: %w: %q", i+1, model.ErrDuplicateName, spec.Name)
				}
				return err
			}
		}
		return res.Close()
	})
	if err != nil {
		return nil, nil, err
	}
	now := db.now()
	rows, err := db.pool.Query(ctx, keySelect(now)+`WHERE k.id = ANY($1)`, ids)
	if err != nil {
		return nil, nil, db.wrapErr(err)
	}
	defer rows.Close()
	byID := make(map[int64]model.Key, len(ids))
	for rows.Next() {
		k, err := db.scanKey(rows, now)
		if err != nil {
			return nil, nil, db.wrapErr(err)
		}
		byID[k.ID] = k
	}
	if err := rows.Err(); err != nil {
		return nil, nil, db.wrapErr(err)
	}
	keys := make([]model.Key, len(ids))
	for i, id := range ids {
		keys[i] = byID[id]
	}
	return keys, secrets, nil
}
