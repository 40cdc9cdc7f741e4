// Package storage defines the Store interface that the TUI, the CLI and the
// server use, and the errors stores return.
package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keydeck/keydeck/model"
)

// Store manages the keys of one account, on behalf of one actor (an OS
// user, an SSH key fingerprint or an API token). The SQLite store and the
// remote HTTP client both implement it; callers never know which.
type Store interface {
	// Account returns the account with its held amounts filled in.
	Account(ctx context.Context) (model.Account, error)

	// ListKeys returns a page of keys.
	ListKeys(ctx context.Context, opt ListOptions) (KeyPage, error)
	// GetKey finds a key by Client ID or exact name (the active key wins;
	// several revoked ones give a *model.AmbiguousError).
	GetKey(ctx context.Context, id string) (model.Key, error)
	// CreateKey makes a key and returns its secret, the only time it exists.
	CreateKey(ctx context.Context, spec model.KeySpec) (model.Key, string, error)
	// EditKey changes name, permissions or allocations of an active key.
	EditKey(ctx context.Context, id string, edit model.KeyEdit) (model.Key, error)
	// RegenerateKey replaces the secret; the old one is dead at once.
	RegenerateKey(ctx context.Context, id string) (model.Key, string, error)
	// RevokeKey kills the key for good; keep holds its allocation.
	RevokeKey(ctx context.Context, id string, keep bool) (model.Key, error)
	// ReleaseKey frees the allocation a revoked key kept.
	ReleaseKey(ctx context.Context, id string) (model.Key, error)
	// Usage returns the key's usage per UTC day, oldest first, for the last
	// days days (today included), with zero rows for quiet days.
	Usage(ctx context.Context, id string, days int) ([]model.UsageDay, error)
	// Audit returns the account's audit events, newest first.
	Audit(ctx context.Context, f AuditFilter) ([]model.AuditEvent, error)

	// Verify checks a key's credentials and consumes one unit when allowed.
	// It is not limited to this store's account: the Client ID decides.
	// Every denial, bad credentials included, is a verdict, never an error
	// (storetest holds every store to that); an error means the check
	// could not be made.
	Verify(ctx context.Context, req model.VerifyRequest) (model.VerifyResult, error)

	// Close releases what the store holds.
	Close() error
}

// Durability says when a committed write is answered.
type Durability int

const (
	// DurabilityNormal: a committed write survives the keydeck process
	// being killed; a crash of the machine (or of the database server)
	// may lose the last commits. Each store says exactly what.
	DurabilityNormal Durability = iota
	// DurabilityStrict: every commit is on stable storage before it is
	// answered.
	DurabilityStrict
)

// ParseDurability reads "normal" or "strict".
func ParseDurability(s string) (Durability, error) {
	switch s {
	case "normal", "":
		return DurabilityNormal, nil
	case "strict":
		return DurabilityStrict, nil
	}
	return 0, &model.ValidationError{Field: "durability", Msg: fmt.Sprintf("unknown durability %q (use normal or strict)", model.Sanitize(s, 20))}
}

// Sort orders a key list.
type Sort string

const (
	SortCreated Sort = "created" // newest first
	SortName    Sort = "name"
	SortUsage   Sort = "usage" // most used (queries + mutations) first
)

// ListOptions selects and pages keys.
type ListOptions struct {
	IncludeRevoked bool
	// Name matches a key name exactly; Query matches a substring of the
	// name or Client ID, case-insensitively.
	Name  string
	Query string
	Sort  Sort
	// Limit defaults to 100 and is at most MaxLimit.
	Limit int
	// Cursor continues a previous page ("" for the first).
	Cursor string
}

const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// KeyPage is one page of keys.
type KeyPage struct {
	Keys []model.Key `json:"keys"`
	// Total counts every key that matches, on all pages.
	Total int `json:"total"`
	// NextCursor is "" on the last page.
	NextCursor string `json:"next_cursor"`
}

// AuditFilter selects audit events.
type AuditFilter struct {
	// Key is a Client ID or key name; "" for all.
	Key   string
	Limit int // default 100, at most 1000
}

// Storage-level errors, beside the model's sentinel errors.
var (
	// ErrLocked: another process held the database for longer than the
	// busy timeout.
	ErrLocked = errors.New("the database is locked by another process (waited 5s); try again")
	// ErrReadOnly: the database file or its folder cannot be written.
	ErrReadOnly = errors.New("the database is read-only (check the permissions of the file and its folder)")
	// ErrNotDatabase: the file is not a SQLite database.
	ErrNotDatabase = errors.New("the file is not a keydeck database (not a SQLite file)")
	// ErrCorrupt: SQLite reports the database is damaged.
	ErrCorrupt = errors.New("the database file is damaged; restore it from a backup")
	// ErrNewerSchema: the file was written by a newer keydeck.
	ErrNewerSchema = errors.New("the database was created by a newer keydeck; upgrade keydeck to open it")
	// ErrUnavailable: a remote server could not be reached or timed out.
	ErrUnavailable = errors.New("the keydeck server cannot be reached")
	// ErrDiskFull: the disk holding the database has no space left.
	ErrDiskFull = errors.New("the disk is full")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("the store is closed")
)

// DatabaseDownError is ErrUnavailable for a database server (PostgreSQL)
// that cannot be reached or stopped answering: Addr is its host and port,
// never a URL with credentials.
type DatabaseDownError struct{ Addr, Cause string }

func (e *DatabaseDownError) Error() string {
	s := "the database at " + e.Addr + " cannot be reached"
	if e.Cause != "" {
		s += ": " + e.Cause
	}
	return s
}

func (e *DatabaseDownError) Is(target error) bool { return target == ErrUnavailable }

// LockedError is ErrLocked saying how long a request waited.
type LockedError struct{ Waited time.Duration }

func (e *LockedError) Error() string {
	return fmt.Sprintf("the database is locked by another process (waited %v); try again", e.Waited)
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// DiskFullError is ErrDiskFull naming the file that could not grow.
type DiskFullError struct{ Path string }

func (e *DiskFullError) Error() string { return "the disk is full (" + e.Path + ")" }

func (e *DiskFullError) Is(target error) bool { return target == ErrDiskFull }

// ReadOnlyError is ErrReadOnly naming the file or folder at fault.
type ReadOnlyError struct{ Path, Fix string }

func (e *ReadOnlyError) Error() string {
	return "the database is read-only: " + e.Path + " cannot be written (" + e.Fix + ")"
}

func (e *ReadOnlyError) Is(target error) bool { return target == ErrReadOnly }

// PoolStats is a connection pool's state at one moment, as a store reached
// through a pool reports it (server.PoolStater, /metrics). The counts are
// since the pool was made.
type PoolStats struct {
	Acquired     int32 // connections in use
	Idle         int32 // connections open and free
	Constructing int32 // connections being opened
	Total        int32 // open or being opened
	Max          int32 // the pool's bound

	AcquireCount         int64         // connections handed out
	AcquireDuration      time.Duration // time spent waiting for them, in all
	EmptyAcquireCount    int64         // acquires that found no idle connection
	CanceledAcquireCount int64         // acquires given up (the request's context ended)
	NewConns             int64         // connections opened
}
