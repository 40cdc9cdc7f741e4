// Package sqlite is the SQLite store of keydeck (github.com/mattn/go-sqlite3).
//
// One writer connection serves every write of the process through a single
// goroutine that commits in groups (writer.go, quota.go, pending.go); a
// pool of read-only connections serves the reads. The database runs in WAL
// mode, with immediate transactions and a busy timeout, so several
// processes can share one file.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/adrg/xdg"
	"github.com/pressly/goose/v3"

	"github.com/keydeck/keydeck/storage"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Durability says when a write is on disk (storage.Durability): normal is
// WAL with synchronous=NORMAL, a committed write survives the process being
// killed and a power loss may lose the last commits; strict fsyncs every
// commit (synchronous=FULL) before answering, group commit sharing one
// fsync between many requests.
type Durability = storage.Durability

const (
	DurabilityNormal = storage.DurabilityNormal
	DurabilityStrict = storage.DurabilityStrict
)

// ParseDurability reads "normal" or "strict".
func ParseDurability(s string) (Durability, error) { return storage.ParseDurability(s) }

// Options configure a DB.
type Options struct {
	// Clock gives the current time; nil means time.Now. Tests move it to
	// cross a month boundary.
	Clock func() time.Time
	// BusyTimeout is how long a write waits for another process's lock;
	// 0 means 5s.
	BusyTimeout time.Duration
	Durability  Durability
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
	// FlushInterval is how often in-memory denial counts reach the
	// database; 0 means one second.
	FlushInterval time.Duration
	// NoDefaultAccount skips creating the "default" account: keydeck copy
	// opens its source and target so, to leave the one unchanged and the
	// other empty.
	NoDefaultAccount bool

	// Tuning that only this package's tests change; 0 means the default.
	maxCachedKeys    int   // keys in the writer's in-memory copy; 200,000
	walRestartFrames int64 // WAL length that pauses the writer; 8,192 (see checkpointer)
	// commitFault, when it returns an error, fails the batch's COMMIT
	// with it: a full disk where no small filesystem can be mounted.
	commitFault func() error
}

// DB is a keydeck database. It implements storage.Admin.
type DB struct {
	path    string
	opt     Options
	now     func() time.Time
	log     *slog.Logger
	read    *sql.DB
	writeDB *sql.DB
	writer  *writer

	checkpointStop, checkpointDone chan struct{}
	// checkpointMu is held by the writer for each batch; the checkpointer takes
	// it to let a checkpoint catch up with the WAL (see checkpointer).
	checkpointMu sync.Mutex
	forcedPasses atomic.Int64 // times the checkpointer paused the writer

	writeFailLog, checkpointFailLog rateLog

	// lockFile is the descriptor migrate flocks. It stays open until every
	// connection is closed: closing any descriptor of the database file
	// drops all of this process's POSIX locks on it, SQLite's included, and
	// another SQLite client that then closes would find no reader left,
	// checkpoint and delete the -wal and -shm this process still writes to.
	lockFile *os.File
}

var _ storage.Admin = (*DB)(nil)

// DefaultPath is keydeck.db under the XDG data directory
// ($XDG_DATA_HOME/keydeck, usually ~/.local/share/keydeck).
func DefaultPath() (string, error) {
	return filepath.Join(xdg.DataHome, "keydeck", "keydeck.db"), nil
}

// Open opens (creating if needed, with mode 0600 in a 0700 folder) the
// database at path, upgrades its schema (after writing a backup copy) and
// makes sure the "default" account exists (unless opt.NoDefaultAccount).
func Open(ctx context.Context, path string, opt Options) (*DB, error) {
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 5 * time.Second
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = time.Second
	}
	if opt.maxCachedKeys <= 0 {
		opt.maxCachedKeys = 200_000
	}
	if opt.walRestartFrames <= 0 {
		// 32 MiB of 4 KiB pages: a pause every few seconds at full load.
		opt.walRestartFrames = 8192
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if path == "" {
		return nil, errors.New("no database path given")
	}
	if err := prepareFile(path); err != nil {
		return nil, err
	}
	fixSideFiles(path)
	db := &DB{path: path, opt: opt, now: opt.Clock, log: opt.Logger}
	fail := func(err error) (*DB, error) {
		db.closeConns()
		if err = db.withPath(wrapErr(err)); errors.As(err, new(*storage.DiskFullError)) || errors.As(err, new(*storage.ReadOnlyError)) {
			return nil, err // it names the file already
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sync := "NORMAL"
	if opt.Durability == DurabilityStrict {
		sync = "FULL"
	}
	busy := opt.BusyTimeout.Milliseconds()
	var err error
	db.writeDB, err = sql.Open("sqlite3", dsn(path, fmt.Sprintf(
		"_txlock=immediate&_busy_timeout=%d&_journal_mode=WAL&_synchronous=%s&_foreign_keys=1", busy, sync)))
	if err != nil {
		return fail(err)
	}
	db.writeDB.SetMaxOpenConns(1)
	db.writeDB.SetMaxIdleConns(1)
	db.writeDB.SetConnMaxLifetime(0)
	db.writeDB.SetConnMaxIdleTime(0)
	if err := db.writeDB.PingContext(ctx); err != nil {
		return fail(err)
	}
	if err := db.migrate(ctx); err != nil {
		return fail(err)
	}
	db.read, err = sql.Open("sqlite3", dsn(path, fmt.Sprintf("_busy_timeout=%d&_query_only=1&_foreign_keys=1", busy)))
	if err != nil {
		return fail(err)
	}
	db.read.SetMaxOpenConns(4)
	db.read.SetMaxIdleConns(4)
	conn, err := db.writeDB.Conn(ctx)
	if err != nil {
		return fail(err)
	}
	st, err := prepareStmts(ctx, conn)
	if err != nil {
		conn.Close()
		return fail(err)
	}
	// The writer never checkpoints: a checkpoint syncs the WAL and the
	// database file, and on the writer it would stall every request in the
	// batch. A goroutine of its own copies the WAL back on another
	// connection, which SQLite lets run beside the writer.
	// The writer waits for other processes' locks in short steps and keeps
	// the BusyTimeout deadline itself (writer.begin).
	poll := min(lockPoll, opt.BusyTimeout)
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = 0; PRAGMA busy_timeout = %d", poll.Milliseconds())); err != nil {
		st.close(conn)
		conn.Close()
		return fail(err)
	}
	db.writer = newWriter(db, conn, st)
	db.checkpointStop, db.checkpointDone = make(chan struct{}), make(chan struct{})
	go db.checkpointer()
	if !opt.NoDefaultAccount {
		if err := db.ensureDefault(ctx); err != nil {
			db.writer.close()
			return fail(err)
		}
	}
	return db, nil
}

// Path is the file the database lives in.
func (db *DB) Path() string { return db.path }

// Close flushes pending counts and closes every connection.
func (db *DB) Close() error {
	if db.writer != nil {
		db.writer.close()
	}
	if db.checkpointStop != nil {
		close(db.checkpointStop)
		<-db.checkpointDone
		db.checkpointStop = nil
	}
	return db.closeConns()
}

func (db *DB) closeConns() error {
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.writeDB != nil {
		errs = append(errs, db.writeDB.Close())
	}
	if db.lockFile != nil {
		errs = append(errs, db.lockFile.Close())
		db.lockFile = nil
	}
	return errors.Join(errs...)
}

// dsn builds a mattn/go-sqlite3 URI for path with the given parameters.
func dsn(path, params string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(path) + "?" + params
}

// prepareFile makes the folder (0700) and the file (0600) when they are
// missing, and refuses a path that is a folder.
func prepareFile(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("%s: is a directory, not a database file", path)
	case err == nil && fi.Size() == 0:
		// An empty file becomes a new database: give it the mode a new
		// one gets, since it will hold digests and the audit log.
		if err := os.Chmod(path, 0o600); err != nil && !errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	case err == nil:
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("cannot create the data folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot create the database: %w", err)
	}
	return f.Close()
}

// migrate brings the schema up to date. It holds an exclusive flock on the
// database file so two processes starting at once do not race (SQLite's
// own locks are POSIX locks and do not interfere with flock).
func (db *DB) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	return db.migrateFS(ctx, sub)
}

// migrateFS applies the migrations in fsys.
func (db *DB) migrateFS(ctx context.Context, fsys fs.FS) error {
	// The descriptor is not closed here but by closeConns (see lockFile):
	// SQLite already has the file open and locked through db.writeDB.
	f := db.lockFile
	if f == nil {
		var err error
		f, err = os.OpenFile(db.path, os.O_RDWR, 0)
		if err != nil {
			if errors.Is(err, os.ErrPermission) {
				f, err = os.Open(db.path)
			}
			if err != nil {
				return err
			}
		}
		db.lockFile = f
	}
	if err := flockTimeout(f, db.opt.BusyTimeout); err != nil {
		return err
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)

	p, err := goose.NewProvider(goose.DialectSQLite3, db.writeDB, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	cur, err := p.GetDBVersion(ctx)
	if err != nil && !errors.Is(err, goose.ErrNoMigrations) {
		return err
	}
	var latest int64
	for _, s := range p.ListSources() {
		latest = max(latest, s.Version)
	}
	if cur > latest {
		return fmt.Errorf("%w (schema version %d, this keydeck knows up to %d)", storage.ErrNewerSchema, cur, latest)
	}
	if cur == latest {
		return nil
	}
	if cur > 0 {
		backup := fmt.Sprintf("%s.backup-v%d-%s", db.path, cur, db.now().UTC().Format("20060102T150405Z"))
		if err := vacuumInto(ctx, db.writeDB, backup); err != nil {
			return fmt.Errorf("backup before schema upgrade failed: %w", err)
		}
		db.log.Info("schema upgrade", "from", cur, "to", latest, "backup", backup)
	}
	_, err = p.Up(ctx)
	return err
}

// flockTimeout takes an exclusive flock, waiting at most d.
func flockTimeout(f *os.File, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return storage.ErrLocked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// vacuumInto writes a consistent copy of the database to path, which must
// not exist yet; the copy is created 0600.
func vacuumInto(ctx context.Context, d *sql.DB, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists; choose another name", path)
		}
		return err
	}
	f.Close()
	if _, err := d.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return wrapErr(err)
	}
	return nil
}

// Backup writes an online, consistent copy of the database to path.
func (db *DB) Backup(ctx context.Context, path string) error {
	if path == "" {
		return errors.New("no backup path given")
	}
	if abs, err := filepath.Abs(path); err == nil {
		if me, err2 := filepath.Abs(db.path); err2 == nil {
			if abs == me {
				return errors.New("the backup path is the database itself")
			}
			// SQLite owns these names: a copy written as the -journal is
			// taken for a hot journal and deleted by the next open, and a
			// -wal or -shm one is overwritten or removed the same way.
			for _, suffix := range []string{"-journal", "-wal", "-shm"} {
				if abs == me+suffix {
					return fmt.Errorf("%s is a name SQLite uses beside the database; choose another name for the backup", path)
				}
			}
		}
	}
	// The read pool is query-only and the writer's one connection belongs to
	// the writer goroutine: copy through a connection of its own.
	c, err := sql.Open("sqlite3", dsn(db.path, fmt.Sprintf("_busy_timeout=%d", db.opt.BusyTimeout.Milliseconds())))
	if err != nil {
		return wrapErr(err)
	}
	defer c.Close()
	return vacuumInto(ctx, c, path)
}
