package remote_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/remote"
	"github.com/keydeck/keydeck/storage/remote/remotetest"
)

func hostileStore(t *testing.T, a remotetest.Answers) storage.Store {
	t.Helper()
	ts := httptest.NewServer(remotetest.Handler(a))
	t.Cleanup(ts.Close)
	st, err := remote.New(ts.URL, model.NewToken(), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// mustBeClean fails if any string in v could act on a terminal.
func mustBeClean(t *testing.T, what string, v any) {
	t.Helper()
	for _, s := range remotetest.Strings(v) {
		if r, bad := remotetest.Unsafe(s); bad {
			t.Errorf("%s: %q carries %U", what, s, r)
		}
	}
}

// Every string of every answer reaches the caller printable: the free
// text with its controls replaced (and still there, so nothing is
// dropped), the fixed-form fields as sent.
func TestHostileAnswersArePrintable(t *testing.T) {
	a := remotetest.Default()
	if !model.ValidClientID(remotetest.ClientID) {
		t.Fatal("remotetest.ClientID is not a Client ID")
	}
	st := hostileStore(t, a)
	ctx := context.Background()
	id := remotetest.ClientID

	acc, err := st.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustBeClean(t, "account", acc)
	if !strings.Contains(acc.Name, remotetest.Marker) {
		t.Errorf("account name %q lost its text", acc.Name)
	}
	page, err := st.ListKeys(ctx, storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustBeClean(t, "page", page)
	if len(page.Keys) != 1 || page.Keys[0].ClientID != id || !strings.Contains(page.Keys[0].Name, remotetest.Marker) {
		t.Errorf("page: %+v", page)
	}
	want := model.Printable(remotetest.Hostile)
	if page.Keys[0].Name != want {
		t.Errorf("name = %q; want %q", page.Keys[0].Name, want)
	}
	k, err := st.GetKey(ctx, id)
	mustBeClean(t, "get", k)
	if err != nil {
		t.Fatal(err)
	}
	k, secret, err := st.CreateKey(ctx, model.KeySpec{Name: "New", Permissions: model.PermRead})
	if err != nil || secret != a.Secret {
		t.Fatalf("create: %v (secret as sent: %v)", err, secret == a.Secret)
	}
	mustBeClean(t, "create", k)
	k, secret, err = st.RegenerateKey(ctx, id)
	if err != nil || secret != a.Secret {
		t.Fatalf("regenerate: %v (secret as sent: %v)", err, secret == a.Secret)
	}
	mustBeClean(t, "regenerate", k)
	name := "Renamed"
	k, err = st.EditKey(ctx, id, model.KeyEdit{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	mustBeClean(t, "edit", k)
	for what, f := range map[string]func(context.Context, string) (model.Key, error){
		"revoke":  func(ctx context.Context, id string) (model.Key, error) { return st.RevokeKey(ctx, id, false) },
		"release": st.ReleaseKey,
	} {
		k, err := f(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		mustBeClean(t, what, k)
	}
	days, err := st.Usage(ctx, id, 30)
	if err != nil {
		t.Fatal(err)
	}
	mustBeClean(t, "usage", days)
	events, err := st.Audit(ctx, storage.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	mustBeClean(t, "audit", events)
	if len(events) != 1 || events[0].Details != want || events[0].Actor != want || events[0].ClientID != id {
		t.Errorf("audit: %+v", events)
	}
	res, err := st.Verify(ctx, model.VerifyRequest{ClientID: id, ClientSecret: a.Secret, Operation: model.OpRead})
	if err != nil || res.Verdict != model.Allowed {
		t.Fatalf("verify: %+v %v", res, err)
	}
	mustBeClean(t, "verify", res)
}

// An error answer becomes one printable line, whichever error the
// client makes of it.
func TestHostileProblemsAreOneLine(t *testing.T) {
	for _, c := range []struct {
		status int
		typ    string
	}{
		{http.StatusUnprocessableEntity, api.TypeValidation},
		{http.StatusConflict, api.TypeAmbiguous},
		{http.StatusNotFound, api.TypeNotFound},
		{http.StatusConflict, api.TypeAllocationExceeded},
		{http.StatusServiceUnavailable, api.TypeUnavailable},
		{http.StatusTeapot, api.TypePrefix + "something-new"},
		{http.StatusForbidden, api.TypeForbidden}, // a verify denial
	} {
		a := remotetest.Default()
		a.Problem = remotetest.HostileProblem(c.status, c.typ)
		st := hostileStore(t, a)
		ctx := context.Background()
		name := "X"
		errs := []error{}
		_, _, err := st.CreateKey(ctx, model.KeySpec{Name: "New", Permissions: model.PermRead})
		errs = append(errs, err)
		_, err = st.EditKey(ctx, remotetest.ClientID, model.KeyEdit{Name: &name})
		errs = append(errs, err)
		_, err = st.RevokeKey(ctx, remotetest.ClientID, true)
		errs = append(errs, err)
		_, err = st.Verify(ctx, model.VerifyRequest{ClientID: remotetest.ClientID, ClientSecret: a.Secret, Operation: model.OpRead})
		errs = append(errs, err)
		for i, err := range errs {
			if err == nil {
				if c.typ == api.TypeForbidden && i == 3 {
					continue // a verdict, not an error
				}
				t.Errorf("%s #%d: no error", c.typ, i)
				continue
			}
			msg := err.Error()
			if r, bad := remotetest.Unsafe(msg); bad {
				t.Errorf("%s #%d: %q carries %U", c.typ, i, msg, r)
			}
			if len(msg) > 1000 {
				t.Errorf("%s #%d: %d bytes", c.typ, i, len(msg))
			}
			mustBeClean(t, c.typ, err)
		}
	}
}

// Fields with a fixed form are checked, not cleaned: an answer that
// breaks one is refused with one line that says what was wrong, and a bad
// secret is never quoted.
func TestMalformedAnswersAreRefused(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		spoil func(*remotetest.Answers)
		call  func(storage.Store) error
		want  string
	}{
		{"key client id", func(a *remotetest.Answers) { a.Key.ClientID = "kdc_\x1b[2J" },
			func(st storage.Store) error { _, err := st.ListKeys(ctx, storage.ListOptions{}); return err },
			`sent a malformed key (Client ID "kdc_?[2J")`},
		{"key status", func(a *remotetest.Answers) { a.Key.Status = "active\x1b[8m" },
			func(st storage.Store) error { _, err := st.GetKey(ctx, remotetest.ClientID); return err },
			`sent a malformed key (status "active?[8m")`},
		{"key permissions", func(a *remotetest.Answers) { a.Key.Permissions = []string{"read\x1b[8m"} },
			func(st storage.Store) error { _, err := st.GetKey(ctx, remotetest.ClientID); return err },
			`sent a key keydeck cannot read (unknown permission "read?[8m"`},
		{"account period", func(a *remotetest.Answers) { a.Account.Period = "weekly\r\n" },
			func(st storage.Store) error { _, err := st.Account(ctx); return err },
			`sent a malformed account (period "weekly??")`},
		{"audit client id", func(a *remotetest.Answers) { a.Events[0].ClientID = "\u202ekdc_x" },
			func(st storage.Store) error { _, err := st.Audit(ctx, storage.AuditFilter{}); return err },
			`sent a malformed audit event (Client ID "?kdc_x")`},
		{"usage day", func(a *remotetest.Answers) { a.Days[0].Day = "\x1b]0;x\x07" },
			func(st storage.Store) error { _, err := st.Usage(ctx, remotetest.ClientID, 1); return err },
			`sent a malformed usage row (day "?]0;x?")`},
		{"secret", func(a *remotetest.Answers) { a.Secret = "kds_\x1b]0;pwned\x07" },
			func(st storage.Store) error {
				_, _, err := st.RegenerateKey(ctx, remotetest.ClientID)
				return err
			},
			"sent a malformed Client Secret; is it a keydeck server?"},
		{"verify client id", func(a *remotetest.Answers) { a.Verify.ClientID = "\x9b2J" },
			func(st storage.Store) error {
				_, err := st.Verify(ctx, model.VerifyRequest{ClientID: remotetest.ClientID, ClientSecret: model.NewSecret(), Operation: model.OpRead})
				return err
			},
			`sent a malformed verify answer (Client ID`},
		{"verify period", func(a *remotetest.Answers) { a.Verify.Period = "\x1b[2J" },
			func(st storage.Store) error {
				_, err := st.Verify(ctx, model.VerifyRequest{ClientID: remotetest.ClientID, ClientSecret: model.NewSecret(), Operation: model.OpRead})
				return err
			},
			`sent a malformed verify answer (period "?[2J")`},
	} {
		a := remotetest.Default()
		c.spoil(&a)
		err := c.call(hostileStore(t, a))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want it to say %q", c.name, err, c.want)
			continue
		}
		if r, bad := remotetest.Unsafe(err.Error()); bad {
			t.Errorf("%s: %q carries %U", c.name, err, r)
		}
		if strings.Contains(err.Error(), "pwned") {
			t.Errorf("%s: %q quotes the secret", c.name, err)
		}
	}
}

// The status line's reason phrase is the server's text as well.
func TestHostileStatusLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				code := 418
				if req.URL.Path == "/v1/keys" {
					code = 599
				}
				fmt.Fprintf(conn, "HTTP/1.1 %d \x1b]0;pwned\x07\x1b[2J\u202eevil\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", code)
			}()
		}
	}()
	st, err := remote.New("http://"+ln.Addr().String(), model.NewToken(), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err1 := st.Account(context.Background())
	_, err2 := st.ListKeys(context.Background(), storage.ListOptions{})
	for i, err := range []error{err1, err2} {
		if err == nil {
			t.Fatalf("#%d: no error", i)
		}
		if r, bad := remotetest.Unsafe(err.Error()); bad {
			t.Errorf("#%d: %q carries %U", i, err, r)
		}
	}
	if !errors.Is(err2, storage.ErrUnavailable) {
		t.Errorf("599: %v", err2)
	}
}
