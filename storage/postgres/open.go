// Package postgres is the PostgreSQL store: any number of keydeck
// processes, on any number of machines, share one database with every rule
// of SPEC §1 still exact.
//
// Files:
//   - open.go: Open, Options, the pool, the URL rules, migrations (goose's
//     postgres dialect behind its advisory-lock session locker).
//   - errors.go: PostgreSQL errors as storage and model errors.
//   - accounts.go, keys.go, import.go: storage.Admin and storage.Store
//     (management); read.go: the SQL of current-period usage and held
//     sums; tx.go: transactions retried on deadlock and serialization
//     failures.
//   - verify.go: verification, group-committed per process.
//   - watch.go: the watchdog that bounds waits on connections to a
//     database that stopped answering.
//
// The allocation arithmetic, the verification order and the period
// roll-over are the model package's (model.CheckNewKey, model.Decide,
// model.PeriodUsage): rows are locked, read, decided in Go and written,
// never decided by SQL of this package's own.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jackc/puddle/v2"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

//go:embed migrations/*.sql
var migrations embed.FS

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://) rather than a SQLite file.
func IsURL(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// IsSecretParam reports whether a URL parameter holds a secret: the
// password, or sslpassword (the passphrase of the client's sslkey).
func IsSecretParam(name string) bool {
	return strings.EqualFold(name, "password") || strings.EqualFold(name, "sslpassword")
}

// normalizeURL trims spaces around a URL and lower-cases its scheme: IsURL
// takes POSTGRES:// or PostgreSQL:// as URLs allow, pgx only the lower
// case (it would read anything else as a key=value string and fall back
// to the default socket).
func normalizeURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if !IsURL(raw) {
		return raw
	}
	i := strings.Index(raw, "://")
	return strings.ToLower(raw[:i]) + raw[i:]
}

// ShowURL is the URL without its user info (name and password) and with
// its secret parameters blanked: what messages and logs may print.
func ShowURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "postgres://… (does not parse; not shown, as it may hold a password)"
	}
	u.User = nil
	q := u.Query()
	for k := range q {
		switch {
		case IsSecretParam(k):
			q.Set(k, "…")
		case strings.EqualFold(k, "user"):
			q.Del(k) // as the user info is
		}
	}
	// Encode would write the blank as %E2%80%A6.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "=%E2%80%A6", "=…")
	return u.String()
}

// Options configure a DB.
type Options struct {
	// Clock gives the current time; nil means time.Now.
	Clock      func() time.Time
	Durability storage.Durability
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
	// FlushInterval is how often in-memory denial counts reach the
	// database; 0 means one second.
	FlushInterval time.Duration
	// MaxConns bounds the pool; 0 means 16.
	MaxConns int32
	// ConnectTimeout bounds connecting (at start and after a loss); 0
	// means 5s.
	ConnectTimeout time.Duration
	// NoDefaultAccount skips creating the "default" account: keydeck copy
	// opens its source and target so, to leave the one unchanged and the
	// other empty (transfer.go).
	NoDefaultAccount bool
}

// DB is a keydeck database on PostgreSQL. It implements storage.Admin.
type DB struct {
	opt    Options
	now    func() time.Time
	log    *slog.Logger
	pool   *pgxpool.Pool
	addr   string // host:port, for messages
	shown  string // the URL without credentials
	writer *writer
	watch  *watchdog // bounds waits for a database that went away (watch.go)
}

// Open connects to the database at rawURL (libpq conventions: sslmode,
// PGPASSWORD, PGPASSFILE, host=/socket/dir), brings its schema up to date
// and makes sure the "default" account exists. A database that cannot be
// reached is a *storage.DatabaseDownError naming host and port.
func Open(ctx context.Context, rawURL string, opt Options) (*DB, error) {
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = time.Second
	}
	if opt.MaxConns <= 0 {
		opt.MaxConns = 16
	}
	if opt.ConnectTimeout <= 0 {
		opt.ConnectTimeout = 5 * time.Second
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rawURL = normalizeURL(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's parse errors may quote the URL, password included.
		return nil, fmt.Errorf("invalid PostgreSQL URL %s: %s", ShowURL(rawURL), parseCause(err))
	}
	cfg.MaxConns = opt.MaxConns
	// A pooled connection is pinged when handed out, not only after a
	// second idle (pgx's default): after PostgreSQL restarts, or the
	// network between blinks, the pool's idle connections are all dead,
	// and each would fail one call, as ErrUnavailable, with the database
	// back. A dead one is dropped and the next (or a new one) tried. It
	// costs management calls one round trip; verification holds its own
	// connection (verify.go). A ping that gets no answer is the
	// watchdog's (watch.go).
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return true }
	cfg.ConnConfig.ConnectTimeout = opt.ConnectTimeout
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "keydeck"
	// Management writes answer once durable whatever the durability: they
	// are few. Verifications choose per transaction (verify.go).
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	db := &DB{opt: opt, now: opt.Clock, log: log, addr: addrOf(cfg.ConnConfig), shown: ShowURL(rawURL)}
	probeCfg := cfg.ConnConfig.Copy()
	db.watch = newWatchdog(opt.ConnectTimeout, log, func(ctx context.Context) error { return db.probe(ctx, probeCfg) })
	cfg.ConnConfig.DialFunc = db.watch.dial(cfg.ConnConfig.DialFunc)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, db.down(err)
	}
	db.pool = pool
	db.watch.start()
	fail := func(err error) (*DB, error) {
		pool.Close()
		db.watch.close()
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, opt.ConnectTimeout+time.Second)
	err = pool.Ping(pingCtx)
	cancel()
	if err != nil {
		return fail(db.down(err))
	}
	if err := db.migrate(ctx); err != nil {
		return fail(db.wrapErr(err))
	}
	if !opt.NoDefaultAccount {
		if err := db.ensureDefault(ctx); err != nil {
			return fail(db.wrapErr(err))
		}
	}
	db.writer = newWriter(db)
	return db, nil
}

// Addr is the database's host and port (or socket folder).
func (db *DB) Addr() string { return db.addr }

// URL is the database URL without credentials.
func (db *DB) URL() string { return db.shown }

// Pool is the connection pool.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Ping asks the database for an empty statement on a pooled connection: a
// cheap /healthz (server.Pinger). A database that does not answer is a
// *storage.DatabaseDownError naming host and port; after Close it is
// storage.ErrClosed.
func (db *DB) Ping(ctx context.Context) error {
	err := db.pool.Ping(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, puddle.ErrClosedPool):
		return storage.ErrClosed
	case ctx.Err() != nil:
		return &storage.DatabaseDownError{Addr: db.addr, Cause: "no answer in time"}
	}
	return db.down(err)
}

// PoolStats is the pool's state for /metrics (server.PoolStater).
func (db *DB) PoolStats() storage.PoolStats {
	s := db.pool.Stat()
	return storage.PoolStats{
		Acquired:             s.AcquiredConns(),
		Idle:                 s.IdleConns(),
		Constructing:         s.ConstructingConns(),
		Total:                s.TotalConns(),
		Max:                  s.MaxConns(),
		AcquireCount:         s.AcquireCount(),
		AcquireDuration:      s.AcquireDuration(),
		EmptyAcquireCount:    s.EmptyAcquireCount(),
		CanceledAcquireCount: s.CanceledAcquireCount(),
		NewConns:             s.NewConnsCount(),
	}
}

// Close stops the writer (answering what it holds) and closes the pool.
func (db *DB) Close() error {
	if db.writer != nil {
		db.writer.close()
	}
	db.pool.Close()
	if db.watch != nil {
		db.watch.close()
	}
	return nil
}

// addrOf is host:port as messages show it.
func addrOf(c *pgx.ConnConfig) string {
	if strings.HasPrefix(c.Host, "/") {
		return c.Host + " (port " + strconv.Itoa(int(c.Port)) + ")"
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
}

// parseCause is pgx's reason a URL does not parse, without the URL.
func parseCause(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return strings.TrimSpace(s)
}

// migrate brings the schema up to date under goose's advisory lock, so ten
// processes starting at once migrate once. A schema newer than this
// keydeck's is refused.
func (db *DB) migrate(ctx context.Context) error {
	// A search_path naming only schemas that do not exist leaves nowhere
	// to create the tables; goose would say its own table is missing.
	var schema *string
	var path string
	if err := db.pool.QueryRow(ctx, "SELECT current_schema(), current_setting('search_path')").Scan(&schema, &path); err != nil {
		return err
	}
	if schema == nil {
		return fmt.Errorf("no schema to hold keydeck's tables: search_path %q names none that exists; create it first (CREATE SCHEMA …)", path)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	return db.migrateFS(ctx, sub)
}

func (db *DB) migrateFS(ctx context.Context, fsys fs.FS) error {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 60))
	if err != nil {
		return err
	}
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return err
	}
	var latest int64
	for _, s := range p.ListSources() {
		latest = max(latest, s.Version)
	}
	// Up takes the lock first (creating goose's table under it), so the
	// version is read after it: before, ten processes would race to
	// create the table. A newer schema has nothing of ours pending.
	res, err := p.Up(ctx)
	if err != nil {
		return err
	}
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return err
	}
	if cur > latest {
		return fmt.Errorf("%w (schema version %d, this keydeck knows up to %d)", storage.ErrNewerSchema, cur, latest)
	}
	if len(res) > 0 {
		db.log.Info("schema upgrade", "to", latest, "applied", len(res), "database", db.shown)
	}
	return nil
}

// ensureDefault creates the "default" account on a fresh database, once
// however many processes start together. It has no API token until
// `keydeck account token default` makes one.
func (db *DB) ensureDefault(ctx context.Context) error {
	now := db.now().UnixMilli()
	_, err := db.pool.Exec(ctx, `WITH a AS (
		INSERT INTO accounts (name, query_total, mutation_total, credits, period, created_at)
		VALUES ($1, $2, $3, $4, 'monthly', $5) ON CONFLICT (name) DO NOTHING RETURNING id)
		INSERT INTO audit_events (account_id, at, actor, action, details)
		SELECT id, $5, 'keydeck', $6, $7 FROM a`,
		model.DefaultAccount, model.DefaultQueryTotal, model.DefaultMutationTotal, model.DefaultCredits, now,
		model.AuditAccountCreate, fmt.Sprintf(`{"credits":%d,"mutation_total":%d,"period":"monthly","query_total":%d}`,
			model.DefaultCredits, model.DefaultMutationTotal, model.DefaultQueryTotal))
	return err
}
