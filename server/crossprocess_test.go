package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage/sqlite"
)

// Regenerate and revoke made through another handle on the same file (as
// the CLI or TUI would, from another process) take effect for the very
// next verification by the server, which has the key in its cache.
func TestOtherWriterSeenByNextVerify(t *testing.T) {
	e := newEnv(t)
	k, old := e.key("default", "k", model.PermRead, 100, 0)
	verify := func(secret string) answer {
		return e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)})
	}
	// Warm the server's cache.
	for range 3 {
		wantStatus(t, verify(old), http.StatusOK)
	}
	other, err := sqlite.Open(context.Background(), e.path, sqlite.Options{Clock: e.clock.Now, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ost, err := other.Store("default", "os:other")
	if err != nil {
		t.Fatal(err)
	}
	_, fresh, err := ost.RegenerateKey(context.Background(), k.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, verify(old), http.StatusUnauthorized, api.TypeInvalidCredentials)
	wantStatus(t, verify(fresh), http.StatusOK)

	// An edit of the allocation by the other handle is seen too.
	zero := int64(4)
	if _, err := ost.EditKey(context.Background(), k.ClientID, model.KeyEdit{QueryAlloc: &zero}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, verify(fresh), http.StatusTooManyRequests, api.TypeQuotaExceeded)

	if _, err := ost.RevokeKey(context.Background(), k.ClientID, false); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, verify(fresh), http.StatusUnauthorized, api.TypeInvalidCredentials)
}
