package sqlite

import (
	"context"
	"database/sql"
	"runtime"
	"sync"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// The writer is the one goroutine that writes to the database, so SQLite's
// sleeping busy handler only ever arbitrates between processes. It commits
// the jobs waiting at the start of a transaction together and answers them
// after the commit: a consumed unit is on disk before the answer. The
// README's "How the store keeps quotas exact" is the design.
type writer struct {
	db    *DB
	conn  *sql.Conn
	stmts *stmts
	jobs  chan *job

	mu     sync.RWMutex
	closed bool
	quit   chan struct{}
	done   chan struct{}

	// The rest is owned by the loop goroutine.
	batch []*job // collect's buffer

	// The in-memory copy (quota.go).
	dataVersion int64                // PRAGMA data_version the copy was loaded under; -1: reload
	keys        map[string]*keyState // by Client ID; unknown ones point to unknown
	unknown     keyState             // what an unknown Client ID is: see key
	work        workCount
	accounts    map[int64]*accountState

	// The pending log (pending.go).
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
	buf       []byte // JSON for the log, reused
}

// workCount counts what verifications do, so a test can hold every 401
// to the same work.
type workCount struct {
	lookups, loads, compares, denials int64
}

type job struct {
	fn     func(tx dbtx) error
	verify *verifyJob
	err    error
	queued time.Time // when submit was called: BusyTimeout counts from here
	// done gets one value when the job's transaction has ended; it is
	// buffered so the writer never waits, and reused with the job.
	done chan struct{}
	// inlineVerify is where verify points, so a pooled job carries its
	// verification without another allocation.
	inlineVerify verifyJob
}

// jobs are pooled: a verification is the hot path, and a job with its
// channel is most of what it allocates.
var jobPool = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

func getJob() *job { return jobPool.Get().(*job) }

// putJob returns a job whose transaction has ended (or that was never
// queued) to the pool.
func putJob(j *job) {
	j.fn, j.verify, j.err, j.queued = nil, nil, nil, time.Time{}
	j.inlineVerify = verifyJob{}
	jobPool.Put(j)
}

// maxBatch bounds how many jobs share one transaction.
const maxBatch = 1024

// lockPoll is the writer connection's busy timeout: how long one BEGIN
// waits for another process's lock before begin checks the deadlines.
const lockPoll = 100 * time.Millisecond

func newWriter(db *DB, conn *sql.Conn, st *stmts) *writer {
	w := &writer{
		db:          db,
		conn:        conn,
		stmts:       st,
		jobs:        make(chan *job, maxBatch),
		quit:        make(chan struct{}),
		done:        make(chan struct{}),
		dataVersion: -1,
		unknown:     keyState{digest: model.DummyDigest},
		keys:        map[string]*keyState{},
		accounts:    map[int64]*accountState{},
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
	j.queued = time.Now()
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
	err := db.writer.submit(ctx, j)
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
// it yields the processor a few times, so the goroutines serving requests
// can queue theirs: on a small machine the writer would otherwise commit
// every few requests and the fixed cost of a commit would dominate (on
// two cores it roughly doubled make bench's throughput).
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

// run executes one batch in one transaction.
func (w *writer) run(batch []*job) {
	ctx := context.Background()
	w.db.checkpointMu.Lock()
	batch, err := w.runTx(ctx, batch)
	w.db.checkpointMu.Unlock()
	if err != nil {
		// Nothing of this batch is on disk; the in-memory copy may be ahead.
		// Reload (and fold) at the start of the next batch.
		w.resetCache()
		clear(w.usage)
		w.dataVersion = -1
		ctxErr := isCtx(err)
		if isBusy(err) {
			err = w.db.lockedErr()
		} else {
			err = w.db.withPath(wrapErr(err))
		}
		// A full disk or a lock fails every batch until it is gone.
		if dropped, ok := w.db.writeFailLog.allow(); ok && !ctxErr {
			w.db.log.Error("write transaction failed", "err", err, "failures_not_logged", dropped)
		}
	}
	for _, j := range batch {
		if err != nil {
			j.err = err
		}
		j.done <- struct{}{}
	}
}

// runTx runs the batch in one transaction. It returns the jobs it has not
// answered: begin answers those that waited too long for the lock.
func (w *writer) runTx(ctx context.Context, batch []*job) (_ []*job, err error) {
	batch, version, err := w.begin(ctx, batch)
	if err != nil {
		return batch, err
	}
	return batch, w.runBatch(ctx, batch, version)
}

// begin begins the batch's transaction, waiting for another process's
// lock at most Options.BusyTimeout from when each job was queued. SQLite's
// busy timeout bounds one statement, and a job queued behind a batch that
// was waiting would wait for that batch and then its own (8.7 s against
// 5 s were seen), so the connection's timeout is short (lockPoll) and
// this loop keeps the deadlines: a job whose time is up is answered
// "locked" at once, the others wait on.
func (w *writer) begin(ctx context.Context, batch []*job) ([]*job, int64, error) {
	start := time.Now()
	for {
		version, err := w.beginBatch(ctx)
		if err == nil {
			return batch, version, nil
		}
		// BEGIN may have succeeded and the PRAGMA failed; and should a
		// failed batch have left a transaction open, this ends it too,
		// so the next batch can begin.
		w.stmts.rollback.ExecContext(ctx)
		if !isBusy(err) {
			return batch, 0, err
		}
		now, limit := time.Now(), w.db.opt.BusyTimeout
		if batch == nil {
			if now.Sub(start) >= limit {
				return nil, 0, err
			}
			continue
		}
		kept := batch[:0]
		for _, j := range batch {
			if now.Sub(j.queued) < limit {
				kept = append(kept, j)
				continue
			}
			j.err = w.db.lockedErr()
			j.done <- struct{}{}
		}
		if batch = kept; len(batch) == 0 {
			return batch, 0, err
		}
	}
}

func (w *writer) runBatch(ctx context.Context, batch []*job, version int64) (err error) {
	tx := w.conn
	defer func() {
		if err != nil {
			// Also after a failed COMMIT, which may leave the
			// transaction open.
			w.stmts.rollback.ExecContext(ctx)
		}
	}()
	if err := w.checkCopy(ctx, tx, version); err != nil {
		return err
	}
	now := w.db.now()
	bt := newBatchTime(now)
	for _, j := range batch {
		if j.fn != nil {
			if err := w.runWrite(ctx, tx, j); err != nil {
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
	w.capCopy()
	return nil
}

// runWrite runs an ordinary write in its own savepoint, after what
// verifications changed so far is written and folded, so that it reads
// the rows as they are. An error from fn becomes the job's, not the batch's.
func (w *writer) runWrite(ctx context.Context, tx dbtx, j *job) error {
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
		j.err = w.db.withPath(wrapErr(j.err))
	}
	if _, err := w.stmts.release.ExecContext(ctx); err != nil {
		return err
	}
	// fn may have changed anything: reload what verifications need.
	return w.invalidate(ctx, tx)
}
