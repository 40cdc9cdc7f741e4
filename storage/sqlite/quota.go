package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/keydeck/keydeck/model"
)

// Verifications are decided from an in-memory copy of the keys and accounts
// they touch, trusted only while PRAGMA data_version, read inside the write
// transaction, says no other connection committed (checkCopy): decisions
// are made under SQLite's write lock from state current under it, so quotas
// stay exact across processes. Denials are only counted here; they reach
// the database every FlushInterval (flush).

// Verify checks a key and consumes one unit when allowed. Malformed
// credentials are refused before any database read.
func (db *DB) Verify(ctx context.Context, req model.VerifyRequest) (model.VerifyResult, error) {
	if req.Operation.Permission() == 0 {
		return model.VerifyResult{}, &model.ValidationError{Field: "operation", Msg: "unknown operation (use read, write or delete)"}
	}
	if req.Credits < 0 || req.Credits > model.MaxQuota {
		return model.VerifyResult{}, &model.ValidationError{Field: "credits", Msg: "credits must be between 0 and 1000000000000"}
	}
	if !model.ValidClientID(req.ClientID) || model.CheckSecret(model.SecretPrefix, req.ClientSecret) != nil {
		return model.VerifyResult{Verdict: model.DeniedUnauthorized}, nil
	}
	j := getJob()
	j.inlineVerify = verifyJob{req: req, digest: model.DigestOf(req.ClientSecret)}
	j.inlineVerify.req.ClientSecret = ""
	j.verify = &j.inlineVerify
	err := db.writer.submit(ctx, j)
	res := j.inlineVerify.res
	putJob(j)
	if err != nil {
		return model.VerifyResult{}, err
	}
	return res, nil
}

// verifyJob is a verification's request and, once its batch has run,
// its answer.
type verifyJob struct {
	req    model.VerifyRequest
	digest model.Digest
	res    model.VerifyResult
}

// keyState is the in-memory copy of a key row, usage included.
type keyState struct {
	id, accountID                        int64
	digest                               model.Digest
	permissions                          model.Permission
	active                               bool
	queryAlloc, mutationAlloc            int64
	queryUsed, mutationUsed, creditsUsed int64
	periodStart                          int64 // Unix seconds
	lastUsed                             int64 // Unix ms
	toFold                               bool  // in foldKeys
}

// accountState is the in-memory copy of what verifications need of an
// account.
type accountState struct {
	period  model.Period
	credits int64
	dirty   bool // credits changed since the last flush
}

// resetCache drops the in-memory copy of keys and accounts.
func (w *writer) resetCache() {
	clear(w.keys)
	clear(w.accounts)
}

// checkCopy keeps the in-memory copy only if version, PRAGMA data_version
// read in this transaction, is the one it was loaded under; otherwise
// another connection committed and the copy is dropped.
func (w *writer) checkCopy(ctx context.Context, tx dbtx, version int64) error {
	if version == w.dataVersion {
		return nil
	}
	if err := w.invalidate(ctx, tx); err != nil {
		return err
	}
	w.dataVersion = version
	return nil
}

// capCopy has the next batch drop the copy when it holds more keys than
// Options.maxCachedKeys, as when another connection writes: that folds
// what is pending before reloading, where dropping the copy alone would
// reload rows without the pending units.
func (w *writer) capCopy() {
	if len(w.keys) > w.db.opt.maxCachedKeys {
		w.dataVersion = -1
	}
}

// invalidate drops the in-memory copy and folds what is pending, so the
// copy can be reloaded from the key rows alone.
func (w *writer) invalidate(ctx context.Context, tx dbtx) error {
	w.resetCache()
	w.foldKeys = w.foldKeys[:0]
	clear(w.foldUsage)
	var pending bool
	if err := w.stmts.pendingExists.QueryRowContext(ctx).Scan(&pending); err != nil {
		return err
	}
	if pending {
		return w.fold(ctx, tx)
	}
	w.pendingRows = 0
	return nil
}

// batchTime is what verifications need of the clock, computed once per
// batch (the batch has one "now"): the day label, and for each period its
// start, length and end.
type batchTime struct {
	ms      int64
	day     string
	periods [2]periodTime // monthly, none
}

type periodTime struct {
	start, seconds int64
	end            time.Time
}

func newBatchTime(now time.Time) batchTime {
	bt := batchTime{ms: now.UnixMilli(), day: model.Day(now)}
	for i, p := range []model.Period{model.PeriodMonthly, model.PeriodNone} {
		bt.periods[i] = periodTime{start: p.Start(now).Unix(), seconds: p.Seconds(now), end: p.End(now)}
	}
	return bt
}

func (bt *batchTime) period(p model.Period) *periodTime {
	if p == model.PeriodNone {
		return &bt.periods[1]
	}
	return &bt.periods[0]
}

// verify decides one verification inside the batch transaction.
func (w *writer) verify(ctx context.Context, v *verifyJob, bt *batchTime) error {
	key, err := w.key(ctx, v.req.ClientID)
	if err != nil {
		return err
	}
	v.res = model.VerifyResult{Verdict: model.DeniedUnauthorized}
	day := bt.day
	// An unknown Client ID is w.unknown (the dummy digest, inactive, key
	// id 0), so it takes this very path: same compare, same count.
	w.work.compares++
	if !key.digest.Equal(v.digest) || !key.active {
		w.deny(key.id, day, model.DeniedUnauthorized)
		return nil
	}
	account, err := w.account(ctx, key.accountID)
	if err != nil {
		return err
	}
	period := bt.period(account.period)
	u := model.PeriodUsage{Start: key.periodStart, Query: key.queryUsed, Mutation: key.mutationUsed, Credit: key.creditsUsed}.At(period.start)
	key.periodStart, key.queryUsed, key.mutationUsed, key.creditsUsed = u.Start, u.Query, u.Mutation, u.Credit
	op := v.req.Operation
	verdict := model.Decide(model.KeyState{
		Active: key.active, Permissions: key.permissions,
		QueryAlloc: key.queryAlloc, MutationAlloc: key.mutationAlloc,
		QueryUsed: key.queryUsed, MutationUsed: key.mutationUsed,
		AccountCredits: account.credits,
	}, op, v.req.Credits)
	kind := op.Kind()
	if verdict == model.Allowed {
		delta := w.usage[usageKey{key.id, day}]
		if delta == nil {
			delta = w.spareDelta()
			w.usage[usageKey{key.id, day}] = delta
		}
		if kind == model.KindQuery {
			key.queryUsed++
			delta.queries++
		} else {
			key.mutationUsed++
			delta.mutations++
		}
		if c := v.req.Credits; c > 0 {
			key.creditsUsed += c
			account.credits -= c
			account.dirty = true
			delta.credits += c
		}
		delta.lastUsed, delta.periodStart = bt.ms, key.periodStart
		key.lastUsed = delta.lastUsed
		folded := w.foldUsage[usageKey{key.id, day}]
		if folded == nil {
			folded = &usageDelta{}
			w.foldUsage[usageKey{key.id, day}] = folded
		}
		if kind == model.KindQuery {
			folded.queries++
		} else {
			folded.mutations++
		}
		folded.credits += max(0, v.req.Credits)
		if !key.toFold {
			key.toFold = true
			w.foldKeys = append(w.foldKeys, key)
		}
	} else {
		w.deny(key.id, day, verdict)
	}
	alloc, used := key.queryAlloc, key.queryUsed
	if kind == model.KindMutation {
		alloc, used = key.mutationAlloc, key.mutationUsed
	}
	v.res = model.VerifyResult{
		Verdict:       verdict,
		ClientID:      v.req.ClientID,
		Kind:          kind,
		Limit:         alloc,
		Remaining:     max(0, alloc-used),
		QueryLimit:    key.queryAlloc,
		MutationLimit: key.mutationAlloc,
		Period:        account.period,
		PeriodSeconds: period.seconds,
		ResetsAt:      period.end,
	}
	return nil
}

// spareDelta is a zero usageDelta, one of an earlier batch when there is
// one: a batch's allowed units otherwise cost an allocation per key.
func (w *writer) spareDelta() *usageDelta {
	if n := len(w.spare); n > 0 {
		d := w.spare[n-1]
		w.spare = w.spare[:n-1]
		return d
	}
	return &usageDelta{}
}

func (w *writer) deny(keyID int64, day string, v model.Verdict) {
	w.work.denials++
	k := usageKey{keyID, day}
	d := w.denials[k]
	if d == nil {
		d = &usageDelta{}
		w.denials[k] = d
	}
	switch v {
	case model.DeniedUnauthorized:
		d.denied401++
	case model.DeniedForbidden:
		d.denied403++
	case model.DeniedQuota:
		d.denied429++
	case model.DeniedCredits:
		d.denied402++
	}
}

// key returns the cached state of a key, loading it inside tx; w.unknown
// when there is no such Client ID. Unknown IDs are remembered in the copy
// like known ones (and dropped with it), so that neither costs a read
// once seen: a 401's time must not tell whether a Client ID exists.
func (w *writer) key(ctx context.Context, clientID string) (*keyState, error) {
	w.work.lookups++
	if ks, ok := w.keys[clientID]; ok {
		return ks, nil
	}
	w.work.loads++
	var (
		ks     keyState
		digest []byte
		status string
	)
	err := w.stmts.selectKey.QueryRowContext(ctx, clientID).Scan(&ks.id, &ks.accountID, &digest, &ks.permissions, &status,
		&ks.queryAlloc, &ks.mutationAlloc, &ks.queryUsed, &ks.mutationUsed, &ks.creditsUsed, &ks.periodStart, &ks.lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		w.keys[clientID] = &w.unknown
		return &w.unknown, nil
	}
	if err != nil {
		return nil, err
	}
	copy(ks.digest[:], digest)
	ks.active = status == string(model.StatusActive)
	w.keys[clientID] = &ks
	return &ks, nil
}

func (w *writer) account(ctx context.Context, id int64) (*accountState, error) {
	if a, ok := w.accounts[id]; ok {
		return a, nil
	}
	var a accountState
	if err := w.stmts.selectAccount.QueryRowContext(ctx, id).Scan(&a.period, &a.credits); err != nil {
		return nil, err
	}
	w.accounts[id] = &a
	return &a, nil
}
