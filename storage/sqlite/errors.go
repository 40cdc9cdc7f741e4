package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
		return errors.New("the disk is full")
	case sqlite3.ErrIoErr:
		return fmt.Errorf("disk I/O error: %v", se.Code)
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
