package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/keydeck/keydeck/model"
)

// BenchmarkVerifyParallel: verifications from 64 goroutines over 1,000
// keys, one process (go test -bench . -cpu 2).
func BenchmarkVerifyParallel(b *testing.B) {
	db := openNodes(b, 1, Options{})[0]
	ctx := context.Background()
	if _, err := db.pool.Exec(ctx, `UPDATE accounts SET query_total = 1000000000000, mutation_total = 0`); err != nil {
		b.Fatal(err)
	}
	type cred struct{ id, secret string }
	var creds []cred
	for range 1000 {
		id, s := rawKey(b, db, "default", model.PermRead, 1_000_000, 0)
		creds = append(creds, cred{id, s})
	}
	b.SetParallelism(32)
	b.ResetTimer()
	var mu sync.Mutex
	n := 0
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		for pb.Next() {
			c := creds[i%len(creds)]
			i += 7
			r, err := db.Verify(ctx, model.VerifyRequest{ClientID: c.id, ClientSecret: c.secret, Operation: model.OpRead})
			if err != nil || r.Verdict != model.Allowed {
				b.Fatal(r.Verdict, err)
			}
		}
	})
}
