package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// The header names the database or server the session works on, cut to
// the room it has.
func TestHeaderNamesTheSource(t *testing.T) {
	for _, tc := range []struct {
		src, want string
		w         int
	}{
		{"~/.local/share/keydeck/keydeck.db", "~/.local/share/keydeck/keydeck.db · account default", 120},
		{"/very/long/path/to/some/folder/of/databases/keydeck.db", "/databases/keydeck.db · account default", 80},
		{"https://keys.example.com", "https://keys.example.com · account default", 100},
	} {
		_, st := openStore(t, nil)
		opt := testOptions(nil)
		opt.Source = tc.src
		m := newTestModel(t, st, opt, tc.w, 24)
		run(t, m, m.Init())
		line := strings.Split(screen(m), "\n")[0]
		if !strings.Contains(line, tc.want) {
			t.Errorf("%dx24 header %q lacks %q", tc.w, line, tc.want)
		}
	}
}

// flakyStore fails every call with err while err is set.
type flakyStore struct {
	storage.Store
	err error
}

func (f *flakyStore) Account(ctx context.Context) (model.Account, error) {
	if f.err != nil {
		return model.Account{}, f.err
	}
	return f.Store.Account(ctx)
}

func (f *flakyStore) ListKeys(ctx context.Context, o storage.ListOptions) (storage.KeyPage, error) {
	if f.err != nil {
		return storage.KeyPage{}, f.err
	}
	return f.Store.ListKeys(ctx, o)
}

func (f *flakyStore) GetKey(ctx context.Context, id string) (model.Key, error) {
	if f.err != nil {
		return model.Key{}, f.err
	}
	return f.Store.GetKey(ctx, id)
}

func (f *flakyStore) RegenerateKey(ctx context.Context, id string) (model.Key, string, error) {
	if f.err != nil {
		return model.Key{}, "", f.err
	}
	return f.Store.RegenerateKey(ctx, id)
}

var errGone = fmt.Errorf("%w at keys.example.com: dial tcp: connection refused", storage.ErrUnavailable)

// A failed regenerate says so, and that the old secret still works, even
// when the reload after it fails too.
func TestFailedActionSaysWhatFailedAndWhatItLeft(t *testing.T) {
	_, st := openStore(t, nil)
	fs := &flakyStore{Store: st}
	createKeys(t, st, model.KeySpec{Name: "k", Permissions: model.PermRead})
	m := newTestModel(t, fs, testOptions(nil), 120, 30)
	run(t, m, m.Init())
	press(t, m, "enter")
	mustShow(t, m, "Period")
	fs.err = errGone
	press(t, m, "R", "tab", "enter")
	want := "regenerate failed: cannot reach the server; nothing changed, the old secret still works"
	if m.ErrorText() != want {
		t.Fatalf("error %q, want %q", m.ErrorText(), want)
	}
	// details that cannot load show what is missing as unknown
	send(t, m, DetailLoadedMsg{ClientID: m.detail.ClientID(), Err: errGone})
	m.detail = nil
	press(t, m, "enter")
	mustShow(t, m, "unknown: could not be loaded")
	mustNotShow(t, m, "loading…")
}

// A wrong token is said on the main screen, with what to check, and not
// retried; a server that is not there is said and retried with backoff
// until it answers.
func TestStartWithoutAccountSaysWhy(t *testing.T) {
	_, st := openStore(t, nil)
	fs := &flakyStore{Store: st, err: fmt.Errorf("remote: %w", model.ErrUnauthorized)}
	m := newTestModel(t, fs, testOptions(nil), 100, 24)
	var waits []time.Duration
	var fire []func(time.Time) tea.Msg
	m.tick = func(d time.Duration, f func(time.Time) tea.Msg) tea.Cmd {
		waits, fire = append(waits, d), append(fire, f)
		return nil
	}
	run(t, m, m.Init())
	mustShow(t, m, "the API token is invalid or missing: check --token or KEYDECK_TOKEN")
	mustNotShow(t, m, "loading the account")
	press(t, m, "n")
	if !strings.Contains(m.ErrorText(), "check --token") {
		t.Fatalf("n says %q", m.ErrorText())
	}
	if len(waits) != 0 {
		t.Fatalf("a wrong token was retried: %v", waits)
	}

	m = newTestModel(t, fs, testOptions(nil), 100, 24)
	m.tick = func(d time.Duration, f func(time.Time) tea.Msg) tea.Cmd {
		waits, fire = append(waits, d), append(fire, f)
		return nil
	}
	fs.err = errGone
	run(t, m, m.Init())
	mustShow(t, m, "cannot reach the server; retrying every 2s")
	send(t, m, fire[len(fire)-1](time.Time{}))
	send(t, m, fire[len(fire)-1](time.Time{}))
	send(t, m, fire[len(fire)-1](time.Time{}))
	send(t, m, fire[len(fire)-1](time.Time{}))
	if want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}; fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Fatalf("retries after %v, want %v", waits, want)
	}
	mustShow(t, m, "retrying every 10s")
	fs.err = nil // the server is back
	send(t, m, fire[len(fire)-1](time.Time{}))
	mustShow(t, m, "Query 10,000 of 10,000")
	mustShow(t, m, "You have no API keys yet")
}

// At 80×24 the details say there is more below, audit events among it;
// after an edit they come back scrolled to the title.
func TestDetailsFoldSignAndTopAfterEdit(t *testing.T) {
	m, _ := started(t, 80, 24)
	keys := createKeys(t, m.st, model.KeySpec{Name: "Fold-Key", Permissions: model.PermRead, QueryAlloc: 10})
	press(t, m, "r", "enter")
	mustShow(t, m, "more lines below, audit events among them")
	press(t, m, "pgdown", "pgdown")
	mustShow(t, m, "key.create")
	mustNotShow(t, m, "Client ID")
	k := keys[0]
	k.Name = "Fold-Key-2"
	send(t, m, KeyEditedMsg{Key: k})
	mustShow(t, m, "Client ID") // the title and metadata, scrolled back to
	mustShow(t, m, "Saved changes")
}

// L releases a kept allocation from the list too, and asks first there
// and in the details.
func TestReleaseFromTheListAsksFirst(t *testing.T) {
	m, _ := started(t, 120, 30)
	keys := createKeys(t, m.st, model.KeySpec{Name: "Kept", Permissions: model.PermRead, QueryAlloc: 1000, MutationAlloc: 100})
	if _, err := m.st.RevokeKey(context.Background(), keys[0].ClientID, true); err != nil {
		t.Fatal(err)
	}
	press(t, m, "r", "v")
	mustShow(t, m, "Query 9,000 of 10,000")
	press(t, m, "L")
	mustShow(t, m, "Release the allocation of “Kept”?")
	mustShow(t, m, "(1,000 Query, 100 Mutation)")
	press(t, m, "esc")
	if k, _ := m.st.GetKey(context.Background(), keys[0].ClientID); !k.KeepsAllocation {
		t.Fatal("cancel released the allocation")
	}
	press(t, m, "L", "tab", "enter")
	if k, _ := m.st.GetKey(context.Background(), keys[0].ClientID); k.KeepsAllocation {
		t.Fatal("the confirmed release did not happen")
	}
	mustShow(t, m, "Query 10,000 of 10,000")
	mustShow(t, m, `Released "Kept"; 1,000 Query and 100 Mutation went back to the account.`)
	press(t, m, "L") // nothing held any more: L does nothing
	mustNotShow(t, m, "Release the allocation")
}
