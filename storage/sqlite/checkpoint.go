package sqlite

import (
	"database/sql"
	"time"
)

// checkpointer copies the WAL into the database file every 200ms, on a
// connection of its own, beside the writer (PASSIVE: it never blocks it).
//
// Under steady load that alone never lets the WAL start over: SQLite
// rewinds the WAL only when a write transaction begins with every frame
// already copied, and the writer commits every few hundred microseconds,
// always ahead of the copy. The WAL would grow without bound (measured:
// 14 MB a second at 26,000 verifications a second). So once the WAL
// holds Options.walRestartFrames, the checkpointer takes checkpointMu, which the writer
// holds for each batch, and checkpoints again (RESTART): with the writer
// paused this pass copies the last frames and completes, and the writer's
// next commit rewinds the WAL and overwrites it from the start. The pause
// is the copy of the frames since the last pass plus two fsyncs, a few
// milliseconds every few seconds (TestWALStaysBoundedUnderSteadyLoad).
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
			db.log.Warn("checkpoint", "err", wrapErr(err))
			return 0, false
		}
		return frames, busy == 0
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	// The paused pass is RESTART: it also waits (up to the connection's
	// busy timeout, 100 ms) for readers to leave the WAL, so that the next
	// commit does rewind it. When a reader stays (another process's long
	// read transaction, say), pausing the writer again and again gains
	// nothing, so the pauses back off, up to every 10 seconds.
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
