// Package storetest is the conformance suite every storage.Store must pass.
// It runs against the SQLite store and, through httptest, against the
// remote client, with the same cases: no case is skipped for one store and
// not the other.
//
// A factory opens the store under test on a database file the suite picks.
// Some cases start a second OS process: the suite runs the current test
// binary again with -test.run naming the calling test and
// KEYDECK_STORETEST_CHILD set; Run then does the child's work through the
// same factory (so for the remote client, a second server process on the
// same file) instead of running the suite.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/keydeck/keydeck/storage"
)

// Clock is a settable clock for the store under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time; pass it as the store's clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// Env is what a factory hands the suite.
type Env struct {
	// Admin is the local database behind the store under test, used to set
	// up accounts and totals. Its clock must be the suite's Clock, and its
	// denial flush interval short (say 20ms): the suite waits for denial
	// counts to appear.
	Admin storage.Admin
	// Open returns the store under test for one account. The suite closes
	// what it opens.
	Open func(t *testing.T, account string) storage.Store
}

// Factory opens the store under test on the database file at path
// (creating it if needed), with clock as its clock. Everything it starts
// must be stopped by t.Cleanup.
type Factory func(t *testing.T, clock *Clock, path string) Env
