package tui

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/sqlite"
	_ "github.com/mattn/go-sqlite3"
)

// benchKeys is how many keys the TUI benchmarks put in the local store
// (SPEC §7: 100,000).
const benchKeys = 100_000

var bench struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// benchStore opens the benchmark database, filling it with benchKeys keys
// the first time (through the real store, eight writers at once).
func benchStore(b *testing.B) storage.Store {
	b.Helper()
	bench.once.Do(func() {
		bench.dir, bench.err = os.MkdirTemp("", "keydeck-tui-bench-")
		if bench.err != nil {
			return
		}
		bench.path = filepath.Join(bench.dir, "keydeck.db")
		bench.err = fill(bench.path)
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	db, err := sqlite.Open(context.Background(), bench.path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	st, err := db.Store(model.DefaultAccount, "bench")
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// fill makes 1,000 keys through the real store, then clones them with SQL
// up to benchKeys: creating each key through the store re-checks the
// account's allocation over every key, which is right for a store and too
// slow to set up 100,000 keys in a benchmark.
func fill(path string) error {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return err
	}
	total := int64(1_000_000_000)
	if _, err := db.UpdateAccount(ctx, "bench", model.DefaultAccount, model.AccountUpdate{QueryTotal: &total, MutationTotal: &total}); err != nil {
		db.Close()
		return err
	}
	st, err := db.Store(model.DefaultAccount, "bench")
	if err != nil {
		db.Close()
		return err
	}
	const real = 1000
	for i := range real {
		spec := model.KeySpec{Name: benchName(i), Permissions: model.Permission(i%7 + 1), QueryAlloc: int64(100 + i%900), MutationAlloc: int64(i % 50)}
		if _, _, err := st.CreateKey(ctx, spec); err != nil {
			db.Close()
			return err
		}
	}
	if err := db.Close(); err != nil {
		return err
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		return err
	}
	defer raw.Close()
	tx, err := raw.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.Prepare(`INSERT INTO keys (account_id, name, client_id, secret_digest, secret_hint, secret_rotated_at,
		permissions, query_alloc, mutation_alloc, query_used, mutation_used, period_start, created_at)
		SELECT account_id, ?, ?, secret_digest, secret_hint, secret_rotated_at,
		permissions, query_alloc, mutation_alloc, ?, ?, period_start, created_at
		FROM keys WHERE id = ?`)
	if err != nil {
		return err
	}
	for i := real; i < benchKeys; i++ {
		if _, err := ins.Exec(benchName(i), model.NewClientID(), i%97, i%13, i%real+1); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func benchName(i int) string {
	prefixes := []string{"Backend-Server-Key", "Mobile-App-Key", "Video-Pipeline-Key", "batch", "staging", "tenant"}
	return fmt.Sprintf("%s-%06d", prefixes[i%len(prefixes)], i)
}

// loaded returns a model with every key loaded, as after start-up.
func loaded(b *testing.B, st storage.Store, w, h int) *Model {
	b.Helper()
	m := newTestModel(b, st, testOptions(nil), w, h)
	run(b, m, m.Init())
	if !m.LoadedAll() || m.List().Snapshot().Len() < benchKeys {
		b.Fatalf("loaded %d keys", m.List().Snapshot().Len())
	}
	return m
}

// timed runs one key press through Update, everything it starts, and the
// frame that shows the result, and returns how long that took.
func timed(b *testing.B, m *Model, msg tea.Msg) time.Duration {
	start := time.Now()
	_, cmd := m.Update(msg)
	run(b, m, cmd)
	_ = m.View()
	return time.Since(start)
}

func report(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	q := func(p float64) float64 {
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkTUIStart: from a new model to the first frame that shows keys
// (account and the first page read from the store, rendered).
func BenchmarkTUIStart(b *testing.B) {
	st := benchStore(b)
	var d []time.Duration
	for b.Loop() {
		start := time.Now()
		m := New(context.Background(), st, testOptions(nil))
		m.tick = func(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }
		m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		// account and first page run side by side, as tea.Batch runs them;
		// the first frame with keys comes after the page.
		accMsg := make(chan tea.Msg, 1)
		go func() { accMsg <- m.loadAccount()() }()
		msg := m.loadKeys(m.gen+1, true)()
		m.gen++
		m.Update(msg)
		frame := m.Render()
		d = append(d, time.Since(start))
		m.Update(<-accMsg)
		if !strings.Contains(frame, "of 100,000") && !strings.Contains(frame, "of 1,000") {
			b.Fatalf("first frame shows no keys:\n%s", frame)
		}
	}
	report(b, d)
	// Where the time goes: the store's two calls before the first frame.
	var acc, page time.Duration
	for range 5 {
		t0 := time.Now()
		if _, err := st.Account(context.Background()); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := st.ListKeys(context.Background(), storage.ListOptions{IncludeRevoked: true, Limit: firstPage}); err != nil {
			b.Fatal(err)
		}
		acc, page = acc+t1.Sub(t0), page+time.Since(t1)
	}
	b.ReportMetric(float64(acc.Microseconds())/5000, "store-account-ms")
	b.ReportMetric(float64(page.Microseconds())/5000, "store-firstpage-ms")
}

// BenchmarkTUILoadAll: the whole list in memory, and what it costs.
func BenchmarkTUILoadAll(b *testing.B) {
	st := benchStore(b)
	var m *Model
	for b.Loop() {
		m = loaded(b, st, 80, 24)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
	b.ReportMetric(rssMB(), "rss-MB")
	runtime.KeepAlive(m)
}

func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkTUIScroll: a scrolling key (down, page down, end, home) to its
// frame, with 100,000 keys listed.
func BenchmarkTUIScroll(b *testing.B) {
	m := loaded(b, benchStore(b), 80, 24)
	keys := []string{"down", "down", "pgdown", "down", "up", "pgdown", "end", "up", "home"}
	var d []time.Duration
	i := 0
	for b.Loop() {
		d = append(d, timed(b, m, keyMsg(keys[i%len(keys)])))
		i++
	}
	report(b, d)
}

// BenchmarkTUIFilter: typing a filter one character at a time (each key
// refilters 100,000 keys), then clearing it, to the frame.
func BenchmarkTUIFilter(b *testing.B) {
	m := loaded(b, benchStore(b), 80, 24)
	seq := append([]string{"/"}, strings.Split("mobile-app-key-0012", "")...)
	seq = append(seq, "esc")
	var d []time.Duration
	i := 0
	for b.Loop() {
		k := seq[i%len(seq)]
		d = append(d, timed(b, m, keyMsg(k)))
		i++
	}
	report(b, d)
}

// BenchmarkTUIOpenDetails: enter on a key to the frame with its details,
// usage chart and audit events read from the store; then esc back.
func BenchmarkTUIOpenDetails(b *testing.B) {
	m := loaded(b, benchStore(b), 80, 24)
	var d []time.Duration
	i := 0
	for b.Loop() {
		d = append(d, timed(b, m, keyMsg("enter")))
		if !m.Detail().Loaded() {
			b.Fatalf("details not loaded: %s", m.ErrorText())
		}
		timed(b, m, keyMsg("esc"))
		timed(b, m, keyMsg("pgdown"))
		i++
	}
	report(b, d)
}
