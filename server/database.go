package server

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keydeck/keydeck/storage"
)

// What a database may offer beyond storage.Admin. The server looks for
// these on Config.Admin; a store without them (SQLite) is served as
// before.

// Pinger is a database that can tell cheaply whether it answers: /healthz
// pings it instead of counting keys. A database server that cannot be
// reached answers an error that is storage.ErrUnavailable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// PoolStater is a database reached through a connection pool; /metrics
// shows the pool's state.
type PoolStater interface {
	PoolStats() PoolStats
}

// PoolStats is a connection pool's state at one moment: the storage
// package's, so a store can offer PoolStater without importing the server.
type PoolStats = storage.PoolStats

// poolCollector exports a PoolStater's state, read once per scrape.
type poolCollector struct {
	pool  PoolStater
	descs []*prometheus.Desc
}

func newPoolCollector(p PoolStater) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("keydeck_db_pool_"+name, help, nil, nil)
	}
	return &poolCollector{pool: p, descs: []*prometheus.Desc{
		d("acquired_connections", "Database connections in use."),
		d("idle_connections", "Database connections open and free."),
		d("constructing_connections", "Database connections being opened."),
		d("total_connections", "Database connections open or being opened."),
		d("max_connections", "The connection pool's bound."),
		d("acquires_total", "Connections handed out by the pool."),
		d("acquire_duration_seconds_total", "Time spent waiting for a connection from the pool, in all."),
		d("empty_acquires_total", "Acquires that found no idle connection and waited for one."),
		d("canceled_acquires_total", "Acquires given up because the request ended first."),
		d("new_connections_total", "Database connections opened."),
	}}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.PoolStats()
	gauges := []float64{float64(s.Acquired), float64(s.Idle), float64(s.Constructing), float64(s.Total), float64(s.Max)}
	counters := []float64{float64(s.AcquireCount), s.AcquireDuration.Seconds(), float64(s.EmptyAcquireCount), float64(s.CanceledAcquireCount), float64(s.NewConns)}
	for i, v := range gauges {
		ch <- prometheus.MustNewConstMetric(c.descs[i], prometheus.GaugeValue, v)
	}
	for i, v := range counters {
		ch <- prometheus.MustNewConstMetric(c.descs[len(gauges)+i], prometheus.CounterValue, v)
	}
}
