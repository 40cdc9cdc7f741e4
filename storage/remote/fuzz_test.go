package remote_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/remote"
)

// answer is a RoundTripper that answers every call with the same fuzzed
// status, Content-Type and body: a hostile or broken server, no network.
type answer struct {
	status int
	ctype  string
	body   string
}

func (a answer) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{}
	if a.ctype != "" {
		h["Content-Type"] = []string{a.ctype}
	}
	return &http.Response{StatusCode: a.status, Status: http.StatusText(a.status), Header: h, Request: r,
		Body: io.NopCloser(strings.NewReader(a.body))}, nil
}

// printable says whether s would reach a terminal harmlessly.
func printable(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) })
}

// FuzzRemoteAnswers: whatever a server answers, the remote store never
// panics; an error is one printable line; every string it hands on is
// printable and every fixed-form field has its form.
func FuzzRemoteAnswers(f *testing.F) {
	key := `{"client_id":"kdc_1yICnk16F6gvqaUVjjGpUk","name":"k\u001b[2J","account":"a\u202e","status":"active","permissions":["read"]}`
	for _, s := range []struct {
		status int
		ctype  string
		body   string
	}{
		{200, "application/json", `{"keys":[` + key + `],"total":1,"next_cursor":""}`},
		{200, "application/json", `{"key":` + key + `}`},
		{201, "application/json", `{"key":` + key + `,"client_secret":"kds_x"}`},
		{200, "application/json", `{"client_id":"kdc_1yICnk16F6gvqaUVjjGpUk","days":[{"day":"2026-13-01"}]}`},
		{200, "application/json", `{"events":[{"actor":"\u009b31m","client_id":"kdc_bad"}]}`},
		{200, "application/json", `{"name":"acme\n","period":"monthly"}`},
		{404, "application/problem+json", `{"type":"tag:keydeck.dev,2026:not-found","kind":"key\u0085","id":"x\ny","detail":"line\nline\u2066","status":404}`},
		{422, "application/problem+json", `{"type":"tag:keydeck.dev,2026:validation","field":"\u001b]0;x\u0007","detail":"x"}`},
		{302, "text/plain", "go away"},
		{503, "", "\x00\xff"},
		{200, "application/json", `{"keys":[{"client_id":"kdc_1yICnk16F6gvqaUVjjGpUk","status":"gone"}]}`},
		{200, "application/json", `not json`},
	} {
		f.Add(s.status, s.ctype, s.body)
	}
	f.Fuzz(func(t *testing.T, status int, ctype, body string) {
		if status < 100 || status > 999 {
			return
		}
		st, err := remote.New("http://127.0.0.1:1", model.NewToken(), remote.Options{Transport: answer{status, ctype, body}})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ctx := context.Background()
		check := func(what string, err error, strs ...string) {
			t.Helper()
			if err != nil {
				if !printable(err.Error()) {
					t.Fatalf("%s: error %q is not one printable line", what, err)
				}
				return
			}
			for _, s := range strs {
				if !printable(s) {
					t.Fatalf("%s: %q handed on", what, s)
				}
			}
		}
		checkKey := func(what string, k model.Key, err error) {
			t.Helper()
			check(what, err, k.Name, k.Account, k.SecretHint)
			if err == nil && (!model.ValidClientID(k.ClientID) || k.Status != model.StatusActive && k.Status != model.StatusRevoked) {
				t.Fatalf("%s: malformed key handed on: %+v", what, k)
			}
		}
		page, err := st.ListKeys(ctx, storage.ListOptions{Sort: storage.SortCreated})
		check("ListKeys", err, page.NextCursor)
		for _, k := range page.Keys {
			checkKey("ListKeys", k, nil)
		}
		k, err := st.GetKey(ctx, "kdc_1yICnk16F6gvqaUVjjGpUk")
		checkKey("GetKey", k, err)
		k, secret, err := st.CreateKey(ctx, model.KeySpec{Name: "k", Permissions: model.PermRead})
		checkKey("CreateKey", k, err)
		if err == nil && model.CheckSecret(model.SecretPrefix, secret) != nil {
			t.Fatalf("CreateKey: a malformed secret handed on")
		}
		a, err := st.Account(ctx)
		check("Account", err, a.Name)
		days, err := st.Usage(ctx, "kdc_1yICnk16F6gvqaUVjjGpUk", 7)
		check("Usage", err)
		for _, d := range days {
			check("Usage", nil, d.Day)
		}
		events, err := st.Audit(ctx, storage.AuditFilter{})
		check("Audit", err)
		for _, e := range events {
			check("Audit", nil, e.Actor, e.Action, e.Account, e.KeyName, e.Details, e.ClientID)
		}
	})
}
