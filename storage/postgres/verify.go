package postgres

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// Verifications are group-committed per process. A batch is one
// transaction of two round trips:
//
//  1. the rows of the batch's keys, locked in key-id order (every node
//     locks in that order, so batches of different nodes wait for each
//     other instead of deadlocking), then their accounts, locked too (in
//     id order, after the keys) when the batch spends credits;
//  2. model.Decide for each request from those rows, in arrival order,
//     then the keys' counters, the accounts' balances and the day's usage
//     written and committed.
//
// Only then are the answers given: a unit answered as allowed is
// committed, on every node's next read. Nothing is cached between
// batches, so a revoke, regenerate, edit or account change committed
// anywhere is obeyed by the next batch of every node. Denials consume
// nothing: they are counted in memory and added to usage_days every
// FlushInterval.

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
	j.req = req
	j.req.ClientSecret = ""
	j.digest = model.DigestOf(req.ClientSecret)
	return db.writer.submit(ctx, j)
}

// MaxBatch bounds the verifications of one transaction.
const maxBatch = 512

// batchTimeout bounds one batch, connecting included: a database that
// stops answering fails the batch (503) instead of holding its requests.
const batchTimeout = 5 * time.Second

// downFor is how long verifications fail at once after a batch found the
// database unreachable, before the next batch tries again.
const downFor = time.Second

type job struct {
	req    model.VerifyRequest
	digest model.Digest
	res    model.VerifyResult
	err    error
	done   chan struct{}
}

var jobPool = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

func getJob() *job { return jobPool.Get().(*job) }

func putJob(j *job) {
	*j = job{done: j.done}
	jobPool.Put(j)
}

type writer struct {
	db *DB
	// queues holds one queue per batch loop; a Client ID always goes to
	// the same one, so the loops of one process never wait for each
	// other's row locks.
	queues []chan *job
	stop   chan struct{}
	wg     sync.WaitGroup

	// down is when the database was last found unreachable (Unix ns) and
	// downErr what was found.
	down    atomic.Int64
	downErr atomic.Pointer[error]

	mu      sync.Mutex
	denials map[dayKey]*denied
	closed  bool
}

type dayKey struct {
	keyID int64
	day   string
}

type denied struct{ d401, d403, d429, d402 int64 }

// writers is how many batch loops a process runs, each with its own queue
// and connection. Measured with wrk at 64 connections on 2 CPUs (req/s):
// 1 loop 10.9k, 2 loops 9.3k, 4 loops 8.3k, 8 loops 5.1k: a round trip
// costs about a millisecond whatever the batch holds, so more loops only
// make smaller batches. The queues stay, keyed by Client ID, for a machine
// where more loops pay.
const writers = 1

func newWriter(db *DB) *writer {
	w := &writer{db: db, stop: make(chan struct{}), denials: map[dayKey]*denied{}}
	for range writers {
		q := make(chan *job, 4096)
		w.queues = append(w.queues, q)
		w.wg.Add(1)
		go w.run(q)
	}
	w.wg.Add(1)
	go w.flushLoop()
	return w
}

// close answers what is queued, flushes the denial counts and stops.
func (w *writer) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	w.wg.Wait()
	for _, q := range w.queues {
	drain:
		for {
			select {
			case j := <-q:
				j.err = storage.ErrClosed
				j.done <- struct{}{}
			default:
				break drain
			}
		}
	}
}

func (w *writer) submit(ctx context.Context, j *job) (model.VerifyResult, error) {
	if at := w.down.Load(); at != 0 && time.Since(time.Unix(0, at)) < downFor {
		putJob(j)
		return model.VerifyResult{}, *w.downErr.Load()
	}
	select {
	case w.queues[queueOf(j.req.ClientID, len(w.queues))] <- j:
	case <-w.stop:
		putJob(j)
		return model.VerifyResult{}, storage.ErrClosed
	case <-ctx.Done():
		putJob(j)
		return model.VerifyResult{}, ctx.Err()
	}
	select {
	case <-j.done:
		res, err := j.res, j.err
		putJob(j)
		return res, err
	case <-ctx.Done():
		// The batch still answers into j; it is not reused. Its unit, if
		// any, is committed: this caller just does not hear of it.
		return model.VerifyResult{}, ctx.Err()
	}
}

// queueOf picks a Client ID's queue (FNV-1a of the ID).
func queueOf(clientID string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(clientID); i++ {
		h = (h ^ uint32(clientID[i])) * 16777619
	}
	return int(h % uint32(n))
}

func (w *writer) run(jobs chan *job) {
	defer w.wg.Done()
	batch := make([]*job, 0, maxBatch)
	b := newBatch()
	defer func() {
		if b.pc != nil {
			b.pc.Release()
		}
	}()
	for {
		select {
		case j := <-jobs:
			batch = append(batch[:0], j)
		case <-w.stop:
			return
		}
		batch = collect(jobs, batch)
		err := w.runBatch(b, batch)
		for _, j := range batch {
			if err != nil {
				j.res, j.err = model.VerifyResult{}, err
			}
			j.done <- struct{}{}
		}
	}
}

// collect gathers the jobs waiting behind the first. While more keep
// coming it yields the processor a few times, so the goroutines serving
// requests can queue theirs, as the SQLite writer does: on a small machine
// the loop would otherwise send a batch every few requests, and a batch's
// round trips cost the same whatever it holds. (Measured against the loop
// without it, six paired wrk runs at 64 connections: ahead in 4, median
// ×1.05; within this machine's noise, kept for the same reason as in
// SQLite.)
func collect(jobs chan *job, batch []*job) []*job {
	for idle := 0; len(batch) < maxBatch && idle < 2; {
		select {
		case j := <-jobs:
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

// runBatch decides and commits one batch, again on a deadlock or
// serialization failure (the decisions are remade from the rows read
// again).
func (w *writer) runBatch(b *batch, jobs []*job) error {
	var err error
	for attempt := range 5 {
		if attempt > 0 {
			time.Sleep(time.Duration(1+rand.IntN(5*attempt)) * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		err = w.tryBatch(ctx, b, jobs)
		cancel()
		if err == nil {
			w.down.Store(0)
			w.record(b)
			return nil
		}
		if !retryable(err) {
			break
		}
	}
	err = w.db.wrapErr(err)
	if errors.Is(err, storage.ErrUnavailable) {
		w.downErr.Store(&err)
		w.down.Store(time.Now().UnixNano())
	}
	w.db.log.Error("verification batch failed", "err", err, "requests", len(jobs))
	return err
}

// batch is one batch's rows and decisions, reused from batch to batch.
type batch struct {
	pc *pgxpool.Conn // the loop's connection (see writer.conn)

	ids      []string
	keys     map[string]*keyRow
	accounts map[int64]*accountRow
	order    []*keyRow // touched keys, in id order
	denials  []denial
	pending  map[dayKey]*used // allowed units of the batch per key and day

	// unnest arrays for the writes
	kID, kQ, kM, kC, kPS, kLU []int64
	aID, aC                   []int64
	uID                       []int64
	uDay                      []string
	uQ, uM, uC                []int64
}

type keyRow struct {
	id, accountID int64
	digest        model.Digest
	permissions   model.Permission
	active        bool
	queryAlloc    int64
	mutationAlloc int64
	usage         model.PeriodUsage
	lastUsed      int64
	touched       bool
}

type accountRow struct {
	period  model.Period
	credits int64
	changed bool
}

type used struct{ q, m, c int64 }

type denial struct {
	key     dayKey
	verdict model.Verdict
}

func newBatch() *batch {
	return &batch{keys: map[string]*keyRow{}, accounts: map[int64]*accountRow{}, pending: map[dayKey]*used{}}
}

func (b *batch) reset() {
	b.ids = b.ids[:0]
	clear(b.keys)
	clear(b.accounts)
	b.order = b.order[:0]
	b.denials = b.denials[:0]
	clear(b.pending)
}

const (
	selectKeys = `SELECT id, client_id, account_id, secret_digest, permissions, status = 'active',
		query_alloc, mutation_alloc, query_used, mutation_used, credits_used, period_start
		FROM keys WHERE client_id = ANY($1) ORDER BY id FOR UPDATE`
	selectAccounts = `SELECT id, period, credits FROM accounts
		WHERE id IN (SELECT account_id FROM keys WHERE client_id = ANY($1)) ORDER BY id`
	// selectKeysAccounts is selectKeys with each key's account, which it
	// does not lock (no credits are spent).
	selectKeysAccounts = `SELECT k.id, k.client_id, k.account_id, k.secret_digest, k.permissions, k.status = 'active',
		k.query_alloc, k.mutation_alloc, k.query_used, k.mutation_used, k.credits_used, k.period_start,
		a.period, a.credits
		FROM keys k JOIN accounts a ON a.id = k.account_id WHERE k.client_id = ANY($1) ORDER BY k.id FOR UPDATE OF k`
	// updateKeysUsage writes the batch's key counters and adds its units
	// to the day's usage, in one statement.
	updateKeysUsage = `WITH k AS (UPDATE keys k SET query_used = u.q, mutation_used = u.m, credits_used = u.c,
		period_start = u.ps, last_used_at = u.lu
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
			AS u(id, q, m, c, ps, lu) WHERE k.id = u.id)
		INSERT INTO usage_days (key_id, day, queries, mutations, credits)
		SELECT * FROM unnest($7::bigint[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[])
		ON CONFLICT (key_id, day) DO UPDATE SET queries = usage_days.queries + excluded.queries,
			mutations = usage_days.mutations + excluded.mutations, credits = usage_days.credits + excluded.credits`
	updateAccounts = `UPDATE accounts a SET credits = u.c
		FROM unnest($1::bigint[], $2::bigint[]) AS u(id, c) WHERE a.id = u.id`
)

// conn is the batch loop's own connection, held from batch to batch (no
// pool round trip per batch) and set up once: in durability normal its
// commits do not wait for the WAL flush (synchronous_commit off).
func (w *writer) conn(ctx context.Context, b *batch) (*pgx.Conn, error) {
	if b.pc != nil && !b.pc.Conn().IsClosed() {
		return b.pc.Conn(), nil
	}
	w.dropConn(b)
	pc, err := w.db.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	sync := "on"
	if w.db.opt.Durability != storage.DurabilityStrict {
		sync = "off"
	}
	if _, err := pc.Exec(ctx, "SET synchronous_commit TO "+sync); err != nil {
		pc.Release()
		return nil, err
	}
	b.pc = pc
	return pc.Conn(), nil
}

// dropConn closes the loop's connection: one that failed mid-batch is in
// an unknown state and is not given back to the pool.
func (w *writer) dropConn(b *batch) {
	if b.pc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	b.pc.Hijack().Close(ctx)
	b.pc = nil
}

func (w *writer) tryBatch(ctx context.Context, b *batch, jobs []*job) (err error) {
	b.reset()
	credits := false
	for _, j := range jobs {
		if _, ok := b.keys[j.req.ClientID]; !ok {
			b.keys[j.req.ClientID] = nil
			b.ids = append(b.ids, j.req.ClientID)
		}
		credits = credits || j.req.Credits > 0
	}
	conn, err := w.conn(ctx, b)
	if err != nil {
		return err
	}
	// Until COMMIT has answered, a failure rolls back; a connection that
	// cannot even do that is dropped.
	committed := false
	defer func() {
		if committed || conn.IsClosed() {
			if conn.IsClosed() {
				w.dropConn(b)
			}
			return
		}
		rctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := conn.Exec(rctx, "ROLLBACK"); err != nil {
			w.dropConn(b)
		}
	}()

	// Round trip 1: BEGIN and the locked reads in one pipeline. Without
	// credits to spend, the accounts are read with the keys, unlocked;
	// with credits, locked after every key (the global lock order).
	var q pgx.Batch
	q.Queue("BEGIN")
	if credits {
		q.Queue(selectKeys, b.ids)
		q.Queue(selectAccounts+` FOR UPDATE`, b.ids)
	} else {
		q.Queue(selectKeysAccounts, b.ids)
	}
	br := conn.SendBatch(ctx, &q)
	defer func() {
		if br != nil {
			br.Close()
		}
	}()
	if _, err := br.Exec(); err != nil {
		return err
	}
	rows, _ := br.Query()
	for rows.Next() {
		var (
			k        keyRow
			clientID string
			digest   []byte
			a        accountRow
		)
		dest := []any{&k.id, &clientID, &k.accountID, &digest, &k.permissions, &k.active, &k.queryAlloc,
			&k.mutationAlloc, &k.usage.Query, &k.usage.Mutation, &k.usage.Credit, &k.usage.Start}
		if !credits {
			dest = append(dest, &a.period, &a.credits)
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		copy(k.digest[:], digest)
		b.keys[clientID] = &k
		if !credits && b.accounts[k.accountID] == nil {
			b.accounts[k.accountID] = &a
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if credits {
		rows, _ = br.Query()
		for rows.Next() {
			var (
				id int64
				a  accountRow
			)
			if err := rows.Scan(&id, &a.period, &a.credits); err != nil {
				rows.Close()
				return err
			}
			b.accounts[id] = &a
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	err, br = br.Close(), nil
	if err != nil {
		return err
	}

	// Decide, in arrival order.
	now := w.db.now()
	nowMs, day := now.UnixMilli(), model.Day(now)
	for _, j := range jobs {
		w.decide(b, j, now, nowMs, day)
	}

	// Round trip 2: the writes and COMMIT in one pipeline.
	b.arrays()
	q = pgx.Batch{}
	if len(b.kID) > 0 {
		q.Queue(updateKeysUsage, b.kID, b.kQ, b.kM, b.kC, b.kPS, b.kLU, b.uID, b.uDay, b.uQ, b.uM, b.uC)
	}
	if len(b.aID) > 0 {
		q.Queue(updateAccounts, b.aID, b.aC)
	}
	q.Queue("COMMIT")
	if err := conn.SendBatch(ctx, &q).Close(); err != nil {
		return err
	}
	committed = true
	return nil
}

// decide answers one request from the batch's rows, through model.Decide,
// and consumes its unit in them when allowed.
func (w *writer) decide(b *batch, j *job, now time.Time, nowMs int64, day string) {
	j.res, j.err = model.VerifyResult{Verdict: model.DeniedUnauthorized}, nil
	k := b.keys[j.req.ClientID]
	if k == nil {
		// The same compare as a known key's, so a 401's time does not
		// tell whether the Client ID exists.
		model.DummyDigest.Equal(j.digest)
		return
	}
	if !k.digest.Equal(j.digest) || !k.active {
		b.denials = append(b.denials, denial{dayKey{k.id, day}, model.DeniedUnauthorized})
		return
	}
	a := b.accounts[k.accountID]
	if a == nil {
		// A key whose account row vanished cannot be: refuse, do not guess.
		b.denials = append(b.denials, denial{dayKey{k.id, day}, model.DeniedUnauthorized})
		return
	}
	start := a.period.Start(now).Unix()
	k.usage = k.usage.At(start)
	op := j.req.Operation
	verdict := model.Decide(model.KeyState{
		Active: k.active, Permissions: k.permissions,
		QueryAlloc: k.queryAlloc, MutationAlloc: k.mutationAlloc,
		QueryUsed: k.usage.Query, MutationUsed: k.usage.Mutation,
		AccountCredits: a.credits,
	}, op, j.req.Credits)
	kind := op.Kind()
	if verdict == model.Allowed {
		k.usage.Consume(kind, j.req.Credits)
		k.lastUsed = nowMs
		if !k.touched {
			k.touched = true
			b.order = append(b.order, k)
		}
		u := b.pending[dayKey{k.id, day}]
		if u == nil {
			u = &used{}
			b.pending[dayKey{k.id, day}] = u
		}
		if kind == model.KindQuery {
			u.q++
		} else {
			u.m++
		}
		if c := j.req.Credits; c > 0 {
			a.credits -= c
			a.changed = true
			u.c += c
		}
	} else {
		b.denials = append(b.denials, denial{dayKey{k.id, day}, verdict})
	}
	alloc, usedN := k.queryAlloc, k.usage.Query
	if kind == model.KindMutation {
		alloc, usedN = k.mutationAlloc, k.usage.Mutation
	}
	j.res = model.VerifyResult{
		Verdict:       verdict,
		ClientID:      j.req.ClientID,
		Kind:          kind,
		Limit:         alloc,
		Remaining:     max(0, alloc-usedN),
		QueryLimit:    k.queryAlloc,
		MutationLimit: k.mutationAlloc,
		Period:        a.period,
		PeriodSeconds: a.period.Seconds(now),
		ResetsAt:      a.period.End(now),
	}
}

// arrays fills the unnest arrays of the writes, in key-id order: the
// usage_days rows are then locked in the same order by every writer.
func (b *batch) arrays() {
	slices.SortFunc(b.order, func(x, y *keyRow) int { return cmp.Compare(x.id, y.id) })
	b.kID, b.kQ, b.kM, b.kC, b.kPS, b.kLU = b.kID[:0], b.kQ[:0], b.kM[:0], b.kC[:0], b.kPS[:0], b.kLU[:0]
	for _, k := range b.order {
		b.kID = append(b.kID, k.id)
		b.kQ = append(b.kQ, k.usage.Query)
		b.kM = append(b.kM, k.usage.Mutation)
		b.kC = append(b.kC, k.usage.Credit)
		b.kPS = append(b.kPS, k.usage.Start)
		b.kLU = append(b.kLU, k.lastUsed)
	}
	b.uID, b.uDay, b.uQ, b.uM, b.uC = b.uID[:0], b.uDay[:0], b.uQ[:0], b.uM[:0], b.uC[:0]
	keys := make([]dayKey, 0, len(b.pending))
	for k := range b.pending {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareDayKeys)
	for _, k := range keys {
		u := b.pending[k]
		b.uID = append(b.uID, k.keyID)
		b.uDay = append(b.uDay, k.day)
		b.uQ = append(b.uQ, u.q)
		b.uM = append(b.uM, u.m)
		b.uC = append(b.uC, u.c)
	}
	b.aID, b.aC = b.aID[:0], b.aC[:0]
	ids := make([]int64, 0, len(b.accounts))
	for id, a := range b.accounts {
		if a.changed {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		b.aID = append(b.aID, id)
		b.aC = append(b.aC, b.accounts[id].credits)
	}
}

// record adds a committed batch's denials to the counts the flush writes.
func (w *writer) record(b *batch) {
	if len(b.denials) == 0 {
		return
	}
	w.mu.Lock()
	for _, d := range b.denials {
		c := w.denials[d.key]
		if c == nil {
			c = &denied{}
			w.denials[d.key] = c
		}
		switch d.verdict {
		case model.DeniedUnauthorized:
			c.d401++
		case model.DeniedForbidden:
			c.d403++
		case model.DeniedQuota:
			c.d429++
		case model.DeniedCredits:
			c.d402++
		}
	}
	w.mu.Unlock()
}

func (w *writer) flushLoop() {
	defer w.wg.Done()
	t := time.NewTicker(w.db.opt.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.flush()
		case <-w.stop:
			w.flush()
			return
		}
	}
}

// flush adds the denial counts to usage_days, in key-id order; counts
// that cannot be written stay for the next flush.
func (w *writer) flush() {
	w.mu.Lock()
	if len(w.denials) == 0 {
		w.mu.Unlock()
		return
	}
	counts := w.denials
	w.denials = map[dayKey]*denied{}
	w.mu.Unlock()

	keys := make([]dayKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareDayKeys)
	var (
		ids            []int64
		days           []string
		d1, d3, d9, d2 []int64
		err            error
	)
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	for _, k := range keys {
		c := counts[k]
		ids, days = append(ids, k.keyID), append(days, k.day)
		d1, d3, d9, d2 = append(d1, c.d401), append(d3, c.d403), append(d9, c.d429), append(d2, c.d402)
	}
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(1+rand.IntN(10)) * time.Millisecond)
		}
		_, err = w.db.pool.Exec(ctx, `INSERT INTO usage_days (key_id, day, denied_401, denied_403, denied_429, denied_402)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
			ON CONFLICT (key_id, day) DO UPDATE SET denied_401 = usage_days.denied_401 + excluded.denied_401,
				denied_403 = usage_days.denied_403 + excluded.denied_403,
				denied_429 = usage_days.denied_429 + excluded.denied_429,
				denied_402 = usage_days.denied_402 + excluded.denied_402`, ids, days, d1, d3, d9, d2)
		if err == nil || !retryable(err) {
			break
		}
	}
	if err == nil {
		return
	}
	w.db.log.Error("denial counts not written yet", "err", w.db.wrapErr(err))
	w.mu.Lock()
	for k, c := range counts {
		n := w.denials[k]
		if n == nil {
			w.denials[k] = c
			continue
		}
		n.d401 += c.d401
		n.d403 += c.d403
		n.d429 += c.d429
		n.d402 += c.d402
	}
	w.mu.Unlock()
}

// compareDayKeys orders by key id, then day: the order every writer locks
// usage_days rows in.
func compareDayKeys(x, y dayKey) int {
	if c := cmp.Compare(x.keyID, y.keyID); c != 0 {
		return c
	}
	return strings.Compare(x.day, y.day)
}
