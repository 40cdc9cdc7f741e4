package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/keydeck/keydeck/model"
)

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
	j.v = verifyJob{req: req, digest: model.DigestOf(req.ClientSecret)}
	j.v.req.ClientSecret = ""
	j.verify = &j.v
	err := db.w.submit(ctx, j)
	res := j.v.res
	putJob(j)
	if err != nil {
		return model.VerifyResult{}, err
	}
	return res, nil
}

type verifyJob struct {
	req    model.VerifyRequest
	digest model.Digest
	res    model.VerifyResult
}

type keyState struct {
	id, accountID      int64
	digest             model.Digest
	perms              model.Permission
	active             bool
	qAlloc, mAlloc     int64
	qUsed, mUsed, cUsd int64
	periodStart        int64 // Unix seconds
	lastUsed           int64 // Unix ms
	toFold             bool  // in foldKeys
}

type acctState struct {
	period  model.Period
	credits int64
	dirty   bool
}

func (w *writer) resetCache() {
	clear(w.keys)
	clear(w.accounts)
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

// verify decides one verification inside the batch transaction.
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

func (w *writer) verify(ctx context.Context, v *verifyJob, bt *batchTime) error {
	ks, err := w.key(ctx, v.req.ClientID)
	if err != nil {
		return err
	}
	v.res = model.VerifyResult{Verdict: model.DeniedUnauthorized}
	if ks == nil {
		// Unknown Client ID: the same compare as a known one.
		model.DummyDigest.Equal(v.digest)
		return nil
	}
	day := bt.day
	if !ks.digest.Equal(v.digest) || !ks.active {
		w.deny(ks.id, day, model.DeniedUnauthorized)
		return nil
	}
	acct, err := w.account(ctx, ks.accountID)
	if err != nil {
		return err
	}
	pt := bt.period(acct.period)
	if ps := pt.start; ks.periodStart != ps {
		ks.qUsed, ks.mUsed, ks.cUsd, ks.periodStart = 0, 0, 0, ps
	}
	op := v.req.Operation
	verdict := model.Decide(model.KeyState{
		Active: ks.active, Permissions: ks.perms,
		QueryAlloc: ks.qAlloc, MutationAlloc: ks.mAlloc,
		QueryUsed: ks.qUsed, MutationUsed: ks.mUsed,
		AccountCredits: acct.credits,
	}, op, v.req.Credits)
	kind := op.Kind()
	if verdict == model.Allowed {
		d := w.usage[usageKey{ks.id, day}]
		if d == nil {
			d = w.spareDelta()
			w.usage[usageKey{ks.id, day}] = d
		}
		if kind == model.KindQuery {
			ks.qUsed++
			d.queries++
		} else {
			ks.mUsed++
			d.mutations++
		}
		if c := v.req.Credits; c > 0 {
			ks.cUsd += c
			acct.credits -= c
			acct.dirty = true
			d.credits += c
		}
		d.lastUsed, d.periodStart = bt.ms, ks.periodStart
		ks.lastUsed = d.lastUsed
		f := w.foldUsage[usageKey{ks.id, day}]
		if f == nil {
			f = &usageDelta{}
			w.foldUsage[usageKey{ks.id, day}] = f
		}
		if kind == model.KindQuery {
			f.queries++
		} else {
			f.mutations++
		}
		f.credits += max(0, v.req.Credits)
		if !ks.toFold {
			ks.toFold = true
			w.foldKeys = append(w.foldKeys, ks)
		}
	} else {
		w.deny(ks.id, day, verdict)
	}
	alloc, used := ks.qAlloc, ks.qUsed
	if kind == model.KindMutation {
		alloc, used = ks.mAlloc, ks.mUsed
	}
	v.res = model.VerifyResult{
		Verdict:       verdict,
		ClientID:      v.req.ClientID,
		Kind:          kind,
		Limit:         alloc,
		Remaining:     max(0, alloc-used),
		QueryLimit:    ks.qAlloc,
		MutationLimit: ks.mAlloc,
		Period:        acct.period,
		PeriodSeconds: pt.seconds,
		ResetsAt:      pt.end,
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
	k := usageKey{keyID, day}
	d := w.denials[k]
	if d == nil {
		d = &usageDelta{}
		w.denials[k] = d
	}
	switch v {
	case model.DeniedUnauthorized:
		d.d401++
	case model.DeniedForbidden:
		d.d403++
	case model.DeniedQuota:
		d.d429++
	case model.DeniedCredits:
		d.d402++
	}
}

// key returns the cached state of a key, loading it inside tx; nil when
// there is no such Client ID.
func (w *writer) key(ctx context.Context, clientID string) (*keyState, error) {
	if ks, ok := w.keys[clientID]; ok {
		return ks, nil
	}
	var (
		ks     keyState
		digest []byte
		status string
	)
	err := w.stmts.selKey.QueryRowContext(ctx, clientID).Scan(&ks.id, &ks.accountID, &digest, &ks.perms, &status,
		&ks.qAlloc, &ks.mAlloc, &ks.qUsed, &ks.mUsed, &ks.cUsd, &ks.periodStart, &ks.lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	copy(ks.digest[:], digest)
	ks.active = status == string(model.StatusActive)
	w.keys[clientID] = &ks
	return &ks, nil
}

func (w *writer) account(ctx context.Context, id int64) (*acctState, error) {
	if a, ok := w.accounts[id]; ok {
		return a, nil
	}
	var a acctState
	if err := w.stmts.selAcct.QueryRowContext(ctx, id).Scan(&a.period, &a.credits); err != nil {
		return nil, err
	}
	w.accounts[id] = &a
	return &a, nil
}
