package server

// The real binary, three `keydeck serve` processes on one PostgreSQL
// schema: quotas exact across them, and kill -9 of one node under load
// loses no unit it answered as allowed while the others keep answering.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/server/internal/servertest"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
)

// pgKey makes one key on the PostgreSQL schema at url.
func pgKey(t *testing.T, url string, perm model.Permission, q, m, credits int64) (model.Key, string) {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.UpdateAccount(ctx, "test", "default", model.AccountUpdate{Credits: &credits}); err != nil {
		t.Fatal(err)
	}
	st, err := db.Store("default", "test")
	if err != nil {
		t.Fatal(err)
	}
	k, secret, err := st.CreateKey(ctx, model.KeySpec{Name: "nodes", Permissions: perm, QueryAlloc: q, MutationAlloc: m})
	if err != nil {
		t.Fatal(err)
	}
	return k, secret
}

// pgUsed is what the key's row records, read fresh.
func pgUsed(t *testing.T, url, id string) (queries, mutations int64, balance int64) {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _ := db.Store("default", "test")
	k, err := st.GetKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return k.QueryUsed, k.MutationUsed, a.Credits
}

// TestThreeNodesExact: three server processes share one hot key; together
// they allow exactly its allocation, and spend exactly the credits.
func TestThreeNodesExact(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	bin := servertest.Binary(t)
	const alloc, credits = 300, 120
	k, secret := pgKey(t, url, model.PermRead|model.PermWrite, alloc, alloc, credits)
	var nodes []*proc
	for _, d := range []string{"normal", "strict", "normal"} {
		nodes = append(nodes, startServe(t, bin, url, "--http", "127.0.0.1:0", "--durability", d, "--access-log", "off"))
	}
	read, _ := json.Marshal(verifyBody(k.ClientID, secret, "read", 0))
	write, _ := json.Marshal(verifyBody(k.ClientID, secret, "write", 1))
	client := &http.Client{Timeout: 10 * time.Second}
	var reads, writes, quota, payment atomic.Int64
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			u := nodes[i%3].urls["HTTP API"] + "/v1/verify"
			for n := range 30 {
				body := read
				if n%2 == 1 {
					body = write
				}
				resp, err := client.Post(u, "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					if n%2 == 1 {
						writes.Add(1)
					} else {
						reads.Add(1)
					}
				case http.StatusTooManyRequests:
					quota.Add(1)
				case http.StatusPaymentRequired:
					payment.Add(1)
				default:
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	q, m, balance := pgUsed(t, url, k.ClientID)
	if reads.Load() != alloc || q != alloc {
		t.Errorf("reads: %d allowed, %d recorded; want %d", reads.Load(), q, alloc)
	}
	if writes.Load() != credits || m != credits || balance != 0 {
		t.Errorf("writes: %d allowed, %d recorded, balance %d; want %d, %d, 0", writes.Load(), m, balance, credits, credits)
	}
	if quota.Load() != 360-alloc || payment.Load() != 360-credits {
		t.Errorf("429s %d, 402s %d; want %d, %d", quota.Load(), payment.Load(), 360-alloc, 360-credits)
	}
}

// TestKill9UnderLoadThreeNodes: clients verify through three server
// processes; one of them (in turn) is killed with SIGKILL and restarted,
// nine times. After each kill the recorded usage is at least the allowed
// answers seen and never above the allocation, and the two other nodes
// answered every request meanwhile.
func TestKill9UnderLoadThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("kills server processes nine times")
	}
	url := pgtest.Schema(t, t.Name())
	bin := servertest.Binary(t)
	const alloc = 3000
	k, secret := pgKey(t, url, model.PermRead, alloc, 0, 0)
	body, _ := json.Marshal(verifyBody(k.ClientID, secret, "read", 0))
	start := func(i int) *proc {
		d := "normal"
		if i%2 == 1 {
			d = "strict"
		}
		return startServe(t, bin, url, "--http", "127.0.0.1:0", "--durability", d, "--access-log", "off")
	}
	nodes := []*proc{start(0), start(1), start(2)}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var seen int64
	for i := range 9 {
		victim := i % 3
		var allowed atomic.Int64
		var survivorsFailed atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for c := range 12 {
			node := nodes[c%3]
			survivor := c%3 != victim
			wg.Go(func() {
				u := node.urls["HTTP API"] + "/v1/verify"
				for {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := client.Post(u, "application/json", bytes.NewReader(body))
					if err != nil {
						if survivor {
							survivorsFailed.Add(1)
							t.Errorf("a surviving node failed a request: %v", err)
						}
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusOK:
						allowed.Add(1)
					case http.StatusTooManyRequests:
					default:
						if survivor {
							t.Errorf("a surviving node answered %d", resp.StatusCode)
						}
					}
				}
			})
		}
		time.Sleep(time.Duration(150+i*37%200) * time.Millisecond)
		if err := nodes[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-nodes[victim].done
		// The survivors go on for a while after the kill.
		time.Sleep(150 * time.Millisecond)
		close(stop)
		wg.Wait()
		seen += allowed.Load()
		used, _, _ := pgUsed(t, url, k.ClientID)
		if used < seen || used > alloc {
			t.Fatalf("kill %d (node %d): recorded %d, allowed answers seen %d, allocation %d", i+1, victim, used, seen, alloc)
		}
		t.Logf("kill %d (node %d): %d allowed seen in all, %d recorded", i+1, victim, seen, used)
		nodes[victim] = start(victim)
	}
}
