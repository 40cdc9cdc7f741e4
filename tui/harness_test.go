package tui

import (
	"context"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/sqlite"
	"github.com/keydeck/keydeck/tui/tmuxtest"
)

// fixedNow is the clock of every test: a Thursday in November, UTC.
var fixedNow = time.Date(2026, 11, 26, 14, 30, 0, 0, time.UTC)

// openStore opens a real, freshly migrated SQLite database in a temporary
// folder and returns the default account's store.
func openStore(t testing.TB, clock func() time.Time) (*sqlite.DB, storage.Store) {
	t.Helper()
	if clock == nil {
		clock = func() time.Time { return fixedNow }
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "keydeck.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := db.Store(model.DefaultAccount, "tui-test")
	if err != nil {
		t.Fatal(err)
	}
	return db, st
}

// testOptions are the options of a test session: UTC, a fixed clock, no
// auto-refresh, no colours, and a clipboard that records what it got.
func testOptions(clip *[]string) Options {
	return Options{
		Refresh:  -1,
		Location: time.UTC,
		Now:      func() time.Time { return fixedNow },
		Environ:  []string{"TERM=xterm-256color", "NO_COLOR=1"},
		WriteClipboard: func(s string) error {
			if clip != nil {
				*clip = append(*clip, s)
			}
			return nil
		},
	}
}

// newTestModel returns a model driven by hand: timers off, sized.
func newTestModel(t testing.TB, st storage.Store, opt Options, w, h int) *Model {
	t.Helper()
	m := New(context.Background(), st, opt)
	m.tick = func(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// run executes cmd and everything it leads to, feeding each message back
// into Update, the way tea.Program would but synchronously. Spinner ticks
// and terminal queries are dropped.
func run(t testing.TB, m *Model, cmd tea.Cmd) {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 1000 {
			t.Fatal("run: commands do not settle")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg := c()
		switch msg := msg.(type) {
		case nil:
			continue
		case tea.BatchMsg:
			queue = append(queue, msg...)
			continue
		case spinner.TickMsg:
			continue
		}
		if isTerminalMsg(msg) {
			continue
		}
		_, next := m.Update(msg)
		queue = append(queue, next)
	}
}

// isTerminalMsg reports Bubble Tea's internal messages meant for the
// terminal (OSC 52, background query, sequences), which a program, not the
// model, handles.
func isTerminalMsg(msg tea.Msg) bool {
	if msg == nil {
		return false
	}
	pkg := reflect.TypeOf(msg).PkgPath()
	name := reflect.TypeOf(msg).Name()
	return pkg == "charm.land/bubbletea/v2" && name != "" && name[0] >= 'a' && name[0] <= 'z'
}

// send feeds a message and runs what it starts.
func send(t testing.TB, m *Model, msg tea.Msg) {
	t.Helper()
	_, cmd := m.Update(msg)
	run(t, m, cmd)
}

// press sends key presses: named keys ("enter", "esc", "tab", "down",
// "shift+tab", "space", "backspace", "pgup", "ctrl+c") or runes.
func press(t testing.TB, m *Model, keys ...string) {
	t.Helper()
	for _, k := range keys {
		send(t, m, keyMsg(k))
	}
}

// typeText types each character of s.
func typeText(t testing.TB, m *Model, s string) {
	t.Helper()
	for _, r := range s {
		send(t, m, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func keyMsg(k string) tea.KeyPressMsg {
	named := map[string]rune{
		"enter": tea.KeyEnter, "esc": tea.KeyEscape, "tab": tea.KeyTab, "up": tea.KeyUp,
		"down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight, "space": tea.KeySpace,
		"backspace": tea.KeyBackspace, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
		"home": tea.KeyHome, "end": tea.KeyEnd, "delete": tea.KeyDelete,
	}
	var mod tea.KeyMod
	base := k
	if rest, ok := strings.CutPrefix(k, "shift+"); ok {
		mod, base = tea.ModShift, rest
	}
	if rest, ok := strings.CutPrefix(k, "ctrl+"); ok {
		mod, base = tea.ModCtrl, rest
	}
	if r, ok := named[base]; ok {
		msg := tea.KeyPressMsg{Code: r, Mod: mod}
		if r == tea.KeySpace {
			msg.Text = " "
		}
		return msg
	}
	r := []rune(base)[0]
	if mod != 0 {
		return tea.KeyPressMsg{Code: r, Mod: mod}
	}
	return tea.KeyPressMsg{Code: r, Text: base}
}

// screen is the frame as plain text.
func screen(m *Model) string { return ansi.Strip(m.Render()) }

var secretRE = regexp.MustCompile(`kds_[0-9A-Za-z]{49}`)

// mustShow fails unless the frame contains want.
func mustShow(t testing.TB, m *Model, want string) {
	t.Helper()
	if s := screen(m); !strings.Contains(s, want) {
		t.Fatalf("the screen lacks %q:\n%s", want, tmuxtest.Redact(s))
	}
}

func mustNotShow(t testing.TB, m *Model, unwanted string) {
	t.Helper()
	if s := screen(m); strings.Contains(s, unwanted) {
		t.Fatalf("the screen shows %q:\n%s", unwanted, tmuxtest.Redact(s))
	}
}

// createKeys makes keys through the store.
func createKeys(t testing.TB, st storage.Store, specs ...model.KeySpec) []model.Key {
	t.Helper()
	var out []model.Key
	for _, s := range specs {
		k, _, err := st.CreateKey(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

var listAll = storage.ListOptions{IncludeRevoked: true, Limit: storage.MaxLimit}

// drain runs cmd (and batches in it) and returns the messages, unfed.
func drain(cmd tea.Cmd) []tea.Msg {
	var out []tea.Msg
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		default:
			out = append(out, msg)
		}
	}
	return out
}

func typeName(msg tea.Msg) string { return reflect.TypeOf(msg).String() }
