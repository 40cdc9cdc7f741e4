package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/mattn/go-sqlite3"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// TestDiskFullErrors: SQLite says "full" as SQLITE_FULL or as an I/O
// error whose cause is ENOSPC; both are storage.ErrDiskFull, named after
// the database's file. Other I/O errors say what failed, once.
func TestDiskFullErrors(t *testing.T) {
	db := &DB{path: "/data/k.db"}
	for _, se := range []sqlite3.Error{
		{Code: sqlite3.ErrFull},
		{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrWrite, SystemErrno: syscall.ENOSPC},
		{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrSHMSize, SystemErrno: syscall.ENOSPC},
		{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrFsync, SystemErrno: syscall.EDQUOT},
	} {
		err := db.withPath(wrapErr(se))
		if !errors.Is(err, storage.ErrDiskFull) || err.Error() != "the disk is full (/data/k.db)" {
			t.Errorf("%v (errno %v): %v", se.ExtendedCode, se.SystemErrno, err)
		}
	}
	err := db.withPath(wrapErr(sqlite3.Error{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrRead, SystemErrno: syscall.EIO}))
	if errors.Is(err, storage.ErrDiskFull) || err.Error() != "disk I/O error: input/output error" {
		t.Errorf("EIO: %v", err)
	}
	if err := wrapErr(sqlite3.Error{Code: sqlite3.ErrIoErr}); err.Error() != "disk I/O error" {
		t.Errorf("an I/O error without errno: %v", err)
	}
}

// TestFailedCommitLosesNothing: a batch whose COMMIT fails (here with an
// injected SQLITE_FULL) answers its verifications and writes with the
// error, none allowed; the writer is not wedged, and once commits work
// again the quota counts exactly the units answered allowed.
func TestFailedCommitLosesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.db")
	var full atomic.Bool
	db, err := Open(ctx, path, Options{commitFault: func() error {
		if full.Load() {
			return sqlite3.Error{Code: sqlite3.ErrFull}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _ := db.Store("default", "test")
	k, secret, err := st.CreateKey(ctx, model.KeySpec{Name: "k", Permissions: model.PermAll, QueryAlloc: 10})
	if err != nil {
		t.Fatal(err)
	}
	verify := func() (model.VerifyResult, error) {
		return db.Verify(ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead})
	}
	allowed := 0
	for range 3 {
		if r, err := verify(); err != nil || r.Verdict != model.Allowed {
			t.Fatalf("%v %v", r.Verdict, err)
		}
		allowed++
	}
	full.Store(true)
	for range 3 {
		if r, err := verify(); !errors.Is(err, storage.ErrDiskFull) || err.Error() != "the disk is full ("+path+")" {
			t.Fatalf("verify on a full disk: %v %v", r.Verdict, err)
		}
	}
	if _, _, err := st.CreateKey(ctx, model.KeySpec{Name: "other", Permissions: model.PermRead}); !errors.Is(err, storage.ErrDiskFull) {
		t.Fatalf("create on a full disk: %v", err)
	}
	full.Store(false)
	r, err := verify()
	if err != nil || r.Verdict != model.Allowed {
		t.Fatalf("after the disk was freed: %v %v", r.Verdict, err)
	}
	allowed++
	if r.Remaining != 10-int64(allowed) {
		t.Fatalf("remaining %d after %d allowed", r.Remaining, allowed)
	}
	if _, _, err := st.CreateKey(ctx, model.KeySpec{Name: "other", Permissions: model.PermRead}); err != nil {
		t.Fatalf("create after the disk was freed: %v", err)
	}
	if got, err := st.GetKey(ctx, k.ClientID); err != nil || got.QueryUsed != int64(allowed) {
		t.Fatalf("used %d (%v), want %d", got.QueryUsed, err, allowed)
	}
}
