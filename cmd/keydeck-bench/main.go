// Command keydeck-bench measures POST /v1/verify against SPEC §7 (make
// bench): a bare net/http handler that decodes the same JSON and the
// keydeck server, both on loopback, both driven by wrk with the same Lua
// script (rotating over 1,000 keys that no run exhausts), at 8 and 64
// connections, keydeck in durability normal and strict, with the database
// on disk. It prints a table of req/s and p99 with ratios against the bare
// handler measured in the same run, and exits 1 when a target is missed:
//
//	normal, 64 connections: req/s ≥ 0.8 × bare, p99 ≤ 2 × bare
//	strict, 64 connections: req/s ≥ 0.5 × bare
//
// The bare handler is this program run as "keydeck-bench bare ADDR".
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/server"
	"github.com/keydeck/keydeck/server/api"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/sqlite"
)

// Targets of SPEC §7.
const (
	normalThroughput = 0.8
	strictThroughput = 0.5
	normalP99        = 2.0
)

const numKeys = 1000

func main() {
	if len(os.Args) > 2 && os.Args[1] == "bare" {
		if err := bare(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "keydeck-bench bare:", err)
			os.Exit(1)
		}
		return
	}
	code, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "keydeck-bench:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

type config struct {
	keydeck  string
	dir      string
	duration time.Duration
	warmup   time.Duration
	threads  int
	keep     bool
}

func run() (int, error) {
	var c config
	flag.StringVar(&c.keydeck, "keydeck", "bin/keydeck", "the keydeck binary to measure")
	flag.StringVar(&c.dir, "dir", "", "folder for the database, on disk (default: a new folder under $TMPDIR, which must not be tmpfs)")
	flag.DurationVar(&c.duration, "duration", 6*time.Second, "length of each measured wrk run")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured wrk run before each server's measurements")
	flag.IntVar(&c.threads, "threads", 2, "wrk threads")
	flag.BoolVar(&c.keep, "keep", false, "keep the benchmark folder")
	flag.Parse()

	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return 0, errors.New("wrk is not installed (Debian: apt-get install -y wrk)")
	}
	if _, err := os.Stat(c.keydeck); err != nil {
		return 0, fmt.Errorf("keydeck binary %s: %v (run make build, or pass -keydeck)", c.keydeck, err)
	}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "keydeck-bench-"); err != nil {
			return 0, err
		}
	} else if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return 0, err
	}
	if !c.keep {
		defer os.RemoveAll(c.dir)
	}
	fs, err := fsType(c.dir)
	if err != nil {
		return 0, err
	}
	if fs == "tmpfs" || fs == "ramfs" {
		return 0, fmt.Errorf("%s is on %s; SPEC §7 wants the database on disk: pass -dir on a disk file system", c.dir, fs)
	}
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}

	dbPath := filepath.Join(c.dir, "bench.db")
	fmt.Fprintf(os.Stderr, "setting up %d keys in %s (%s)…\n", numKeys, dbPath, fs)
	bodies, err := setup(dbPath)
	if err != nil {
		return 0, err
	}
	script := filepath.Join(c.dir, "verify.lua")
	if err := writeScript(script, bodies); err != nil {
		return 0, err
	}
	b := &bench{c: c, wrk: wrk, script: script}

	var rows []row
	measure := func(name string, start func() (*exec.Cmd, string, error)) error {
		cmd, addr, err := start()
		if err != nil {
			return err
		}
		defer stop(cmd)
		fmt.Fprintf(os.Stderr, "%s on %s: warm-up…\n", name, addr)
		if _, err := b.wrkRun(addr, 64, c.warmup); err != nil {
			return err
		}
		for _, conns := range []int{8, 64} {
			fmt.Fprintf(os.Stderr, "%s: %d connections, %s…\n", name, conns, c.duration)
			r, err := b.wrkRun(addr, conns, c.duration)
			if err != nil {
				return err
			}
			r.server, r.conns = name, conns
			if r.non2xx > 0 || r.sockErrs > 0 {
				return fmt.Errorf("%s at %d connections: %d non-2xx answers and %d socket errors; the measurement is void", name, conns, r.non2xx, r.sockErrs)
			}
			rows = append(rows, r)
		}
		return nil
	}
	bareStart := func() (*exec.Cmd, string, error) {
		return startProc(exec.Command(self, "bare", "127.0.0.1:0"), "bare listening on ")
	}
	keydeckStart := func(d string) func() (*exec.Cmd, string, error) {
		return func() (*exec.Cmd, string, error) {
			logf, err := os.Create(filepath.Join(c.dir, "serve-"+d+".log"))
			if err != nil {
				return nil, "", err
			}
			cmd := exec.Command(c.keydeck, "serve", "--db", dbPath, "--http", "127.0.0.1:0", "--durability", d)
			cmd.Env = append(os.Environ(), "KEYDECK_REMOTE=", "KEYDECK_DB=")
			return startProcLog(cmd, "HTTP API listening on http://", logf)
		}
	}
	// bare, normal, strict, bare again: the bare figure is the mean of the
	// two, so a machine that gets busier or quieter during the run shows
	// in the spread rather than in one side of the ratio only.
	steps := []struct {
		name  string
		start func() (*exec.Cmd, string, error)
	}{
		{"bare", bareStart},
		{"normal", keydeckStart("normal")},
		{"strict", keydeckStart("strict")},
		{"bare", bareStart},
	}
	for _, s := range steps {
		if err := measure(s.name, s.start); err != nil {
			return 0, err
		}
	}
	allowed, err := recordedUsage(dbPath)
	if err != nil {
		return 0, err
	}
	return report(os.Stdout, c, fs, rows, allowed), nil
}

// setup makes the benchmark account and its keys and returns one verify
// body per key.
func setup(path string) ([]string, error) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	total, credits := int64(model.MaxQuota), int64(0)
	period := model.PeriodMonthly
	if _, _, err := db.CreateAccount(ctx, "bench", "bench", model.AccountUpdate{QueryTotal: &total, MutationTotal: &total, Credits: &credits, Period: &period}); err != nil {
		return nil, err
	}
	st, err := db.Store("bench", "bench")
	if err != nil {
		return nil, err
	}
	bodies := make([]string, numKeys)
	var wg sync.WaitGroup
	errc := make(chan error, numKeys)
	sem := make(chan struct{}, 16)
	for i := range numKeys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			// 10^9 Query units each: no run comes near them.
			k, secret, err := st.CreateKey(ctx, model.KeySpec{Name: fmt.Sprintf("bench-%04d", i), Permissions: model.PermRead, QueryAlloc: model.MaxQuota / numKeys})
			if err != nil {
				errc <- err
				return
			}
			b, _ := json.Marshal(api.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: "read"})
			bodies[i] = string(b)
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("creating keys: %w", err)
	}
	return bodies, nil
}

// writeScript writes the wrk Lua script: every thread pre-formats the
// requests and walks them from its own starting point.
func writeScript(path string, bodies []string) error {
	var sb strings.Builder
	sb.WriteString("local bodies = {\n")
	for _, b := range bodies {
		sb.WriteString("  " + strconv.Quote(b) + ",\n")
	}
	sb.WriteString(`}
local reqs = {}
local i = 0
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 97)
end
function init(args)
  local headers = { ["Content-Type"] = "application/json" }
  for n, b in ipairs(bodies) do
    reqs[n] = wrk.format("POST", "/v1/verify", headers, b)
  end
  i = (offset or 0) % #reqs
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d sockerr=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
`)
	// The secrets are the benchmark's own throw-away keys; the folder is
	// 0700 and removed at the end.
	return os.WriteFile(path, []byte(sb.String()), 0o600)
}

type bench struct {
	c           config
	wrk, script string
}

type row struct {
	server   string
	conns    int
	rps      float64
	p50, p99 time.Duration
	requests int64
	non2xx   int64
	sockErrs int64
}

var benchLine = regexp.MustCompile(`BENCH requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) non2xx=(\d+) sockerr=(\d+)`)

func (b *bench) wrkRun(addr string, conns int, d time.Duration) (row, error) {
	threads := min(b.c.threads, conns)
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := exec.Command(b.wrk, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", strconv.Itoa(secs)+"s",
		"--timeout", "5s", "-s", b.script, "http://"+addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return row{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	m := benchLine.FindStringSubmatch(string(out))
	if m == nil {
		return row{}, fmt.Errorf("wrk printed no result:\n%s", out)
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(m[i], 10, 64); return v }
	r := row{requests: n(1), p50: time.Duration(n(3)) * time.Microsecond, p99: time.Duration(n(4)) * time.Microsecond, non2xx: n(5), sockErrs: n(6)}
	r.rps = float64(r.requests) / (float64(n(2)) / 1e6)
	return r, nil
}

// startProc starts cmd and waits for a stderr line with prefix, followed
// by the address.
func startProc(cmd *exec.Cmd, prefix string) (*exec.Cmd, string, error) {
	return startProcLog(cmd, prefix, io.Discard)
}

func startProcLog(cmd *exec.Cmd, prefix string, log io.Writer) (*exec.Cmd, string, error) {
	pr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if !sent {
				if i := strings.Index(line, prefix); i >= 0 {
					addrc <- strings.Fields(line[i+len(prefix):])[0]
					sent = true
					continue
				}
			}
			fmt.Fprintln(log, line)
		}
		close(addrc)
	}()
	select {
	case addr, ok := <-addrc:
		if !ok {
			cmd.Wait()
			return nil, "", fmt.Errorf("%s exited before listening", cmd.Path)
		}
		return cmd, addr, nil
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, "", fmt.Errorf("%s did not start listening", cmd.Path)
	}
}

// stop ends a server with SIGTERM (keydeck then flushes and closes the
// database) and waits for it.
func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// recordedUsage sums the Query usage of the benchmark's keys.
func recordedUsage(path string) (int64, error) {
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	st, err := db.Store("bench", "bench")
	if err != nil {
		return 0, err
	}
	var sum int64
	cursor := ""
	for {
		p, err := st.ListKeys(context.Background(), storage.ListOptions{Limit: storage.MaxLimit, Cursor: cursor})
		if err != nil {
			return 0, err
		}
		for _, k := range p.Keys {
			sum += k.QueryUsed
		}
		if p.NextCursor == "" {
			return sum, nil
		}
		cursor = p.NextCursor
	}
}

// report prints the table and returns the exit status.
func report(w io.Writer, c config, fs string, rows []row, recorded int64) int {
	bare := map[int][]row{}
	for _, r := range rows {
		if r.server == "bare" {
			bare[r.conns] = append(bare[r.conns], r)
		}
	}
	bareRPS := func(conns int) float64 {
		var s float64
		for _, r := range bare[conns] {
			s += r.rps
		}
		return s / float64(len(bare[conns]))
	}
	bareP99 := func(conns int) time.Duration {
		var s time.Duration
		for _, r := range bare[conns] {
			s += r.p99
		}
		return s / time.Duration(len(bare[conns]))
	}
	fmt.Fprintf(w, "\nPOST /v1/verify on loopback: %d keys, database on %s, wrk %d threads, %s per run, %d CPUs, %s\n\n",
		numKeys, fs, c.threads, c.duration, runtime.NumCPU(), runtime.Version())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tconns\treq/s\tp50\tp99\treq/s ÷ bare\tp99 ÷ bare\ttarget\t")
	code := 0
	var allowed int64
	for _, r := range rows {
		name := "bare net/http"
		if r.server != "bare" {
			name = "keydeck " + r.server
			allowed += r.requests
		}
		ratio, p99r := r.rps/bareRPS(r.conns), float64(r.p99)/float64(bareP99(r.conns))
		target := ""
		if r.server != "bare" && r.conns == 64 {
			switch r.server {
			case "normal":
				ok := ratio >= normalThroughput && p99r <= normalP99
				target = fmt.Sprintf("req/s ≥ %.1f, p99 ≤ %.0f: %s", normalThroughput, normalP99, verdict(ok))
				if !ok {
					code = 1
				}
			case "strict":
				ok := ratio >= strictThroughput
				target = fmt.Sprintf("req/s ≥ %.1f: %s", strictThroughput, verdict(ok))
				if !ok {
					code = 1
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%.2f\t%.2f\t%s\t\n", name, r.conns, r.rps, fmtDur(r.p50), fmtDur(r.p99), ratio, p99r, target)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nbare rows: two runs each (before and after keydeck); ratios use their mean.\n")
	fmt.Fprintf(w, "usage recorded by keydeck in measured runs and warm-ups: %d units (measured runs answered %d allowed)\n", recorded, allowed)
	if code != 0 {
		fmt.Fprintln(w, "\nFAIL: a SPEC §7 target was missed")
	} else {
		fmt.Fprintln(w, "\nok: every SPEC §7 target met")
	}
	return code
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func fmtDur(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
	return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
}

// bare is the reference: a net/http handler that decodes the same JSON
// into the same type and answers a JSON body of the same shape, with the
// same server timeouts, and nothing else.
func bare(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/verify" {
			http.NotFound(w, r)
			return
		}
		var req api.VerifyRequest
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<10))
		if err == nil {
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.DisallowUnknownFields()
			err = dec.Decode(&req)
		}
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		out, _ := json.Marshal(api.VerifyAnswer{Allowed: true, ClientID: req.ClientID, Operation: req.Operation, Kind: "query", Limit: 1, Remaining: 1, Period: "monthly"})
		w.Header().Set("Content-Type", "application/json")
		w.Write(append(out, '\n'))
	})
	srv := server.HTTPServer(h, server.APITimeouts, nil)
	fmt.Fprintf(os.Stderr, "bare listening on %s\n", ln.Addr())
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
		<-ch
		srv.Shutdown(context.Background())
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
