// Package server is keydeck's network side: the HTTP API (management,
// verification, health, metrics, the OpenAPI document) and the gateway that
// stands in front of an upstream service. The terminal UI over SSH is
// package server/ssh.
//
//   - server.go: Config, Server, and each listener's http.Server
//   - routes.go: the route table, the mux, 404 and 405
//   - http.go: JSON and problem answers, request bodies, token auth
//   - http_verify.go, verify_decode.go: POST /v1/verify, its fast decoder,
//     the RateLimit headers
//   - http_keys.go: the management endpoints
//   - http_misc.go: /healthz and /openapi.json
//   - http_metrics.go: /metrics
//   - http_log.go: the asynchronous access log
//   - gateway.go: the gateway: credentials, credit costs, the proxy
//   - parkconn.go: the listener that parks net/http's background read
//
// The server depends on storage.Admin only; cmd/keydeck picks the SQLite
// implementation. The hot path, POST /v1/verify and every gateway request,
// is one call to Admin.Verify: the store batches the writes (group commit)
// and counts denials in memory, so the server adds only JSON decoding,
// headers, a few atomic counters and an asynchronous access-log entry.
//
// Errors are RFC 9457 problem details; their types are listed in package
// api.
//
// # Gateway and the unit of a failed upstream
//
// A gateway request is verified, and its unit (and credits) consumed,
// before it is sent upstream. When the upstream cannot be reached or fails
// to answer, the client gets 502 and the unit stays consumed: the upstream
// may have acted on the request before failing (a POST that timed out may
// well have been stored), keydeck cannot tell, and handing units back would
// let a client that can make the upstream fail exceed its allocation.
package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// Body limits. A verification is a few hundred bytes.
const (
	DefaultMaxBodyBytes = 64 << 10
	verifyMaxBodyBytes  = 8 << 10
)

// Config sets up a Server.
type Config struct {
	// Admin is the database; required.
	Admin storage.Admin
	// Logger receives errors and notices (never secrets); nil discards.
	Logger *slog.Logger
	// AccessLog receives one entry per request; nil logs none.
	AccessLog *AccessLog
	// Clock gives the time used for RateLimit headers; nil means time.Now.
	// Give the store's clock here.
	Clock func() time.Time
	// MaxBodyBytes limits management request bodies; 0 means 64 KiB.
	MaxBodyBytes int64

	// Upstream is where the gateway sends verified requests; nil when
	// there is no gateway.
	Upstream *url.URL
	// CreditCosts price gateway requests (see ParseCreditCost).
	CreditCosts []CreditCost
	// UpstreamTimeout bounds waiting for the upstream's response headers;
	// 0 means 60s.
	UpstreamTimeout time.Duration

	// StoreTimeout bounds the store calls of one request (verification,
	// or token check and management call) for a database that can stop
	// answering (PostgreSQL): past it the request is answered 503
	// unavailable with Retry-After. 0: no bound (SQLite answers or fails
	// by itself: its busy timeout).
	StoreTimeout time.Duration

	// APITimeouts and GatewayTimeouts are for the listeners' http.Servers
	// (see HTTPServer); zero fields take DefaultAPITimeouts and
	// DefaultGatewayTimeouts.
	APITimeouts, GatewayTimeouts Timeouts
}

// Server serves the HTTP API and, with an upstream, the gateway.
type Server struct {
	admin   storage.Admin
	log     *slog.Logger
	access  *AccessLog
	now     func() time.Time
	maxBody int64
	// storeTimeout is Config.StoreTimeout.
	storeTimeout time.Duration
	metrics      *metrics
	api          http.Handler
	gateway      http.Handler

	apiTimeouts, gatewayTimeouts Timeouts

	downLog everySecond // "database unreachable" lines
}

// New builds a server from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Admin == nil {
		return nil, errors.New("server: no store")
	}
	s := &Server{
		admin:   cfg.Admin,
		log:     cfg.Logger,
		access:  cfg.AccessLog,
		now:     cfg.Clock,
		maxBody: cfg.MaxBodyBytes,

		storeTimeout: cfg.StoreTimeout,

		apiTimeouts:     cfg.APITimeouts.withDefaults(DefaultAPITimeouts()),
		gatewayTimeouts: cfg.GatewayTimeouts.withDefaults(DefaultGatewayTimeouts()),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	s.metrics = newMetrics(s)
	s.api = s.logged("api", s.newMux())
	if cfg.Upstream != nil {
		g, err := newGateway(s, cfg.Upstream, cfg.CreditCosts, cfg.UpstreamTimeout)
		if err != nil {
			return nil, err
		}
		s.gateway = s.logged("gateway", g)
	} else if len(cfg.CreditCosts) > 0 {
		return nil, errors.New("credit costs apply to the gateway: give an upstream too")
	}
	return s, nil
}

// Handler is the HTTP API.
func (s *Server) Handler() http.Handler { return s.api }

// GatewayHandler is the gateway; nil when the server has no upstream.
func (s *Server) GatewayHandler() http.Handler { return s.gateway }

// APITimeouts are the timeouts for the API's listener.
func (s *Server) APITimeouts() Timeouts { return s.apiTimeouts }

// GatewayTimeouts are the timeouts for the gateway's listener.
func (s *Server) GatewayTimeouts() Timeouts { return s.gatewayTimeouts }

// Timeouts of one listener.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// DefaultAPITimeouts suit the API: small bodies, quick answers.
func DefaultAPITimeouts() Timeouts {
	return Timeouts{ReadHeader: 5 * time.Second, Read: 15 * time.Second, Write: 30 * time.Second, Idle: 120 * time.Second}
}

// DefaultGatewayTimeouts leave room for uploads and downloads through the
// gateway.
func DefaultGatewayTimeouts() Timeouts {
	return Timeouts{ReadHeader: 10 * time.Second, Read: 10 * time.Minute, Write: 10 * time.Minute, Idle: 120 * time.Second}
}

// withDefaults is t with its zero fields taken from d.
func (t Timeouts) withDefaults(d Timeouts) Timeouts {
	if t.ReadHeader == 0 {
		t.ReadHeader = d.ReadHeader
	}
	if t.Read == 0 {
		t.Read = d.Read
	}
	if t.Write == 0 {
		t.Write = d.Write
	}
	if t.Idle == 0 {
		t.Idle = d.Idle
	}
	return t
}

// HTTPServer wraps h in an http.Server with timeouts and an error log that
// goes to logger.
func HTTPServer(h http.Handler, t Timeouts, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    32 << 10,
		ConnContext:       connContext,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// errorf logs an internal error with the request's route; the error text
// is for the operator and holds no secret.
func (s *Server) errorf(r *http.Request, err error, msg string) {
	s.log.Error(msg, "method", r.Method, "route", routeOf(r), "err", err)
}

func routeOf(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return model.RedactSecrets(fmt.Sprintf("%s %s", r.Method, r.URL.Path))
}
