package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// pgDown is what the PostgreSQL store returns while its server is away.
var pgDown = &storage.DatabaseDownError{Addr: "10.0.0.5:5432", Cause: "connection refused"}

// refresh fires the periodic reload as its timer would.
func refresh(t *testing.T, m *Model) {
	t.Helper()
	send(t, m, RefreshTickMsg{Seq: m.refreshSeq})
}

// A database that goes away while the TUI runs is said in the status line,
// named as the store names it, over the screen that was shown; once it
// answers again, the periodic refresh clears it without a key pressed.
func TestDatabaseDownShowsAndRecovers(t *testing.T) {
	_, st := openStore(t, nil)
	fs := &flakyStore{Store: st}
	createKeys(t, st, model.KeySpec{Name: "orders-api", Permissions: model.PermRead})
	m := newTestModel(t, fs, testOptions(nil), 120, 30)
	run(t, m, m.Init())
	mustShow(t, m, "orders-api")

	fs.err = pgDown
	refresh(t, m)
	want := "the database at 10.0.0.5:5432 cannot be reached: connection refused"
	if !strings.Contains(m.ErrorText(), want) {
		t.Fatalf("status line %q lacks %q", m.ErrorText(), want)
	}
	mustShow(t, m, want)
	mustShow(t, m, "orders-api") // the list stays
	refresh(t, m)                // still down: still said
	mustShow(t, m, want)

	// With the details open, their reload fails too; both clear.
	fs.err = nil
	refresh(t, m)
	press(t, m, "enter")
	mustShow(t, m, "Period")
	fs.err = pgDown
	refresh(t, m)
	mustShow(t, m, "cannot be reached")
	fs.err = nil
	refresh(t, m)
	if m.ErrorText() != "" {
		t.Fatalf("after the database came back the status line says %q", m.ErrorText())
	}
	mustNotShow(t, m, "cannot be reached")
	mustShow(t, m, "orders-api")
}

// Started while the database is away: the main screen names it and
// retries; it comes up by itself once the database answers.
func TestDatabaseDownAtStart(t *testing.T) {
	_, st := openStore(t, nil)
	fs := &flakyStore{Store: st, err: pgDown}
	m := newTestModel(t, fs, testOptions(nil), 100, 24)
	var retry func() // the latest timer
	m.tick = func(_ time.Duration, f func(time.Time) tea.Msg) tea.Cmd {
		retry = func() { send(t, m, f(time.Time{})) }
		return nil
	}
	run(t, m, m.Init())
	mustShow(t, m, "the database at 10.0.0.5:5432 cannot be reached: connection refused; retrying every 2s")
	fs.err = nil
	retry()
	mustShow(t, m, "Query 10,000 of 10,000")
	mustNotShow(t, m, "cannot be reached")
}

// A write the connection was lost under may have committed: the status
// line says so, and how to check, rather than "nothing changed"; a
// refused connection sent nothing, and the line says that.
func TestDatabaseDownDuringWrite(t *testing.T) {
	_, st := openStore(t, nil)
	fs := &flakyStore{Store: st}
	createKeys(t, st, model.KeySpec{Name: "k", Permissions: model.PermRead})
	m := newTestModel(t, fs, testOptions(nil), 120, 30)
	run(t, m, m.Init())
	press(t, m, "enter")
	mustShow(t, m, "Period")
	fs.err = pgDown
	press(t, m, "R", "tab", "enter")
	fs.err = &storage.DatabaseDownError{Addr: "10.0.0.5:5432", Cause: "connection refused"}
	press(t, m, "R", "tab", "enter")
	if got, want := m.ErrorText(), "regenerate failed: the database at 10.0.0.5:5432 cannot be reached: connection refused; nothing changed, the old secret still works"; got != want {
		t.Fatalf("refused: error %q, want %q", got, want)
	}
	fs.err = &storage.DatabaseDownError{Addr: "10.0.0.5:5432", Cause: "unexpected EOF"}
	press(t, m, "R", "tab", "enter")
	want := "regenerate failed: the database at 10.0.0.5:5432 cannot be reached: unexpected EOF; it may have gone through; r reloads to check"
	if m.ErrorText() != want {
		t.Fatalf("error %q, want %q", m.ErrorText(), want)
	}
	// The database back, a load does not hide what the write left.
	fs.err = nil
	refresh(t, m)
	if m.ErrorText() != want {
		t.Fatalf("after a reload the error is %q", m.ErrorText())
	}
}
