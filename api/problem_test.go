package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keydeck/keydeck/storage"
)

// TestDatabaseConditions: a full disk and a lock are 503s with a
// Retry-After, a read-only database a 503 without; none sends the
// server's file names, and each comes back as its storage error.
func TestDatabaseConditions(t *testing.T) {
	for _, c := range []struct {
		err   error
		typ   string
		retry int
		is    error
	}{
		{&storage.DiskFullError{Path: "/srv/keydeck/k.db"}, TypeDiskFull, 5, storage.ErrDiskFull},
		{storage.ErrDiskFull, TypeDiskFull, 5, storage.ErrDiskFull},
		{&storage.LockedError{Waited: 5 * time.Second}, TypeDatabaseLocked, 1, storage.ErrLocked},
		{storage.ErrReadOnly, TypeDatabaseReadOnly, 0, storage.ErrReadOnly},
	} {
		p, ok := FromError(c.err)
		if !ok || p.Status != http.StatusServiceUnavailable || p.Type != c.typ || p.RetryAfter != c.retry {
			t.Errorf("%v: %+v", c.err, p)
			continue
		}
		if strings.Contains(p.Detail, "/srv") {
			t.Errorf("%v: the detail names a server file: %q", c.err, p.Detail)
		}
		if back := p.Err(); !errors.Is(back, c.is) || strings.Contains(back.Error(), "\n") {
			t.Errorf("%v: came back as %v", c.err, back)
		}
	}
}

// TestDatabaseDown: a database server that cannot be reached is 503
// unavailable with Retry-After 1, however deep the error is wrapped, and
// the answer names neither its host nor its port.
func TestDatabaseDown(t *testing.T) {
	down := &storage.DatabaseDownError{Addr: "db.internal:5432", Cause: "connection refused"}
	for _, err := range []error{down, fmt.Errorf("verify: %w", down), storage.ErrUnavailable} {
		p, ok := FromError(err)
		if !ok || p.Status != http.StatusServiceUnavailable || p.Type != TypeUnavailable || p.RetryAfter != 1 {
			t.Fatalf("%v: %+v", err, p)
		}
		if p.Detail != DatabaseUnreachable || strings.Contains(p.Detail, "db.internal") || strings.Contains(p.Detail, "5432") {
			t.Errorf("%v: detail %q", err, p.Detail)
		}
	}
}
