package server

import (
	"net/http"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// A path that is not in canonical form would match no credit cost and
// still reach the upstream (which may read "//media" as "/media"): the
// gateway refuses it before verifying, consuming nothing.
func TestGatewayRefusesUncleanPaths400(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL, "POST /media=5"))
	k, secret := e.key("default", "w", model.PermWrite, 0, 10)
	for _, p := range []string{"//media", "/./media", "/x/../media", "/media//x"} {
		a := e.gateway(req{method: "POST", path: p, header: basic(k.ClientID, secret)})
		wantStatus(t, a, http.StatusBadRequest, api.TypeBadRequest)
	}
	if n := len(up.requests()); n != 0 {
		t.Fatalf("the upstream saw %d unclean requests", n)
	}
	// Trailing slashes are canonical, and the priced path still costs.
	wantStatus(t, e.gateway(req{method: "POST", path: "/media/", header: basic(k.ClientID, secret)}), http.StatusAccepted)
	wantStatus(t, e.gateway(req{method: "POST", path: "/media", header: basic(k.ClientID, secret)}), http.StatusAccepted)
	got, _ := e.store("default").GetKey(t.Context(), k.ClientID)
	if got.MutationUsed != 2 || got.CreditsUsed != 5 {
		t.Fatalf("usage after the refused paths: %+v", got)
	}
}
