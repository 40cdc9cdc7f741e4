package sqlite

import (
	"database/sql"
	"time"
)

// checkpointer copies the WAL into the database file every 200ms, on a
// connection of its own, beside the writer (PASSIVE: it never blocks it).
// SQLite rewinds the WAL only when a write begins with every frame copied,
// which under steady load never happens, so once the WAL holds
// Options.walRestartFrames it pauses the writer (checkpointMu) for one
// RESTART pass of a few milliseconds (TestWALStaysBoundedUnderSteadyLoad).
func (db *DB) checkpointer() {
	defer close(db.checkpointDone)
	c, err := sql.Open("sqlite3", dsn(db.path, "_busy_timeout=100"))
	if err != nil {
		db.log.Error("checkpointer", "err", err)
		return
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	// checkpoint runs one pass; ok is false when it could not finish
	// (busy: a reader or another process's writer was in the way).
	checkpoint := func(mode string) (frames int64, ok bool) {
		var busy, done int64
		if err := c.QueryRow("PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &done); err != nil {
			if dropped, ok := db.checkpointFailLog.allow(); ok {
				db.log.Warn("checkpoint failed", "err", db.withPath(wrapErr(err)), "failures_not_logged", dropped)
			}
			return 0, false
		}
		return frames, busy == 0
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	// RESTART waits up to the busy timeout for readers to leave the WAL.
	// A reader that stays (another process's long read) makes every pause
	// useless, so the pauses back off, up to every 10 seconds.
	var (
		forcedAt time.Time
		backoff  time.Duration
	)
	for {
		frames, _ := checkpoint("PASSIVE")
		if frames >= db.opt.walRestartFrames && time.Since(forcedAt) >= backoff {
			db.checkpointMu.Lock()
			_, ok := checkpoint("RESTART")
			db.checkpointMu.Unlock()
			db.forcedPasses.Add(1)
			forcedAt = time.Now()
			if ok {
				backoff = 0
			} else {
				backoff = min(max(2*backoff, time.Second), 10*time.Second)
			}
		}
		select {
		case <-db.checkpointStop:
			checkpoint("PASSIVE")
			return
		case <-tick.C:
		}
	}
}
