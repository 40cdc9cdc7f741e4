package sqlite

import (
	"context"
	"fmt"

	"github.com/keydeck/keydeck/model"
)

// ImportKeys creates many keys of one account in one transaction, all or
// nothing: what the account has unallocated is computed once, not once per
// key, so provisioning thousands of keys takes seconds. The secrets come
// back in the order of specs, the only time they exist.
func (db *DB) ImportKeys(ctx context.Context, account, actor string, specs []model.KeySpec) ([]model.Key, []string, error) {
	st, err := db.Store(account, actor)
	if err != nil {
		return nil, nil, err
	}
	s := st.(*accountStore)
	names := make(map[string]bool, len(specs))
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
	}
	secrets := make([]string, len(specs))
	ids := make([]int64, len(specs))
	err = db.write(ctx, func(tx dbtx) error {
		a, err := db.loadAccount(ctx, tx, "id = ?", s.accountID)
		if err != nil {
			return err
		}
		// The whole batch must fit, as one key asking for the sum would.
		if err := model.CheckNewKey(a, model.KeySpec{QueryAlloc: needQueries, MutationAlloc: needMutations}); err != nil {
			return err
		}
		period := a.Period
		now := db.now()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO keys (account_id, name, client_id, secret_digest, secret_hint,
			secret_rotated_at, permissions, query_alloc, mutation_alloc, period_start, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for i, spec := range specs {
			secret := model.NewSecret()
			d := model.DigestOf(secret)
			res, err := ins.ExecContext(ctx, s.accountID, spec.Name, model.NewClientID(), d[:], model.Hint(secret),
				ms(now), spec.Permissions, spec.QueryAlloc, spec.MutationAlloc, period.Start(now).Unix(), ms(now))
			if err != nil {
				if e := wrapErr(err); e == model.ErrDuplicateName {
					return fmt.Errorf("key %d: %w: %q", i+1, e, spec.Name)
				}
				return err
			}
			if ids[i], err = res.LastInsertId(); err != nil {
				return err
			}
			if err := audit(ctx, tx, now, s.accountID, &ids[i], actor, model.AuditKeyCreate, map[string]any{
				"name": spec.Name, "permissions": spec.Permissions.List(), "import": true,
				"query_allocation": spec.QueryAlloc, "mutation_allocation": spec.MutationAlloc}); err != nil {
				return err
			}
			secrets[i] = secret
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	keys := make([]model.Key, len(ids))
	now := db.now()
	for i, id := range ids {
		if keys[i], err = db.scanKey(db.read.QueryRowContext(ctx, keySelect(now)+`WHERE k.id = ?`, id), now); err != nil {
			return nil, nil, wrapErr(err)
		}
	}
	return keys, secrets, nil
}
