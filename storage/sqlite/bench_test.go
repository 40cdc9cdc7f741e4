package sqlite_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage/sqlite"
)

// BenchmarkVerify measures verify-and-consume through the store alone, many
// goroutines at once, over 1,000 keys that no run exhausts.
func BenchmarkVerify(b *testing.B) {
	for _, d := range []struct {
		name string
		d    sqlite.Durability
	}{{"normal", sqlite.DurabilityNormal}, {"strict", sqlite.DurabilityStrict}} {
		db, creds := benchDB(b, d.d)
		b.Run(d.name, func(b *testing.B) {
			var n atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c := creds[n.Add(1)%int64(len(creds))]
					r, err := db.Verify(ctx, model.VerifyRequest{ClientID: c.id, ClientSecret: c.secret, Operation: model.OpRead})
					if err != nil || r.Verdict != model.Allowed {
						b.Fatalf("verify: %v %v", r.Verdict, err)
					}
				}
			})
		})
	}
}

// BenchmarkVerifySerial is one verification at a time: every one is its
// own batch, so this is the fixed cost of a batch's transaction.
func BenchmarkVerifySerial(b *testing.B) {
	db, creds := benchDB(b, sqlite.DurabilityNormal)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		c := creds[i%len(creds)]
		r, err := db.Verify(ctx, model.VerifyRequest{ClientID: c.id, ClientSecret: c.secret, Operation: model.OpRead})
		if err != nil || r.Verdict != model.Allowed {
			b.Fatalf("verify: %v %v", r.Verdict, err)
		}
	}
}

type cred struct{ id, secret string }

// benchDB makes a database with 1,000 keys that no run exhausts.
func benchDB(b *testing.B, d sqlite.Durability) (*sqlite.DB, []cred) {
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "k.db"), sqlite.Options{Durability: d})
	if err != nil {
		b.Fatal(err)
	}
	total := int64(1_000_000_000)
	if _, _, err := db.CreateAccount(ctx, "bench", "bench", model.AccountUpdate{QueryTotal: &total, MutationTotal: &total}); err != nil {
		b.Fatal(err)
	}
	st, _ := db.Store("bench", "bench")
	creds := make([]cred, 1000)
	for i := range creds {
		k, s, err := st.CreateKey(ctx, model.KeySpec{Name: fmt.Sprint(i), Permissions: model.PermAll, QueryAlloc: 1_000_000, MutationAlloc: 1_000_000})
		if err != nil {
			b.Fatal(err)
		}
		creds[i] = cred{k.ClientID, s}
	}
	b.Cleanup(func() { db.Close() })
	return db, creds
}

// BenchmarkVerify401 is a wrong secret for a known Client ID and a
// well-formed but unknown Client ID, one at a time, after one pass over
// each: the two must cost the same, or the time of a 401 tells which
// Client IDs exist. It reports the median besides the mean.
func BenchmarkVerify401(b *testing.B) {
	db, creds := benchDB(b, sqlite.DurabilityNormal)
	wrong := model.NewSecret()
	known := make([]string, len(creds))
	unknown := make([]string, len(creds))
	for i := range creds {
		known[i], unknown[i] = creds[i].id, model.NewClientID()
	}
	verify := func(b *testing.B, id string) {
		r, err := db.Verify(ctx, model.VerifyRequest{ClientID: id, ClientSecret: wrong, Operation: model.OpRead})
		if err != nil || r.Verdict != model.DeniedUnauthorized {
			b.Fatalf("verify: %v %v", r.Verdict, err)
		}
	}
	for i := range known {
		verify(b, known[i])
		verify(b, unknown[i])
	}
	for _, c := range []struct {
		name string
		ids  []string
	}{{"known-wrong-secret", known}, {"unknown", unknown}} {
		b.Run(c.name, func(b *testing.B) {
			var took []time.Duration
			i := 0
			for b.Loop() {
				i++
				start := time.Now()
				verify(b, c.ids[i%len(c.ids)])
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "median-ns")
		})
	}
}
