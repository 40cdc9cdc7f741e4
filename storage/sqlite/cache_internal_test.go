package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keydeck/keydeck/model"
)

// TestCacheCapKeepsQuotasExact: when the in-memory copy of keys outgrows
// its cap it is dropped, and the units still pending must not be lost with
// it (they were: two keys of 5 allowed 40 verifications).
func TestCacheCapKeepsQuotasExact(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "k.db"), Options{maxCachedKeys: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _ := db.Store("default", "test")
	type cred struct{ id, secret string }
	var creds []cred
	for _, name := range []string{"a", "b"} {
		k, s, err := st.CreateKey(ctx, model.KeySpec{Name: name, Permissions: model.PermRead, QueryAlloc: 5})
		if err != nil {
			t.Fatal(err)
		}
		creds = append(creds, cred{k.ClientID, s})
	}
	allowed := 0
	for i := range 40 {
		c := creds[i%2]
		r, err := db.Verify(ctx, model.VerifyRequest{ClientID: c.id, ClientSecret: c.secret, Operation: model.OpRead})
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict == model.Allowed {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("%d verifications allowed for two keys of 5", allowed)
	}
	for _, c := range creds {
		k, err := st.GetKey(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if k.QueryUsed != 5 {
			t.Fatalf("key %s used %d, want 5", k.Name, k.QueryUsed)
		}
	}
}
