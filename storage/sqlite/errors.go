package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// wrapErr turns driver errors into storage errors users can act on. Errors
// that are already keydeck's pass through. SQL text and arguments never
// reach the message (no secret is ever an argument anyway: only digests).
func wrapErr(err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		return storage.ErrLocked
	case sqlite3.ErrReadonly, sqlite3.ErrCantOpen, sqlite3.ErrPerm:
		if se.Code == sqlite3.ErrCantOpen {
			return fmt.Errorf("cannot open the database file (check that its folder exists and is writable)")
		}
		return storage.ErrReadOnly
	case sqlite3.ErrNotADB:
		return storage.ErrNotDatabase
	case sqlite3.ErrCorrupt:
		return storage.ErrCorrupt
	case sqlite3.ErrFull:
		return storage.ErrDiskFull
	case sqlite3.ErrIoErr:
		// SQLite reports most failed writes on a full disk as I/O errors
		// (a short write, a failed fsync or -shm extension).
		if se.SystemErrno == syscall.ENOSPC || se.SystemErrno == syscall.EDQUOT {
			return storage.ErrDiskFull
		}
		if se.SystemErrno != 0 {
			return fmt.Errorf("disk I/O error: %v", se.SystemErrno)
		}
		return errors.New("disk I/O error")
	case sqlite3.ErrConstraint:
		if strings.Contains(se.Error(), "keys.account_id, keys.name") || strings.Contains(se.Error(), "keys_active_name") {
			return model.ErrDuplicateName
		}
		if strings.Contains(se.Error(), "accounts.name") {
			return model.ErrAccountExists
		}
		if strings.Contains(se.Error(), "ssh_keys.fingerprint") {
			return model.ErrSSHKeyExists
		}
	}
	return fmt.Errorf("database error: %w", err)
}

// withPath names the database's file in errors that are about it, so a
// person knows which disk to free or which file to fix.
func (db *DB) withPath(err error) error {
	if errors.Is(err, storage.ErrDiskFull) {
		return &storage.DiskFullError{Path: db.path}
	}
	if errors.Is(err, storage.ErrReadOnly) {
		if e := readOnlyFile(db.path); e != nil {
			return e
		}
	}
	return err
}

// readOnlyFile names what keeps the database at path read-only: the file,
// the -wal or -shm beside it, or the folder when they are missing and
// cannot be made. nil when everything looks writable.
func readOnlyFile(path string) error {
	writable := func(p string) bool { return syscall.Access(p, 2 /* W_OK */) == nil }
	if !writable(path) {
		return &storage.ReadOnlyError{Path: path, Fix: "check its permissions"}
	}
	for _, side := range []string{path + "-wal", path + "-shm"} {
		_, err := os.Stat(side)
		switch {
		case err == nil && !writable(side):
			return &storage.ReadOnlyError{Path: side, Fix: "make it writable like the database, or remove it while no keydeck runs"}
		case errors.Is(err, os.ErrNotExist) && !writable(filepath.Dir(path)):
			return &storage.ReadOnlyError{Path: filepath.Dir(path), Fix: "SQLite creates " + filepath.Base(side) + " there; check the folder's permissions"}
		}
	}
	return nil
}

// fixSideFiles gives a -wal or -shm the mode of the database when the
// database is writable and they are not: SQLite creates them with the
// database's mode, so a database opened while read-only leaves a read-only
// -shm that kept it read-only after its own mode was fixed.
func fixSideFiles(path string) {
	fi, err := os.Stat(path)
	if err != nil || syscall.Access(path, 2 /* W_OK */) != nil {
		return
	}
	for _, side := range []string{path + "-wal", path + "-shm"} {
		if syscall.Access(side, 2) != nil {
			os.Chmod(side, fi.Mode().Perm()) // only its owner can; otherwise the error names it
		}
	}
}

// rateLog lets one log line a second through; failures that repeat for
// as long as a condition lasts (a full disk, a lock) would flood the log.
type rateLog struct{ at, dropped atomic.Int64 }

// allow reports whether to log now, and how many lines it held back since
// the last one.
func (r *rateLog) allow() (dropped int64, ok bool) {
	now, at := time.Now().UnixNano(), r.at.Load()
	if now-at < int64(time.Second) || !r.at.CompareAndSwap(at, now) {
		r.dropped.Add(1)
		return 0, false
	}
	return r.dropped.Swap(0), true
}

// isBusy reports whether err is SQLite saying another connection holds
// the lock.
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// lockedErr is storage.ErrLocked saying how long was waited.
func (db *DB) lockedErr() error {
	return &storage.LockedError{Waited: db.opt.BusyTimeout}
}

// isCtx reports whether err is a context cancellation.
func isCtx(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
