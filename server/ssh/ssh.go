// Package ssh serves the terminal UI over SSH (SPEC §5), with wish; the
// HTTP API and the gateway are package server's.
//
//   - ssh.go: the Server: authentication, sessions, limits, Shutdown
//   - limits.go: connections before authentication: deadline and budgets
//   - panics.go: a panic ends one session, never the server
//   - input.go: a session's keyboard input, read beside Bubble Tea
//   - hostkey.go: the host key, generated beside the database
//
// In this package ssh is charm.land/ssh and gossh is golang.org/x/crypto/ssh.
//
// Who may connect: public-key authentication only. The key's SHA-256
// fingerprint is looked up with Admin.AccountForSSHKey on every connection
// (nothing is cached, so a key removed with `keydeck account remove-ssh-key`
// is refused on the next one) and again when the session starts; the
// session opens that account's API Keys screen and nothing else, acting as
// "ssh:<fingerprint>" in the audit log. Passwords and keyboard-interactive
// are never offered. The account travels from the authentication callback
// to the session in the connection's Permissions, which x/crypto/ssh keeps
// per verified key: a client that offers one key and signs with another
// gets the signing key's account, never the offered one's.
//
// What a session may do: open the UI on a terminal. A session without a
// PTY, or with a command, gets one line saying so and exit status 1;
// subsystems, port forwarding, X11 and any channel type but "session" are
// refused by the protocol. Every session has its own tui.Model and
// tea.Program (tui keeps no package-level state), copies with OSC 52 only,
// follows window-change requests, and runs without Bubble Tea's signal
// handler: the process's SIGTERM is the server's to handle (Shutdown).
//
// Limits: a connection has HandshakeTimeout from accept to authenticate,
// and unauthenticated connections have a budget of their own, per source
// and in all (limits.go), so strangers cannot take the room of registered
// users; authenticated connections are capped at 2×MaxSessions+8. A
// session idle (no input) for IdleTimeout is closed with a message; at
// most MaxSessions run at once (the next one is told so); a session that
// panics is closed with a message (panics.go); Shutdown quits every
// program (the client's terminal is restored and told why), waits a few
// seconds for clients to hang up, then closes what is left.
package ssh

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	bm "charm.land/wish/v2/bubbletea"
	"charm.land/wish/v2/recover"
	gossh "golang.org/x/crypto/ssh"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/tui"
)

// SSH defaults.
const (
	// DefaultIdleTimeout closes a session after this long without input.
	DefaultIdleTimeout = 15 * time.Minute
	// DefaultMaxSessions is how many sessions run at once.
	DefaultMaxSessions = 32
	// defaultShutdownGrace is how long Shutdown waits for clients to
	// hang up after their programs quit, before closing their connections.
	defaultShutdownGrace = 3 * time.Second

	sshLookupTimeout = 5 * time.Second
	// extFingerprint is the Permissions extension that carries the
	// verified key's fingerprint from authentication to the session.
	extFingerprint = "keydeck-ssh-fingerprint"
)

// Messages a refused or ended session gets, one line each on stderr.
const (
	msgNoPTY    = "keydeck: no terminal: this server serves only the keydeck terminal UI; connect from a terminal (ssh -t) without a command"
	msgCommand  = "keydeck: commands are not run here: this server serves only the keydeck terminal UI; connect without a command"
	msgBusy     = "keydeck: too many sessions: the server serves at most %d at once; try again later"
	msgClosing  = "keydeck: the server is shutting down; session closed"
	msgIdle     = "keydeck: session closed after %s without input"
	msgGone     = "keydeck: SSH key %s is no longer registered; session refused"
	msgNotKnown = "keydeck: SSH key %s is not registered with any account; an administrator can add it with: keydeck account add-ssh-key ACCOUNT KEY.pub"
	msgNoDB     = "keydeck: the server cannot read its database right now; try again later"
	msgPanic    = "keydeck: internal error; session closed (the server logged it), other sessions are unaffected"
	msgTooMany  = "keydeck: too many connections are open; try again later"
)

// errKeyRefused is the authentication error of an unregistered key.
var errKeyRefused = errors.New("SSH key not registered")

// Config sets up a Server.
type Config struct {
	// Admin is the database; required.
	Admin storage.Admin
	// HostKey is the server's host key (LoadHostKey); required.
	HostKey gossh.Signer
	// Logger receives connection and session events (never a secret); nil
	// discards.
	Logger *slog.Logger
	// IdleTimeout closes a session after this long without input; 0 means
	// never.
	IdleTimeout time.Duration
	// MaxSessions is how many sessions may run at once; 0 means
	// DefaultMaxSessions.
	MaxSessions int
	// ShutdownGrace is how long Shutdown waits for clients to hang up; 0
	// means defaultShutdownGrace.
	ShutdownGrace time.Duration
	// HandshakeTimeout is how long a connection has from accept to
	// authenticate; 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxUnauthenticated is how many connections may be unauthenticated
	// at once; beyond it the oldest is closed. 0 means
	// DefaultMaxUnauthenticated.
	MaxUnauthenticated int
	// MaxUnauthenticatedPerSource is how many of them one IPv4 address or
	// IPv6 /64 may hold; beyond it new ones are closed. 0 means
	// DefaultMaxUnauthenticatedPerSource.
	MaxUnauthenticatedPerSource int
	// TUI is the base of every session's tui.Options (refresh interval,
	// clock, page size). The server always sets Clipboard to
	// tui.ClipboardOSC52 and Environ to the session's.
	TUI tui.Options
}

// Server serves the terminal UI over SSH.
type Server struct {
	admin        storage.Admin
	log          *slog.Logger
	idle         time.Duration
	max          int
	maxAuthed    int
	handshake    time.Duration
	maxPending   int
	maxPerSource int
	grace        time.Duration
	tuiOpt       tui.Options
	srv          *ssh.Server
	dropLog      logLimiter

	mu        sync.Mutex
	closing   bool
	sessions  map[ssh.Session]*sshSession
	conns     map[*trackedConn]struct{}
	pending   *list.List     // unauthenticated connections, oldest first
	perSource map[string]int // unauthenticated connections by source
	authed    int            // authenticated connections
	handlers  sync.WaitGroup // admitted sessions still running
}

// New builds an SSH server from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Admin == nil {
		return nil, errors.New("ssh server: no store")
	}
	if cfg.HostKey == nil {
		return nil, errors.New("ssh server: no host key")
	}
	if cfg.MaxSessions < 0 || cfg.IdleTimeout < 0 || cfg.ShutdownGrace < 0 ||
		cfg.HandshakeTimeout < 0 || cfg.MaxUnauthenticated < 0 || cfg.MaxUnauthenticatedPerSource < 0 {
		return nil, errors.New("ssh server: negative limit")
	}
	s := &Server{
		admin:        cfg.Admin,
		log:          cfg.Logger,
		idle:         cfg.IdleTimeout,
		max:          cmp.Or(cfg.MaxSessions, DefaultMaxSessions),
		handshake:    cmp.Or(cfg.HandshakeTimeout, DefaultHandshakeTimeout),
		maxPending:   cmp.Or(cfg.MaxUnauthenticated, DefaultMaxUnauthenticated),
		maxPerSource: cmp.Or(cfg.MaxUnauthenticatedPerSource, DefaultMaxUnauthenticatedPerSource),
		grace:        cmp.Or(cfg.ShutdownGrace, defaultShutdownGrace),
		tuiOpt:       cfg.TUI,
		sessions:     map[ssh.Session]*sshSession{},
		conns:        map[*trackedConn]struct{}{},
		pending:      list.New(),
		perSource:    map[string]int{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// Authenticated connections: room for every session plus some without
	// one. Unauthenticated ones have their own budget (limits.go), so
	// strangers never take these.
	s.maxAuthed = 2*s.max + 8

	srv, err := wish.NewServer(
		func(srv *ssh.Server) error {
			srv.AddHostKey(cfg.HostKey)
			srv.Version = "keydeck"
			// A backstop: the timer started at accept (limits.go) closes
			// first, and says why.
			srv.HandshakeTimeout = s.handshake + time.Second
			if s.idle > 0 {
				// A backstop for connections that never open a session;
				// sessions are closed by their own input timer first.
				srv.IdleTimeout = s.idle + time.Minute
			}
			srv.ServerConfigCallback = s.serverConfig
			srv.ConnCallback = s.trackConn
			// Explicit empty tables: nothing registered in the charm
			// package's defaults can reach this server.
			srv.ChannelHandlers = map[string]ssh.ChannelHandler{"session": ssh.DefaultSessionHandler}
			srv.RequestHandlers = map[string]ssh.RequestHandler{}
			srv.SubsystemHandlers = map[string]ssh.SubsystemHandler{}
			return nil
		},
		// The last middleware runs first: recover guards everything
		// after it, so a panic ends one session, never the server;
		// closeOnPanic tells that session why; gate admits the session,
		// the bubbletea middleware runs its program, finish reports how it
		// ended.
		wish.WithMiddleware(
			recover.MiddlewareWithLogger(panicLogger{s.log},
				s.finish,
				bm.MiddlewareWithProgramHandler(s.program),
				s.gate,
				closeOnPanic,
			),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("ssh server: %w", err)
	}
	s.srv = srv
	return s, nil
}

// Serve accepts connections on ln until Shutdown. Like the HTTP listeners
// it then returns http.ErrServerClosed, so callers treat them alike.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		ln.Close()
		return http.ErrServerClosed
	}
	err := s.srv.Serve(ln)
	if errors.Is(err, ssh.ErrServerClosed) {
		return http.ErrServerClosed
	}
	return err
}

// Shutdown stops accepting, quits every session's program (each client
// gets its terminal back and a line saying the server is shutting down),
// waits up to the grace period for clients to hang up, closes the
// connections left, and returns once every session handler has returned
// or ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for _, ss := range s.sessions {
		ss.end(endShutdown)
	}
	s.mu.Unlock()

	gctx, cancel := context.WithTimeout(ctx, s.grace)
	err := s.srv.Shutdown(gctx)
	cancel()
	if err != nil {
		s.log.Warn("ssh: closing connections that did not end in time", "grace", s.grace)
		_ = s.srv.Close()
	}
	// Connections still in the handshake are not the ssh package's yet.
	s.mu.Lock()
	left := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		left = append(left, c)
	}
	s.mu.Unlock()
	for _, c := range left {
		_ = c.Close()
	}

	done := make(chan struct{})
	go func() { s.handlers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// serverConfig is the x/crypto/ssh configuration of one connection:
// public keys only, each looked up in the database.
func (s *Server) serverConfig(ctx ssh.Context) *gossh.ServerConfig {
	tc, _ := ctx.Value(ctxKeyConn{}).(*trackedConn)
	return &gossh.ServerConfig{
		PreAuthConnCallback: func(pc gossh.ServerPreAuthConn) {
			if tc != nil {
				s.inAuthPhase(tc, pc)
			}
		},
		// Called with nil once the client has proved it holds the key:
		// from here on the connection is no stranger's.
		AuthLogCallback: func(_ gossh.ConnMetadata, _ string, err error) {
			if err == nil && tc != nil {
				s.authenticated(tc)
			}
		},
		PublicKeyCallback: func(meta gossh.ConnMetadata, key gossh.PublicKey) (*gossh.Permissions, error) {
			s.mu.Lock()
			full := s.authed >= s.maxAuthed
			s.mu.Unlock()
			if full {
				s.log.Warn("ssh: connection refused, too many authenticated", "max", s.maxAuthed, "remote", meta.RemoteAddr().String())
				return nil, &gossh.BannerError{Err: errors.New("too many connections"), Message: msgTooMany + "\n"}
			}
			fp := gossh.FingerprintSHA256(key)
			lctx, cancel := context.WithTimeout(ctx, sshLookupTimeout)
			defer cancel()
			acct, err := s.admin.AccountForSSHKey(lctx, fp)
			switch {
			case errors.Is(err, model.ErrSSHKeyNotFound):
				s.log.Info("ssh: key refused", "fingerprint", fp, "remote", meta.RemoteAddr().String())
				return nil, &gossh.BannerError{Err: errKeyRefused, Message: fmt.Sprintf(msgNotKnown, fp) + "\n"}
			case err != nil:
				s.log.Error("ssh: looking up a key", "fingerprint", fp, "err", err)
				return nil, &gossh.BannerError{Err: err, Message: msgNoDB + "\n"}
			}
			s.log.Debug("ssh: key accepted", "fingerprint", fp, "account", acct.Name, "remote", meta.RemoteAddr().String())
			return &gossh.Permissions{Extensions: map[string]string{extFingerprint: fp}}, nil
		},
	}
}

// endReason says why the server ended a session; endNone when the user
// quit (or hung up).
type endReason int

const (
	endNone endReason = iota
	endIdle
	endShutdown
	endPanic
)

// sshSession is the server's record of one admitted session.
type sshSession struct {
	account     string
	fingerprint string
	store       storage.Store

	// Set up by program, in the session's goroutine.
	input *sessionInput
	stand idleReader

	mu     sync.Mutex
	prog   *tea.Program
	idle   *time.Timer
	reason endReason
}

// end asks the session's program to quit, for reason r (the first reason
// given wins).
func (ss *sshSession) end(r endReason) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.reason != endNone {
		return
	}
	ss.reason = r
	if ss.prog != nil {
		// Send blocks until the program reads it or has finished.
		go ss.prog.Quit()
	}
}

func (ss *sshSession) setProgram(p *tea.Program) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.prog = p
	if ss.reason != endNone {
		go p.Quit()
	}
}

// ended stops the idle timer and says why the session ended.
func (ss *sshSession) ended() endReason {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.idle != nil {
		ss.idle.Stop()
	}
	return ss.reason
}

// gate admits a session or refuses it with one line and exit status 1.
func (s *Server) gate(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		ss, msg := s.admit(sess)
		if ss == nil {
			refuse(sess, msg)
			return
		}
		defer s.release(sess, ss)
		s.log.Info("ssh: session started", "account", ss.account, "fingerprint", ss.fingerprint, "remote", sess.RemoteAddr().String())
		next(sess)
	}
}

func (s *Server) admit(sess ssh.Session) (*sshSession, string) {
	if sess.RawCommand() != "" {
		return nil, msgCommand
	}
	if _, _, ok := sess.Pty(); !ok {
		return nil, msgNoPTY
	}
	fp := sess.Permissions().Extensions[extFingerprint]
	if fp == "" {
		// Unreachable: only public keys authenticate.
		return nil, msgNoDB
	}
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		return nil, msgClosing
	case len(s.sessions) >= s.max:
		s.mu.Unlock()
		s.log.Warn("ssh: session refused, at the limit", "max", s.max, "fingerprint", fp)
		return nil, fmt.Sprintf(msgBusy, s.max)
	}
	ss := &sshSession{fingerprint: fp}
	s.sessions[sess] = ss // holds the slot during the lookup
	s.handlers.Add(1)
	s.mu.Unlock()
	// Refused, or panicking (the store is not ours), the slot goes back.
	admitted := false
	defer func() {
		if !admitted {
			s.release(sess, ss)
		}
	}()

	// Again, now that the session starts: the key may have been removed
	// since the connection authenticated.
	ctx, cancel := context.WithTimeout(sess.Context(), sshLookupTimeout)
	acct, err := s.admin.AccountForSSHKey(ctx, fp)
	cancel()
	if err == nil {
		ss.account = acct.Name
		ss.store, err = s.admin.Store(acct.Name, "ssh:"+fp)
	}
	if err != nil {
		if errors.Is(err, model.ErrSSHKeyNotFound) {
			s.log.Info("ssh: session refused, key removed", "fingerprint", fp)
			return nil, fmt.Sprintf(msgGone, fp)
		}
		s.log.Error("ssh: opening the account", "fingerprint", fp, "err", err)
		return nil, msgNoDB
	}
	admitted = true
	return ss, ""
}

func (s *Server) release(sess ssh.Session, ss *sshSession) {
	if ss.store != nil {
		_ = ss.store.Close()
	}
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	s.handlers.Done()
}

func (s *Server) session(sess ssh.Session) *sshSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[sess]
}

// program builds the session's own model and program.
func (s *Server) program(sess ssh.Session) *tea.Program {
	ss := s.session(sess)
	if ss == nil {
		return nil
	}
	pty, _, _ := sess.Pty()
	opt := s.tuiOpt
	opt.Clipboard = tui.ClipboardOSC52
	opt.WriteClipboard = nil
	// Never nil: nil would mean the server's own environment.
	opt.Environ = append(sess.Environ(), "TERM="+pty.Term)

	var in io.Reader = sess
	if s.idle > 0 {
		ss.idle = time.AfterFunc(s.idle, func() { ss.end(endIdle) })
		in = &activityReader{r: sess, timer: ss.idle, d: s.idle}
	}
	// The program reads a stand-in; the session's input is decoded
	// beside it (input.go says why).
	ss.stand = newIdleReader()
	opts := bm.MakeOptions(sess)
	opts = append(opts, tui.ProgramOptions(opt)...)
	opts = append(opts, tea.WithInput(ss.stand), tea.WithoutSignalHandler())
	onPanic := func(r any) { s.sessionPanicked(ss, r) }
	p := tea.NewProgram(guardModel(tui.New(sess.Context(), ss.store, opt), onPanic), opts...)
	ss.setProgram(p)
	ss.input = startInput(sess.Context(), in, pty.Term, p, onPanic)
	return p
}

// finish runs once the program has ended: exit status 0 when the user
// quit, or the reason and 1 when the server ended the session.
func (s *Server) finish(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		s.report(sess)
		next(sess)
	}
}

func (s *Server) report(sess ssh.Session) {
	ss := s.session(sess)
	if ss == nil {
		return
	}
	if ss.input != nil {
		ss.input.stop()
		_ = ss.stand.Close()
	}
	switch ss.ended() {
	case endIdle:
		s.log.Info("ssh: session idle, closed", "account", ss.account, "fingerprint", ss.fingerprint)
		refuse(sess, fmt.Sprintf(msgIdle, s.idle))
	case endShutdown:
		refuse(sess, msgClosing)
	case endPanic:
		refuse(sess, msgPanic)
	default:
		s.log.Info("ssh: session ended", "account", ss.account, "fingerprint", ss.fingerprint)
		_ = sess.Exit(0)
	}
}

// refuse prints one line on the session's stderr and exits with status 1.
func refuse(sess ssh.Session, msg string) {
	_, _ = fmt.Fprintln(sess.Stderr(), msg)
	_ = sess.Exit(1)
}
