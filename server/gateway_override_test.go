package server

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// A method override would let an upstream run another method's handler
// than the one the key was checked for (a DELETE with a key that cannot
// delete). The gateway refuses every spelling, before verifying, so
// nothing reaches the upstream and nothing is consumed.
func TestGatewayRefusesMethodOverrides(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL))
	k, secret := e.key("default", "rw", model.PermRead|model.PermWrite, 100, 100)
	with := func(extra map[string]string) map[string]string {
		h := basic(k.ClientID, secret)
		for n, v := range extra {
			h[n] = v
		}
		return h
	}
	const form = "application/x-www-form-urlencoded"
	var cases []req
	for _, h := range []string{"X-HTTP-Method-Override", "x-http-method-override", "X-HTTP-Method", "X-Method-Override",
		"X_HTTP_Method_Override", "x_http_method", "X-METHOD_OVERRIDE"} {
		for _, m := range []string{"GET", "POST", "PUT"} {
			cases = append(cases, req{method: m, path: "/x", header: with(map[string]string{h: "DELETE"})})
		}
	}
	// Any value: an upstream may read "delete" or " DELETE" as DELETE.
	cases = append(cases, req{method: "POST", path: "/x", header: with(map[string]string{"X-Http-Method-Override": "delete "})})
	for _, q := range []string{"_method=DELETE", "_METHOD=delete", "_Method=DELETE", "%5Fmethod=DELETE", "%5fMETHOD=DELETE",
		"_meth%6Fd=DELETE", "a=1&_method=DELETE", "a=1;_method=DELETE", "_method[]=DELETE", "_method[0]=DELETE",
		"+_method=DELETE", "%20_method=DELETE", ".method=DELETE", "_method", "_method=", "a&&_method=DELETE&b"} {
		cases = append(cases, req{method: "GET", path: "/x?" + q, header: with(nil)}, req{method: "POST", path: "/x?" + q, header: with(nil)})
	}
	for _, b := range []string{"_method=DELETE", "a=1&_method=DELETE", "_METHOD=delete", "%5Fmethod=DELETE", "a=1;_method=DELETE",
		"x=" + strings.Repeat("y", 60<<10) + "&_method=DELETE"} {
		for _, ct := range []string{form, "Application/X-WWW-Form-Urlencoded; charset=utf-8", " " + form + " ;charset=utf-8"} {
			cases = append(cases, req{method: "POST", path: "/x", body: b, header: with(map[string]string{"Content-Type": ct})})
			cases = append(cases, req{method: "PUT", path: "/x", body: b, header: with(map[string]string{"Content-Type": ct})})
		}
		// A POST body without a Content-Type is a form to Rack.
		cases = append(cases, req{method: "POST", path: "/x", body: b, header: with(nil)})
	}
	for _, c := range cases {
		a := e.gateway(c)
		wantStatus(t, a, http.StatusBadRequest, api.TypeBadRequest)
		if d := a.problem(t).Detail; !strings.Contains(strings.ToLower(d), "method") {
			t.Errorf("%s %s: the problem does not name the override: %q", c.method, c.path, d)
		}
	}
	if n := len(up.requests()); n != 0 {
		t.Fatalf("%d overridden requests reached the upstream", n)
	}
	if got, _ := e.store("default").GetKey(t.Context(), k.ClientID); got.QueryUsed != 0 || got.MutationUsed != 0 {
		t.Fatalf("refused overrides consumed units: %+v", got)
	}
}

// What is not an override goes through, form bodies unchanged.
func TestGatewayPassesWhatIsNotAnOverride(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL))
	k, secret := e.key("default", "w", model.PermRead|model.PermWrite, 100, 100)
	formH := basic(k.ClientID, secret)
	formH["Content-Type"] = "application/x-www-form-urlencoded"
	big := "a=" + strings.Repeat("b", 60<<10)
	for _, c := range []req{
		{method: "GET", path: "/x?method=DELETE&x=_method&_methods=1&my_method=DELETE&_method_=1", header: basic(k.ClientID, secret)},
		{method: "POST", path: "/x", body: "name=_method&method=DELETE&a_method=1", header: formH},
		{method: "POST", path: "/x", body: big, header: formH},
		{method: "POST", path: "/x", body: `{"name":"x"}`, header: map[string]string{"Content-Type": "application/json",
			"Authorization": basic(k.ClientID, secret)["Authorization"]}},
		{method: "POST", path: "/x", header: basic(k.ClientID, secret)},
	} {
		n := len(up.requests())
		a := e.gateway(c)
		if a.status != http.StatusAccepted {
			t.Fatalf("%s %s: %d %s", c.method, c.path, a.status, a.body)
		}
		want, _ := c.body.(string)
		if got := up.requests()[n]; got.body != want {
			t.Fatalf("%s %s: the upstream got a body of %d bytes, want %d", c.method, c.path, len(got.body), len(want))
		}
	}
}

// Form bodies are read to a bound before anything goes upstream: a larger
// one, or one the gateway cannot read (compressed), is refused; a chunked
// one within the bound is read like any other.
func TestGatewayFormBodyBound(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL))
	k, secret := e.key("default", "w", model.PermWrite, 0, 100)
	h := basic(k.ClientID, secret)
	h["Content-Type"] = "application/x-www-form-urlencoded"
	a := e.gateway(req{method: "POST", path: "/x", body: "a=" + strings.Repeat("b", gatewayFormPeekBytes), header: h})
	wantStatus(t, a, http.StatusRequestEntityTooLarge, api.TypeBodyTooLarge)
	gz := basic(k.ClientID, secret)
	gz["Content-Type"] = "application/x-www-form-urlencoded"
	gz["Content-Encoding"] = "gzip"
	wantStatus(t, e.gateway(req{method: "POST", path: "/x", body: "\x1f\x8b", header: gz}), http.StatusBadRequest, api.TypeBadRequest)
	if n := len(up.requests()); n != 0 {
		t.Fatalf("%d refused form bodies reached the upstream", n)
	}

	for _, body := range []string{"a=1&b=2", "a=1&_method=DELETE"} {
		// io.MultiReader hides the length: the body goes chunked.
		r, _ := http.NewRequest("POST", e.gw.URL+"/x", io.MultiReader(strings.NewReader(body)))
		for n, v := range h {
			r.Header.Set(n, v)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusAccepted
		if strings.Contains(body, "_method") {
			want = http.StatusBadRequest
		}
		if resp.StatusCode != want {
			t.Fatalf("chunked %q: %d, want %d", body, resp.StatusCode, want)
		}
	}
	if got := up.requests(); len(got) != 1 || got[0].body != "a=1&b=2" {
		t.Fatalf("the upstream saw %d requests", len(got))
	}
}
