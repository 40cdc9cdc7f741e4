package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// Bodies over the limit are refused with 413 before anything is decoded.
func TestBodyTooLarge413(t *testing.T) {
	e := newEnv(t)
	tok := e.token("default")
	k, _ := e.key("default", "k", model.PermRead, 1, 1)
	big := `{"name": "` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`
	for _, r := range []req{
		{method: "POST", path: "/v1/verify", body: `{"client_id": "` + strings.Repeat("x", verifyMaxBodyBytes) + `"}`},
		{method: "POST", path: "/v1/keys", body: big},
		{method: "PATCH", path: "/v1/keys/" + k.ClientID, body: big},
		{method: "POST", path: "/v1/keys/" + k.ClientID + "/regenerate", body: big},
		{method: "POST", path: "/v1/keys/" + k.ClientID + "/revoke", body: big},
		{method: "POST", path: "/v1/keys/" + k.ClientID + "/release", body: big},
	} {
		r.token = tok
		a := e.do(r)
		wantStatus(t, a, http.StatusRequestEntityTooLarge, api.TypeBodyTooLarge)
	}
	if got, _ := e.store("default").GetKey(t.Context(), k.ClientID); got.Name != "k" || got.Status != model.StatusActive || got.SecretHint != k.SecretHint {
		t.Fatalf("a 413 changed the key: %+v", got)
	}
	if n := e.admin.verifies.Load(); n != 0 {
		t.Fatalf("an oversized verify reached the store")
	}
}
