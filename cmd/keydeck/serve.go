package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"

	"github.com/keydeck/keydeck/server"
	"github.com/keydeck/keydeck/server/ssh"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/sqlite"
)

// maxSSHSessions bounds --ssh-max-sessions: each session is a whole
// terminal UI in memory, and a figure beyond this is more likely a typo.
// It bounds the --ssh-max-unauthenticated flags too.
const maxSSHSessions = 10000

// --ssh-handshake-timeout's range: below a second nobody logs in; beyond
// ten minutes the deadline no longer protects anything.
const (
	minSSHHandshake = time.Second
	maxSSHHandshake = 10 * time.Minute
)

// pgStoreTimeout bounds a request's store calls on PostgreSQL: a server
// that stops answering (packets dropped, not refused) is answered 503
// after it rather than when TCP gives up. It leaves room for the store's
// own connect timeout (5s) and a queue of group commits.
const pgStoreTimeout = 10 * time.Second

// shutdownGrace is how long in-flight requests get to finish after
// SIGTERM or SIGINT.
const shutdownGrace = 15 * time.Second

type serveOptions struct {
	http, gateway, upstream string
	creditCosts             []string
	durability              string
	tlsCert, tlsKey         string
	accessLog               string
	ssh, sshHostKey         string
	sshIdle                 time.Duration
	sshMaxSessions          string
	sshHandshake            time.Duration
	sshMaxUnauth            string
	sshMaxUnauthPerSource   string
}

func (a *app) serveCmd() *cobra.Command {
	var o serveOptions
	c := &cobra.Command{
		Use:   "serve [--http ADDR] [--gateway ADDR --upstream URL] [--ssh ADDR] [--durability normal|strict] [--tls-cert F --tls-key F]",
		Short: "Serve the HTTP API (management and /v1/verify), the gateway and the terminal UI over SSH",
		Long: `Serve keydeck over the network, on the database named by --db (a SQLite
file, or a PostgreSQL database: --db postgres://…).

--http ADDR serves the HTTP API: POST /v1/verify for your services, the
management endpoints under /v1 for an account's API token (keydeck account
token NAME), /healthz, /metrics (Prometheus) and /openapi.json.

--gateway ADDR --upstream URL stands in front of a service on its own
listener: every request must carry a key, as Authorization: Basic
base64(client_id:client_secret) or as X-Client-Id and X-Client-Secret; it is
verified by method (GET/HEAD read + 1 Query; POST/PUT/PATCH write + 1
Mutation; DELETE delete + 1 Mutation) and, when allowed, sent upstream
without the credentials and with X-Keydeck-Client-Id. --credit-cost prices
requests by method and path ('POST /media=5'; a path ending in / covers
everything below it; repeat the flag for more), matched on a canonical form
of the path (percent-decoded, case-folded, ;params and a trailing slash
ignored; paths that cannot be canonicalised are refused with 400). The unit is consumed when
the request is allowed: if the upstream then fails (502), it stays consumed,
because the upstream may have acted on the request.

--ssh ADDR serves the terminal UI over SSH. Only public keys registered with
keydeck account add-ssh-key get in, each to its own account's screen; no
shell, command, port forwarding or subsystem. The host key is generated on
first start beside the database (--ssh-host-key to choose the file) and its
fingerprint printed (on PostgreSQL: in the folder of the default database
file, one per machine). A session closes after --ssh-idle-timeout without
input (0: never); at most --ssh-max-sessions run at once. A connection has
--ssh-handshake-timeout to log in; connections not logged in yet have a
budget of their own, --ssh-max-unauthenticated in all (beyond it the
oldest is closed) and --ssh-max-unauthenticated-per-source from one IPv4
address or IPv6 /64 (beyond it new ones are closed), so they never take
the room of users who logged in.

--durability strict fsyncs each group commit before answering (normal
survives the process being killed, not a power loss). On PostgreSQL,
strict answers a verification once its commit is durable
(synchronous_commit on); normal commits verifications with
synchronous_commit off: a crash of keydeck loses nothing, a crash of
PostgreSQL or its machine may lose its last commits (about 600 ms by
default; README, Several nodes).
--tls-cert/--tls-key serve both listeners over TLS.

On PostgreSQL, a database that stops answering makes verifications and
management calls answer 503 with Retry-After: 1 (never an allow without
its unit committed) until it is back; /healthz pings it and /metrics shows
the connection pool (keydeck_db_pool_*).

SIGINT or SIGTERM stops accepting, lets requests in flight finish (up to
15s), ends every SSH session (its terminal restored, with a line saying why)
and closes the database cleanly.`,
		Example: `  keydeck serve --http 127.0.0.1:8080
  keydeck serve --http :8443 --tls-cert cert.pem --tls-key key.pem --durability strict
  keydeck serve --gateway :9000 --upstream http://127.0.0.1:3000 --credit-cost 'POST /media=5'
  keydeck serve --ssh :2222 --http 127.0.0.1:8080`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.serve(cmd, o) },
	}
	f := c.Flags()
	f.StringVar(&o.http, "http", "", "serve the HTTP API on ADDR (host:port)")
	f.StringVar(&o.gateway, "gateway", "", "serve the gateway on ADDR (host:port); needs --upstream")
	f.StringVar(&o.upstream, "upstream", "", "URL of the service behind the gateway")
	f.StringArrayVar(&o.creditCosts, "credit-cost", nil, "credits a gateway request costs, 'PATTERN=N' (repeatable)")
	f.StringVar(&o.durability, "durability", "normal", "normal or strict (durable before answering)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM) for both listeners")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	f.StringVar(&o.accessLog, "access-log", "text", "access log on stderr: text, json or off")
	f.StringVar(&o.ssh, "ssh", "", "serve the terminal UI over SSH on ADDR (host:port)")
	f.StringVar(&o.sshHostKey, "ssh-host-key", "", "SSH host key file, generated when missing (default: "+ssh.HostKeyFile+" beside the database)")
	f.DurationVar(&o.sshIdle, "ssh-idle-timeout", ssh.DefaultIdleTimeout, "close an SSH session after this long without input (0: never)")
	f.StringVar(&o.sshMaxSessions, "ssh-max-sessions", strconv.Itoa(ssh.DefaultMaxSessions), "SSH sessions allowed at once (1–"+strconv.Itoa(maxSSHSessions)+")")
	f.DurationVar(&o.sshHandshake, "ssh-handshake-timeout", ssh.DefaultHandshakeTimeout, "time an SSH connection has from connecting to logging in ("+minSSHHandshake.String()+"–"+maxSSHHandshake.String()+")")
	f.StringVar(&o.sshMaxUnauth, "ssh-max-unauthenticated", strconv.Itoa(ssh.DefaultMaxUnauthenticated), "SSH connections not logged in yet allowed at once; beyond it the oldest is closed (1–"+strconv.Itoa(maxSSHSessions)+")")
	f.StringVar(&o.sshMaxUnauthPerSource, "ssh-max-unauthenticated-per-source", strconv.Itoa(ssh.DefaultMaxUnauthenticatedPerSource), "of those, how many one IPv4 address or IPv6 /64 may hold (1–"+strconv.Itoa(maxSSHSessions)+")")
	return c
}

// listener is one network service of serve.
type listener struct {
	name  string // for messages
	url   string
	serve func() error
	stop  func(context.Context) error
}

func (a *app) serve(cmd *cobra.Command, o serveOptions) error {
	if a.remoteURL(cmd) != "" {
		return usageErrorf("serve works on the database itself (--db); drop --remote (and %s)", envRemote)
	}
	if o.ssh == "" {
		for _, name := range []string{"ssh-host-key", "ssh-idle-timeout", "ssh-max-sessions", "ssh-handshake-timeout", "ssh-max-unauthenticated", "ssh-max-unauthenticated-per-source"} {
			if cmd.Flags().Changed(name) {
				return usageErrorf("serve: the --ssh-* options need --ssh ADDR")
			}
		}
	}
	if o.http == "" && o.gateway == "" && o.ssh == "" {
		return usageErrorf("serve: nothing to serve; give --http ADDR (e.g. 127.0.0.1:8080), --gateway ADDR --upstream URL and/or --ssh ADDR")
	}
	if o.sshIdle < 0 {
		return usageErrorf("--ssh-idle-timeout: must not be negative (0 means never)")
	}
	maxSessions, err := parseWhole("ssh-max-sessions", o.sshMaxSessions, 1, maxSSHSessions)
	if err != nil {
		return err
	}
	if o.sshHandshake < minSSHHandshake || o.sshHandshake > maxSSHHandshake {
		return usageErrorf("--ssh-handshake-timeout: give a duration from %s to %s", minSSHHandshake, maxSSHHandshake)
	}
	maxUnauth, err := parseWhole("ssh-max-unauthenticated", o.sshMaxUnauth, 1, maxSSHSessions)
	if err != nil {
		return err
	}
	maxUnauthPerSource, err := parseWhole("ssh-max-unauthenticated-per-source", o.sshMaxUnauthPerSource, 1, maxSSHSessions)
	if err != nil {
		return err
	}
	sshLimits := ssh.Config{
		IdleTimeout:                 o.sshIdle,
		MaxSessions:                 int(maxSessions),
		HandshakeTimeout:            o.sshHandshake,
		MaxUnauthenticated:          int(maxUnauth),
		MaxUnauthenticatedPerSource: int(maxUnauthPerSource),
	}
	if (o.gateway == "") != (o.upstream == "") {
		return usageErrorf("serve: --gateway and --upstream go together")
	}
	if len(o.creditCosts) > 0 && o.gateway == "" {
		return usageErrorf("serve: --credit-cost prices gateway requests; give --gateway and --upstream too")
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usageErrorf("serve: --tls-cert and --tls-key go together")
	}
	durability, err := storage.ParseDurability(o.durability)
	if err != nil {
		return usageErrorf("--durability: %v", err)
	}
	var upstream *url.URL
	if o.upstream != "" {
		if upstream, err = server.ParseUpstream(o.upstream); err != nil {
			return usageErrorf("--upstream: %v", err)
		}
	}
	var costs []server.CreditCost
	for _, s := range o.creditCosts {
		// The number goes through the CLI's one parser first (the server's
		// own reads "+5" as 5); spaces around "=" are the pattern's syntax.
		if i := strings.LastIndexByte(s, '='); i >= 0 {
			if _, err := parseQuota("credit-cost", strings.TrimSpace(s[i+1:])); err != nil {
				return err
			}
		}
		c, err := server.ParseCreditCost(s)
		if err != nil {
			return usageErrorf("--credit-cost: %v", err)
		}
		costs = append(costs, c)
	}
	var tlsConf *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %v", err)
		}
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	var access *server.AccessLog
	switch strings.ToLower(o.accessLog) {
	case "text":
		access = server.NewAccessLog(a.stderr, false)
	case "json":
		access = server.NewAccessLog(a.stderr, true)
	case "off", "none":
	default:
		return usageErrorf("--access-log: unknown format %q (use text, json or off)", sanitize(o.accessLog))
	}
	if access != nil {
		defer access.Close()
	}
	logger, err := a.logger(cmd)
	if err != nil {
		return err
	}

	db, err := a.openDB(cmd, durability, logger)
	if err != nil {
		return err
	}
	defer db.admin.Close()
	var storeTimeout time.Duration
	if db.file == "" {
		storeTimeout = pgStoreTimeout
	}
	srv, err := server.New(server.Config{Admin: db.admin, StoreTimeout: storeTimeout, Logger: logger, AccessLog: access, Upstream: upstream, CreditCosts: costs})
	if err != nil {
		return usageErrorf("serve: %v", err)
	}

	var ls []listener
	closeAll := func() {
		for _, l := range ls {
			_ = l.stop(context.Background())
		}
	}
	// park: verifications are answered here (server.ParkingListener;
	// plain HTTP only, TLS connections read in records anyway).
	add := func(name, addr string, h http.Handler, t server.Timeouts, park bool) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: cannot listen on %s: %v", name, sanitize(addr), err)
		}
		if park && tlsConf == nil {
			ln = server.ParkingListener(ln)
		}
		hs := server.HTTPServer(h, t, logger)
		scheme := "http"
		serveFn := func() error { return hs.Serve(ln) }
		if tlsConf != nil {
			scheme = "https"
			hs.TLSConfig = tlsConf.Clone()
			serveFn = func() error { return hs.ServeTLS(ln, "", "") }
		}
		stop := func(ctx context.Context) error {
			err := hs.Shutdown(ctx)
			ln.Close() // in case Serve never ran
			return err
		}
		ls = append(ls, listener{name: name, url: scheme + "://" + ln.Addr().String(), serve: serveFn, stop: stop})
		return nil
	}
	if o.http != "" {
		if err := add("HTTP API", o.http, srv.Handler(), srv.APITimeouts(), true); err != nil {
			closeAll()
			return err
		}
	}
	if o.gateway != "" {
		if err := add("gateway", o.gateway, srv.GatewayHandler(), srv.GatewayTimeouts(), false); err != nil {
			closeAll()
			return err
		}
	}
	if o.ssh != "" {
		if err := a.addSSH(&ls, db, o, sshLimits, logger); err != nil {
			closeAll()
			return err
		}
	}
	return a.run(cmd.Context(), db.name, o.durability, upstream, ls)
}

// addSSH sets up the SSH listener: the host key (made on first start,
// its fingerprint printed for pinning) and the server with cfg's limits.
func (a *app) addSSH(ls *[]listener, db *database, o serveOptions, cfg ssh.Config, logger *slog.Logger) error {
	path := o.sshHostKey
	if path == "" {
		// Beside the database file; on PostgreSQL, in the folder the
		// default database file would be in (each node has its own unless
		// --ssh-host-key names a shared one).
		file := db.file
		if file == "" {
			var err error
			if file, err = sqlite.DefaultPath(); err != nil {
				return fmt.Errorf("SSH: cannot find a place for the host key (use --ssh-host-key): %w", err)
			}
		}
		path = ssh.HostKeyPath(file)
	}
	hostKey, created, err := ssh.LoadHostKey(path)
	if err != nil {
		return err
	}
	cfg.Admin, cfg.HostKey, cfg.Logger = db.admin, hostKey, logger
	srv, err := ssh.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.ssh)
	if err != nil {
		return fmt.Errorf("SSH: cannot listen on %s: %v", sanitize(o.ssh), err)
	}
	state := "reused"
	if created {
		state = "generated now"
	}
	fmt.Fprintf(a.stderr, "keydeck: SSH host key %s (%s, %s)\n", gossh.FingerprintSHA256(hostKey.PublicKey()), path, state)
	*ls = append(*ls, listener{name: "SSH", url: ln.Addr().String(),
		serve: func() error { return srv.Serve(ln) },
		stop: func(ctx context.Context) error {
			err := srv.Shutdown(ctx)
			ln.Close() // in case Serve never ran
			return err
		}})
	return nil
}

// run serves every listener until the context ends (SIGINT, SIGTERM) or
// one fails, then shuts them all down gracefully.
func (a *app) run(ctx context.Context, dbName, durability string, upstream *url.URL, ls []listener) error {
	errc := make(chan error, len(ls))
	for _, l := range ls {
		msg := fmt.Sprintf("keydeck: %s listening on %s", l.name, l.url)
		if l.name == "gateway" {
			msg += " → " + upstream.Redacted()
		}
		fmt.Fprintln(a.stderr, msg)
		go func() {
			if err := l.serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", l.name, err)
			}
		}()
	}
	fmt.Fprintf(a.stderr, "keydeck: database %s (durability %s); stop with Ctrl-C or SIGTERM\n", dbName, durability)

	var failed error
	select {
	case <-ctx.Done():
		fmt.Fprintln(a.stderr, "keydeck: shutting down; letting requests in flight finish")
	case failed = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	for _, l := range ls {
		if err := l.stop(sctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", l.name, err))
		}
	}
	if failed != nil {
		return failed
	}
	if len(errs) > 0 {
		return fmt.Errorf("shutdown: %w", errors.Join(errs...))
	}
	fmt.Fprintln(a.stderr, "keydeck: stopped")
	return nil
}
