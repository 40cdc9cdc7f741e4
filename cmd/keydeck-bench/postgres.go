package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
)

// Targets of SPEC §7 for keydeck on PostgreSQL, 64 connections, each
// against the bare handler of the same round.
const (
	pgNormalThroughput = 0.5
	pgStrictThroughput = 0.3
	pgP99              = 3.0
)

const (
	pg1Normal = "pg1-normal"
	pg1Strict = "pg1-strict"
	pg3Normal = "pg3-normal"
	pg3Strict = "pg3-strict"
)

var pgLabels = map[string]string{
	pg1Normal: "keydeck on PostgreSQL, 1 node, normal",
	pg1Strict: "keydeck on PostgreSQL, 1 node, strict",
	pg3Normal: "keydeck on PostgreSQL, 3 nodes, normal",
	pg3Strict: "keydeck on PostgreSQL, 3 nodes, strict",
}

// pgBench is the PostgreSQL servers of a run and the schemas they use.
type pgBench struct {
	servers []benchServer
	base    string
	schemas []string
}

// pgServers makes one schema per PostgreSQL server, each a copy of the
// benchmark's SQLite database made with `keydeck copy` (so the same keys
// and secrets, and the same wrk script, serve every row).
func pgServers(c config, dbPath string) (*pgBench, error) {
	pg := &pgBench{base: c.postgres}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.postgres)
	if err != nil {
		return nil, fmt.Errorf("-postgres %s: %w", postgres.ShowURL(c.postgres), err)
	}
	defer conn.Close(ctx)
	for _, s := range []struct {
		name, durability string
		nodes            int
	}{{pg1Normal, "normal", 1}, {pg1Strict, "strict", 1}, {pg3Normal, "normal", 3}, {pg3Strict, "strict", 3}} {
		schema := "keydeck_bench_" + strings.ReplaceAll(s.name, "-", "_")
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema); err != nil {
			return nil, err
		}
		pg.schemas = append(pg.schemas, schema)
		u, err := withSchema(c.postgres, schema)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "copying the keys to PostgreSQL schema %s…\n", schema)
		cmd := exec.Command(c.keydeck, "copy", "--db", dbPath, "--to", u)
		cmd.Env = append(os.Environ(), "KEYDECK_REMOTE=", "KEYDECK_DB=")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("keydeck copy to %s: %v\n%s", schema, err, out)
		}
		pg.servers = append(pg.servers, benchServer{name: s.name, bin: c.keydeck, durability: s.durability, url: u, nodes: s.nodes})
	}
	return pg, nil
}

func (pg *pgBench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.base)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	for _, s := range pg.schemas {
		conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+s+" CASCADE")
	}
}

func withSchema(base, schema string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// recordedUsagePG sums the Query usage of the benchmark's keys on a
// PostgreSQL schema.
func recordedUsagePG(u string) (int64, error) {
	db, err := postgres.Open(context.Background(), u, postgres.Options{})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return sumUsage(db)
}

// sumUsage sums the Query usage of the bench account's keys.
func sumUsage(admin storage.Admin) (int64, error) {
	st, err := admin.Store("bench", "bench")
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

// hotKey measures the ceiling of one key that every node verifies: the
// three-node normal servers with a script of one key (reported, no
// target).
func hotKey(b *bench, servers []benchServer, addrs map[string][]string, answered map[string]int64) error {
	for _, sv := range servers {
		if sv.name != pg3Normal {
			continue
		}
		script := filepath.Join(filepath.Dir(b.script), "hot.lua")
		src, err := os.ReadFile(b.script)
		if err != nil {
			return err
		}
		// The script's first body only: every request for one key.
		hot := strings.Replace(string(src), "function request()\n  i = i % #reqs + 1\n", "function request()\n  i = 1\n", 1)
		if err := os.WriteFile(script, []byte(hot), 0o600); err != nil {
			return err
		}
		for _, n := range []int{1, 3} {
			r, err := b.wrkScript(addrs[sv.name][:n], 64, b.c.duration, script)
			if err != nil {
				return err
			}
			answered[sv.name] += r.requests - r.non2xx
			fmt.Printf("one hot key, %d node(s) on PostgreSQL, normal, 64 connections: %.0f req/s, p99 %s (%d non-2xx)\n",
				n, r.rps, fmtDur(r.p99), r.non2xx)
		}
	}
	return nil
}
