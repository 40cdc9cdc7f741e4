package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// The writer is the one goroutine that writes to the database. Every write
// of the process goes through it, so SQLite's busy handler (which sleeps)
// only ever comes into play between processes, never between goroutines.
//
// It commits in groups: whatever jobs are waiting when it starts a
// transaction go into that one transaction (a savepoint each for ordinary
// writes), and are answered only after the commit, so with DurabilityStrict
// one fsync serves the whole group.
//
// Verifications are decided from an in-memory copy of the keys and
// accounts they touch. The copy is trusted only while PRAGMA data_version,
// read inside the write transaction, says no other connection has committed
// since; otherwise it is dropped and reloaded. So a CLI or another process
// writing the same file is seen by the very next verification, and quotas
// stay exact across processes: the decision is made while holding SQLite's
// write lock, from state that is current under that lock.
//
// Denials (401 with a known Client ID, 403, 429, 402) are counted in memory
// and flushed every FlushInterval: a flood of bad requests causes no writes.
type writer struct {
	db    *DB
	conn  *sql.Conn
	stmts *stmts
	jobs  chan *job

	mu     sync.RWMutex
	closed bool
	quit   chan struct{}
	done   chan struct{}

	// Owned by the loop goroutine.
	dataVersion int64
	keys        map[string]*keyState // by Client ID
	accounts    map[int64]*acctState
	usage       map[usageKey]*usageDelta // allowed units of this batch
	spare       []*usageDelta            // usage's entries of earlier batches, for reuse
	denials     map[usageKey]*usageDelta // denials since the last flush
	lastFlush   time.Time
	pendingRows int // rows this writer added to pending_usage since its last fold
	// What this writer's pending rows hold, kept in memory so folding them
	// needs no read of the log: the keys they touched (whose absolute
	// counters the in-memory copy has) and their units per key and day.
	foldKeys  []*keyState
	foldUsage map[usageKey]*usageDelta
	buf       []byte
	batch     []*job
}

// dbtx is what a write runs its statements on: the writer's connection,
// inside the transaction the writer has begun.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// stmts are the writer's statements, prepared once on its connection.
// The writer controls its transactions with prepared statements too,
// rather than through sql.Tx: per batch that saves parsing BEGIN and
// COMMIT and wrapping every statement for the transaction, a good part of
// a batch's fixed cost (see BenchmarkVerifySerial).
type stmts struct {
	rollback, savepoint, rollbackTo, release                                      *sql.Stmt
	selKey, selAcct, updKey, updCredits, upsertUsage, pendingExists, clearPending *sql.Stmt
	hot                                                                           hotStmts
}

func (s *stmts) all() []*sql.Stmt {
	return []*sql.Stmt{s.rollback, s.savepoint, s.rollbackTo, s.release,
		s.selKey, s.selAcct, s.updKey, s.updCredits, s.upsertUsage, s.pendingExists, s.clearPending}
}

// close closes every statement, on c.
func (s *stmts) close(c *sql.Conn) {
	for _, st := range s.all() {
		if st != nil {
			st.Close()
		}
	}
	c.Raw(func(any) error { s.hot.close(); return nil })
}

func prepareStmts(ctx context.Context, c *sql.Conn) (*stmts, error) {
	var s stmts
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&s.rollback, `ROLLBACK`},
		{&s.savepoint, `SAVEPOINT job`},
		{&s.rollbackTo, `ROLLBACK TO job`},
		{&s.release, `RELEASE job`},
		{&s.selKey, `SELECT id, account_id, secret_digest, permissions, status,
		query_alloc, mutation_alloc, query_used, mutation_used, credits_used, period_start,
		COALESCE(last_used_at, 0)
		FROM keys WHERE client_id = ?`},
		{&s.selAcct, `SELECT period, credits FROM accounts WHERE id = ?`},
		// Folding writes every key with one statement: the rows come as a
		// JSON array [[id, q, m, c, period_start, last_used], …].
		{&s.updKey, `UPDATE keys SET query_used = v.q, mutation_used = v.m, credits_used = v.c,
			period_start = v.ps, last_used_at = v.lu
			FROM (SELECT value->>0 AS id, value->>1 AS q, value->>2 AS m, value->>3 AS c,
				value->>4 AS ps, value->>5 AS lu FROM json_each(?)) AS v
			WHERE keys.id = v.id`},
		{&s.updCredits, `UPDATE accounts SET credits = ? WHERE id = ?`},
		{&s.pendingExists, `SELECT EXISTS (SELECT 1 FROM pending_usage)`},
		{&s.clearPending, `DELETE FROM pending_usage`},
		// Likewise [[key_id, day, queries, mutations, credits, 401, 403, 429, 402], …].
		{&s.upsertUsage, `INSERT INTO usage_days
		(key_id, day, queries, mutations, credits, denied_401, denied_403, denied_429, denied_402)
		SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8
		FROM json_each(?) WHERE true
		ON CONFLICT (key_id, day) DO UPDATE SET
		queries = queries + excluded.queries, mutations = mutations + excluded.mutations,
		credits = credits + excluded.credits, denied_401 = denied_401 + excluded.denied_401,
		denied_403 = denied_403 + excluded.denied_403, denied_429 = denied_429 + excluded.denied_429,
		denied_402 = denied_402 + excluded.denied_402`},
	} {
		st, err := c.PrepareContext(ctx, p.q)
		if err != nil {
			s.close(c)
			return nil, err
		}
		*p.dst = st
	}
	if err := s.prepareHot(ctx, c); err != nil {
		s.close(c)
		return nil, err
	}
	return &s, nil
}

// hotStmts are the statements every batch runs, prepared on the driver's
// connection and run through Conn.Raw: database/sql's wrapping of each
// execution (locking, argument conversion, Rows and Row objects) was a
// fifth of a batch's fixed cost. They are only ever used inside Raw, while
// database/sql holds the connection for us.
type hotStmts struct {
	begin, commit, dataVersion, insertPending driver.Stmt
	dest                                      []driver.Value
	args                                      []driver.NamedValue
}

func (s *stmts) prepareHot(ctx context.Context, c *sql.Conn) error {
	return c.Raw(func(dc any) error {
		conn, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T cannot prepare statements", dc)
		}
		for _, p := range []struct {
			dst *driver.Stmt
			q   string
		}{
			// IMMEDIATE: the write lock is taken at the start, so the
			// decisions made inside are made under it (and a busy
			// database waits in the busy handler here).
			{&s.hot.begin, `BEGIN IMMEDIATE`},
			{&s.hot.commit, `COMMIT`},
			{&s.hot.dataVersion, `PRAGMA data_version`},
			{&s.hot.insertPending, `INSERT INTO pending_usage (deltas) VALUES (?)`},
		} {
			st, err := conn.PrepareContext(ctx, p.q)
			if err != nil {
				s.hot.close()
				return err
			}
			if _, ok := st.(driver.StmtExecContext); !ok {
				st.Close()
				s.hot.close()
				return fmt.Errorf("sqlite driver statement %T cannot execute with a context", st)
			}
			if _, ok := st.(driver.StmtQueryContext); !ok {
				st.Close()
				s.hot.close()
				return fmt.Errorf("sqlite driver statement %T cannot query with a context", st)
			}
			*p.dst = st
		}
		s.hot.dest = make([]driver.Value, 1)
		s.hot.args = make([]driver.NamedValue, 1)
		return nil
	})
}

func (h *hotStmts) close() {
	for _, st := range []*driver.Stmt{&h.begin, &h.commit, &h.dataVersion, &h.insertPending} {
		if *st != nil {
			(*st).Close()
			*st = nil
		}
	}
}

// exec runs a hot statement (inside Raw).
func (h *hotStmts) exec(ctx context.Context, st driver.Stmt, args []driver.NamedValue) error {
	_, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	return err
}

// beginBatch begins the batch's transaction and reads PRAGMA data_version
// inside it.
func (w *writer) beginBatch(ctx context.Context) (dv int64, err error) {
	err = w.conn.Raw(func(any) error {
		h := &w.stmts.hot
		if err := h.exec(ctx, h.begin, nil); err != nil {
			return err
		}
		rows, err := h.dataVersion.(driver.StmtQueryContext).QueryContext(ctx, nil)
		if err != nil {
			return err
		}
		err = rows.Next(h.dest)
		rows.Close()
		if err != nil {
			return err
		}
		v, ok := h.dest[0].(int64)
		if !ok {
			return fmt.Errorf("PRAGMA data_version gave %T", h.dest[0])
		}
		dv = v
		return nil
	})
	return dv, err
}

// commitBatch commits the batch's transaction.
func (w *writer) commitBatch(ctx context.Context) error {
	return w.conn.Raw(func(any) error {
		return w.stmts.hot.exec(ctx, w.stmts.hot.commit, nil)
	})
}

// insertPending appends one pending_usage row.
func (w *writer) insertPending(ctx context.Context, deltas string) error {
	return w.conn.Raw(func(any) error {
		h := &w.stmts.hot
		h.args[0] = driver.NamedValue{Ordinal: 1, Value: deltas}
		err := h.exec(ctx, h.insertPending, h.args)
		h.args[0] = driver.NamedValue{}
		return err
	})
}

type job struct {
	fn     func(tx dbtx) error
	verify *verifyJob
	err    error
	// done gets one value when the job's transaction has ended; it is
	// buffered so the writer never waits, and reused with the job.
	done chan struct{}
	v    verifyJob // verify points here for pooled jobs
}

// jobs are pooled: a verification is the hot path, and a job with its
// channel is most of what it allocates.
var jobPool = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

func getJob() *job { return jobPool.Get().(*job) }

// putJob returns a job whose transaction has ended (or that was never
// queued) to the pool.
func putJob(j *job) {
	j.fn, j.verify, j.err = nil, nil, nil
	j.v = verifyJob{}
	jobPool.Put(j)
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

type usageKey struct {
	keyID int64
	day   string
}

type usageDelta struct {
	queries, mutations, credits int64
	d401, d403, d429, d402      int64
	lastUsed, periodStart       int64 // Unix ms, Unix s
}

// maxBatch bounds how many jobs share one transaction.
const maxBatch = 1024

func newWriter(db *DB, conn *sql.Conn, st *stmts) *writer {
	w := &writer{
		db:          db,
		conn:        conn,
		stmts:       st,
		jobs:        make(chan *job, maxBatch),
		quit:        make(chan struct{}),
		done:        make(chan struct{}),
		dataVersion: -1,
		keys:        map[string]*keyState{},
		accounts:    map[int64]*acctState{},
		usage:       map[usageKey]*usageDelta{},
		foldUsage:   map[usageKey]*usageDelta{},
		denials:     map[usageKey]*usageDelta{},
	}
	w.lastFlush = db.now()
	go w.loop()
	return w
}

// submit queues a job and waits for its transaction to end.
func (w *writer) submit(ctx context.Context, j *job) error {
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return storage.ErrClosed
	}
	select {
	case w.jobs <- j:
	default:
		// The queue is full. Only now ask for ctx.Done: the first call
		// allocates the request context's channel, on every request.
		select {
		case w.jobs <- j:
		case <-ctx.Done():
			w.mu.RUnlock()
			return ctx.Err()
		}
	}
	w.mu.RUnlock()
	// Once queued the job runs; wait for it so the caller never reports a
	// failure for a write that then commits.
	<-j.done
	return j.err
}

// write runs fn in the writer's transaction, inside its own savepoint: an
// error from fn undoes fn's changes only.
func (db *DB) write(ctx context.Context, fn func(tx dbtx) error) error {
	j := getJob()
	j.fn = fn
	err := db.w.submit(ctx, j)
	putJob(j)
	return err
}

func (w *writer) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return
	}
	w.closed = true
	close(w.quit)
	w.mu.Unlock()
	<-w.done
}

func (w *writer) loop() {
	defer close(w.done)
	defer func() {
		w.stmts.close(w.conn)
		w.conn.Close()
	}()
	tick := time.NewTicker(w.db.opt.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case j := <-w.jobs:
			w.run(w.collect(j))
		case <-tick.C:
			if len(w.denials) > 0 || w.pendingRows > 0 {
				w.run(nil)
			}
		case <-w.quit:
			for {
				select {
				case j := <-w.jobs:
					w.run(w.collect(j))
					continue
				default:
				}
				break
			}
			if len(w.denials) > 0 || w.pendingRows > 0 {
				w.run(nil)
			}
			return
		}
	}
}

// collect gathers the jobs waiting behind first. While more keep coming
// it yields the processor a few times first, so the goroutines serving
// requests can queue theirs: on a small machine the writer would otherwise
// commit after every few requests, and the fixed cost of a commit would
// dominate. Measured with make bench on 2 cores, 64 connections: without
// the yields 9.4–9.9k req/s (strict 2.6k), with them 17.5–20k (strict
// 15–16.6k).
func (w *writer) collect(first *job) []*job {
	batch := append(w.batch[:0], first)
	defer func() { w.batch = batch[:0] }()
	for idle := 0; len(batch) < maxBatch && idle < 2; {
		select {
		case j := <-w.jobs:
			batch = append(batch, j)
			idle = 0
			continue
		default:
		}
		if len(batch) >= maxBatch/4 {
			break
		}
		idle++
		runtime.Gosched()
	}
	return batch
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

// run executes one batch in one transaction.
func (w *writer) run(batch []*job) {
	ctx := context.Background()
	w.db.ckptMu.Lock()
	err := w.runTx(ctx, batch)
	w.db.ckptMu.Unlock()
	if err != nil {
		// Nothing of this batch is on disk; the in-memory copy may be ahead.
		// Reload (and fold) at the start of the next batch.
		w.resetCache()
		clear(w.usage)
		w.dataVersion = -1
		if !isCtx(err) {
			w.db.log.Error("write transaction failed", "err", err)
		}
		err = wrapErr(err)
	}
	for _, j := range batch {
		if err != nil {
			j.err = err
		}
		j.done <- struct{}{}
	}
}

func (w *writer) runTx(ctx context.Context, batch []*job) (err error) {
	dv, err := w.beginBatch(ctx)
	if err != nil {
		// BEGIN may have succeeded and the PRAGMA failed; and should a
		// failed batch have left a transaction open, this ends it too,
		// so the next batch can begin.
		w.stmts.rollback.ExecContext(ctx)
		return err
	}
	tx := w.conn
	defer func() {
		if err != nil {
			// Also after a failed COMMIT, which may leave the
			// transaction open.
			w.stmts.rollback.ExecContext(ctx)
		}
	}()
	if dv != w.dataVersion {
		// Another connection committed: nothing in memory can be trusted.
		if err := w.invalidate(ctx, tx); err != nil {
			return err
		}
		w.dataVersion = dv
	}
	now := w.db.now()
	bt := newBatchTime(now)
	for _, j := range batch {
		if j.fn != nil {
			if err := w.flush(ctx, tx, false); err != nil {
				return err
			}
			if err := w.foldMemory(ctx, tx); err != nil {
				return err
			}
			if _, err := w.stmts.savepoint.ExecContext(ctx); err != nil {
				return err
			}
			j.err = j.fn(tx)
			if j.err != nil {
				if _, err := w.stmts.rollbackTo.ExecContext(ctx); err != nil {
					return err
				}
				j.err = wrapErr(j.err)
			}
			if _, err := w.stmts.release.ExecContext(ctx); err != nil {
				return err
			}
			// fn may have changed anything: reload what verifications need.
			if err := w.invalidate(ctx, tx); err != nil {
				return err
			}
			continue
		}
		if err := w.verify(ctx, j.verify, &bt); err != nil {
			return err
		}
	}
	tick := batch == nil || now.Sub(w.lastFlush) >= w.db.opt.FlushInterval
	flushDenials := len(w.denials) > 0 && tick
	if err := w.flush(ctx, tx, flushDenials); err != nil {
		return err
	}
	if w.pendingRows > 0 && (tick || w.pendingRows > 1000) {
		if err := w.foldMemory(ctx, tx); err != nil {
			return err
		}
	}
	if err := w.commitBatch(ctx); err != nil {
		return err
	}
	if tick {
		clear(w.denials)
		w.lastFlush = now
	}
	if len(w.keys) > w.db.opt.maxCachedKeys {
		// Dropped as when another connection writes: the next batch
		// folds what is pending and reloads from the rows. Dropping the
		// copy alone would reload rows without the pending units.
		w.dataVersion = -1
	}
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

// flush writes what verifications changed into tx: account balances, one
// pending_usage row with this batch's units, and, when asked, the denials
// (straight into usage_days: they never count against a quota).
func (w *writer) flush(ctx context.Context, tx dbtx, denials bool) error {
	for id, a := range w.accounts {
		if !a.dirty {
			continue
		}
		if _, err := w.stmts.updCredits.ExecContext(ctx, a.credits, id); err != nil {
			return err
		}
		a.dirty = false
	}
	if len(w.usage) > 0 {
		// [[key_id, day, q, m, c, last_used, period_start], …]
		b := w.buf[:0]
		for k, d := range w.usage {
			b = appendUsage(b, k.keyID, k.day, d.queries, d.mutations, d.credits, d.lastUsed, d.periodStart)
		}
		w.buf = b
		if err := w.insertPending(ctx, "["+string(b)+"]"); err != nil {
			return err
		}
		w.pendingRows++
		for _, d := range w.usage {
			*d = usageDelta{}
			w.spare = append(w.spare, d)
		}
		clear(w.usage)
	}
	if denials && len(w.denials) > 0 {
		var b []byte
		for k, d := range w.denials {
			b = appendUsage(b, k.keyID, k.day, 0, 0, 0, d.d401, d.d403, d.d429, d.d402)
		}
		// Cleared by the caller once the commit succeeded.
		if _, err := w.stmts.upsertUsage.ExecContext(ctx, "["+string(b)+"]"); err != nil {
			return err
		}
	}
	return nil
}

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
