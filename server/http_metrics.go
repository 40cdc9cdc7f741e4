package server

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// Where a verification came from.
type source int

const (
	sourceAPI source = iota
	sourceGateway
)

var sourceNames = [...]string{"api", "gateway"}

// verdictLabels sizes the outcome counters: index 0 is a store error, the
// others are model.Verdict values, labelled with api.Status.
var verdictLabels = [model.DeniedCredits + 1]struct{}{}

// metrics is a server's Prometheus registry. Each server has its own: no
// package-level state.
type metrics struct {
	reg      *prometheus.Registry
	outcomes [len(sourceNames)][len(verdictLabels)]prometheus.Counter
	latency  [len(sourceNames)]prometheus.Observer
	requests *prometheus.CounterVec
	upstream prometheus.Counter
	handler  http.Handler
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keydeck_verifications_total",
		Help: "Key verifications by source (api, gateway) and answer status (200 allowed, 401, 403, 429, 402; error: the store failed).",
	}, []string{"source", "status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "keydeck_verification_duration_seconds",
		Help:    "Time to decide a verification, from the request being read to the answer, by source.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	}, []string{"source"})
	for i, src := range sourceNames {
		for j := range verdictLabels {
			st := "error"
			if j > 0 {
				st = strconv.Itoa(api.Status(model.Verdict(j)))
			}
			m.outcomes[i][j] = outcomes.WithLabelValues(src, st)
		}
		m.latency[i] = latency.WithLabelValues(src)
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keydeck_http_requests_total",
		Help: "HTTP API requests by route and status code.",
	}, []string{"route", "code"})
	m.upstream = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "keydeck_gateway_upstream_errors_total",
		Help: "Gateway requests answered 502 because the upstream could not be reached or failed.",
	})
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "keydeck_active_keys",
		Help: "Active (not revoked) keys, all accounts together.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := s.admin.Stats(ctx)
		if err != nil {
			s.log.Error("metrics: cannot count keys", "err", err)
			return math.NaN()
		}
		return float64(st.ActiveKeys)
	})
	m.reg.MustRegister(outcomes, latency, m.requests, m.upstream, active,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if p, ok := s.admin.(PoolStater); ok {
		m.reg.MustRegister(newPoolCollector(p))
	}
	if s.access != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "keydeck_access_log_dropped_total",
			Help: "Access-log entries dropped because the log output could not keep up.",
		}, func() float64 { return float64(s.access.Dropped()) }))
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// verified counts one verification and its latency.
func (m *metrics) verified(src source, v model.Verdict, start time.Time) {
	i := int(v)
	if i >= len(verdictLabels) {
		i = 0
	}
	m.outcomes[src][i].Inc()
	m.latency[src].Observe(time.Since(start).Seconds())
}

// instrument counts a route's answers by status code. The counter of each
// code is looked up once and kept, so the hot path does no label hashing.
func (m *metrics) instrument(pattern string, h http.Handler) http.Handler {
	byCode := m.requests.MustCurryWith(prometheus.Labels{"route": pattern})
	var cache [600]atomic.Pointer[prometheus.Counter]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		code := statusOf(w)
		if code < 100 || code >= len(cache) {
			byCode.WithLabelValues(strconv.Itoa(code)).Inc()
			return
		}
		c := cache[code].Load()
		if c == nil {
			cnt := byCode.WithLabelValues(strconv.Itoa(code))
			c = &cnt
			cache[code].Store(c)
		}
		(*c).Inc()
	})
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	s.metrics.handler.ServeHTTP(w, r)
}
