package keylist

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/tui/common"
	"github.com/keydeck/keydeck/tui/format"
	"github.com/keydeck/keydeck/tui/styles"
)

func testCommon() *common.Common {
	return &common.Common{Styles: styles.New(true, true), Location: time.UTC, Now: time.Now}
}

func rows(n int) []Row {
	out := make([]Row, n)
	for i := range out {
		out[i] = Row{Name: fmt.Sprintf("key-%05d", n-i), ClientID: fmt.Sprintf("kdc_%022d", i), Perms: model.PermRead,
			QueryAlloc: 100, QueryUsed: int64(i % 100), Created: int64(n - i)}
	}
	return out
}

func k(s string) tea.KeyPressMsg {
	switch s {
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	}
	return tea.KeyPressMsg{Code: rune(s[0]), Text: s}
}

func TestOnlyVisibleRowsAreDrawn(t *testing.T) {
	m := New(testCommon())
	m.SetSize(80, 10)
	m.SetSnapshot(NewSnapshotRows(rows(100_000), 100_000, true))
	view := ansi.Strip(m.View())
	if n := strings.Count(view, "kdc_"); n != 8 {
		t.Fatalf("%d rows drawn in 10 lines, want 8", n)
	}
	m.Update(k("end"))
	if r, _ := m.Selected(); r.Name != "key-00001" {
		t.Fatalf("end selected %q", r.Name)
	}
	view = ansi.Strip(m.View())
	if !strings.Contains(view, "99,993–100,000 of 100,000 keys") {
		t.Fatalf("footer:\n%s", view)
	}
}

func TestSelectionSurvivesReload(t *testing.T) {
	m := New(testCommon())
	m.SetSize(80, 10)
	m.SetSnapshot(NewSnapshotRows(rows(50), 50, true))
	for range 5 {
		m.Update(k("down"))
	}
	want, _ := m.Selected()
	// a new key arrives on top: the cursor follows the selected key
	more := append([]Row{{Name: "new", ClientID: "kdc_new"}}, rows(50)...)
	m.SetSnapshot(NewSnapshotRows(more, 51, true))
	if got, _ := m.Selected(); got.ClientID != want.ClientID {
		t.Fatalf("selected %q after reload, want %q", got.Name, want.Name)
	}
}

func TestLayoutUsesWideScreens(t *testing.T) {
	narrow, wide := computeLayout(80, defaultDims), computeLayout(160, defaultDims)
	if narrow.total() > 80 || wide.total() > 160 {
		t.Fatalf("layouts overflow: %d %d", narrow.total(), wide.total())
	}
	if narrow.idFull || narrow.status > 0 {
		t.Fatal("80 columns should shorten Client IDs and drop the status column")
	}
	if !wide.idFull || wide.status == 0 || !wide.exact || wide.last == 0 || !wide.createdTime {
		t.Fatalf("160 columns should show everything: %+v", wide)
	}
}

func TestEmptyAndIntents(t *testing.T) {
	m := New(testCommon())
	m.SetSize(80, 20)
	if !strings.Contains(m.View(), "Loading keys") {
		t.Fatal("no loading state")
	}
	m.SetSnapshot(NewSnapshotRows(nil, 0, true))
	if !m.Empty() || !strings.Contains(ansi.Strip(m.View()), "You have no API keys yet") {
		t.Fatal("no empty state")
	}
	m.Update(k("enter"))
	if _, ok := m.TakeIntent().(CreateMsg); !ok {
		t.Fatal("enter on the empty state does not ask for the wizard")
	}
	m.SetSnapshot(NewSnapshotRows(rows(3), 3, true))
	m.Update(k("enter"))
	if o, ok := m.TakeIntent().(OpenMsg); !ok || o.ClientID != rows(3)[0].ClientID {
		t.Fatal("enter does not open the selected key")
	}
	if m.TakeIntent() != nil {
		t.Fatal("an intent is handed out twice")
	}
	rs := rows(2)
	rs[0].Revoked = true
	m.SetSnapshot(NewSnapshotRows(rs, 2, true))
	m.Update(k("v"))
	m.Update(k("x"))
	if m.TakeIntent() != nil {
		t.Fatal("a revoked key can be revoked again")
	}
}

func TestSortOrders(t *testing.T) {
	rs := []Row{
		{Name: "b", ClientID: "kdc_1", QueryUsed: 5},
		{Name: "A", ClientID: "kdc_2", QueryUsed: 50},
		{Name: "c", ClientID: "kdc_3", MutationUsed: 7},
	}
	s := NewSnapshotRows(rs, 3, true)
	names := func(o []int32) string {
		var b strings.Builder
		for _, i := range o {
			b.WriteString(s.Rows[i].Name)
		}
		return b.String()
	}
	if got := names(s.Order(storage.SortName)); got != "Abc" {
		t.Fatalf("by name: %s", got)
	}
	if got := names(s.Order(storage.SortUsage)); got != "Acb" {
		t.Fatalf("by usage: %s", got)
	}
	if got := names(s.Order(storage.SortCreated)); got != "bAc" {
		t.Fatalf("by created: %s", got)
	}
}

// The full help lists edit, regenerate and revoke exactly when they work:
// on an active row, not on a revoked one, nor on the empty list.
func TestHelpShowsTheActionsThatWork(t *testing.T) {
	actions := func(m *Model) (on []string) {
		for _, col := range m.FullHelp() {
			for _, b := range col {
				if b.Enabled() && (b.Help().Key == "e" || b.Help().Key == "R" || b.Help().Key == "x") {
					on = append(on, b.Help().Key)
				}
			}
		}
		return on
	}
	m := New(testCommon())
	m.SetSize(80, 20)
	m.SetSnapshot(NewSnapshotRows(nil, 0, true))
	if got := actions(m); len(got) != 0 {
		t.Fatalf("empty list: help offers %v", got)
	}
	rs := rows(2)
	rs[0].Revoked = true
	m.SetSnapshot(NewSnapshotRows(rs, 2, true))
	m.Update(k("v")) // show the revoked key, first in the list
	if r, _ := m.Selected(); !r.Revoked {
		t.Fatal("the revoked key is not selected")
	}
	if got := actions(m); len(got) != 0 {
		t.Fatalf("revoked row: help offers %v", got)
	}
	m.Update(k("down"))
	if got := actions(m); len(got) != 3 {
		t.Fatalf("active row: help offers %v, want e R x", got)
	}
	m.Update(k("e"))
	if e, ok := m.TakeIntent().(EditMsg); !ok || e.ClientID != rs[1].ClientID {
		t.Fatal("e on an active row does not ask to edit it")
	}
	m.Update(k("/"))
	if got := actions(m); len(got) != 0 {
		t.Fatalf("filtering: help offers %v", got)
	}
}

// The short help offers e, R and x on an active row when the width allows,
// and never runs past the width.
func TestShortHelpFitsAndOffersActions(t *testing.T) {
	short := func(m *Model) string {
		var out []string
		for _, b := range m.ShortHelp() {
			if b.Enabled() {
				out = append(out, b.Help().Key+" "+b.Help().Desc)
			}
		}
		return strings.Join(out, " • ")
	}
	m := New(testCommon())
	rs := rows(3)
	rs[0].Revoked = true
	m.SetSnapshot(NewSnapshotRows(rs, 3, true))
	m.Update(k("v"))
	m.Update(k("down")) // an active row
	for _, w := range []int{60, 80, 120, 200} {
		m.SetSize(w, 20)
		h := short(m)
		if ansi.StringWidth(h) > w {
			t.Errorf("%d columns: help is %d wide: %s", w, ansi.StringWidth(h), h)
		}
		if !strings.Contains(h, "? help") || !strings.Contains(h, "q quit") || !strings.Contains(h, "j/k") {
			t.Errorf("%d columns: essentials missing: %s", w, h)
		}
		has := strings.Contains(h, "e edit") && strings.Contains(h, "R regenerate") && strings.Contains(h, "x revoke")
		if w >= 120 && !has {
			t.Errorf("%d columns, active row: no e/R/x: %s", w, h)
		}
	}
	m.Update(k("home")) // the revoked row
	if h := short(m); strings.Contains(h, "e edit") || strings.Contains(h, "x revoke") {
		t.Errorf("revoked row offers actions: %s", h)
	}
}

func ctrl(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Mod: tea.ModCtrl} }

// ctrl+d/ctrl+u move half a page, g/G to the ends.
func TestHalfPageAndEnds(t *testing.T) {
	m := New(testCommon())
	m.SetSize(80, 12) // 10 rows
	m.SetSnapshot(NewSnapshotRows(rows(100), 100, true))
	m.Update(ctrl('d'))
	if m.Cursor() != 5 {
		t.Fatalf("ctrl+d: cursor %d, want 5", m.Cursor())
	}
	m.Update(ctrl('d'))
	m.Update(ctrl('u'))
	if m.Cursor() != 5 {
		t.Fatalf("ctrl+d ctrl+u: cursor %d, want 5", m.Cursor())
	}
	m.Update(k("G"))
	if m.Cursor() != 99 {
		t.Fatalf("G: cursor %d", m.Cursor())
	}
	m.Update(k("g"))
	if m.Cursor() != 0 {
		t.Fatalf("g: cursor %d", m.Cursor())
	}
}

// S reverses the order; the sorted column carries ▲ or ▼, and so does the
// footer.
func TestSortDirection(t *testing.T) {
	m := New(testCommon())
	m.SetSize(120, 10)
	m.SetSnapshot(NewSnapshotRows(rows(5), 5, true))
	header := func() string { return strings.SplitN(ansi.Strip(m.View()), "\n", 2)[0] }
	if h := header(); !strings.Contains(h, "Created ▼") {
		t.Fatalf("newest first: %s", h)
	}
	m.Update(k("S"))
	if r, _ := m.Selected(); r.Name != "key-00001" || !strings.Contains(header(), "Created ▲") {
		t.Fatalf("reversed: first %q, header %s", r.Name, header())
	}
	m.Update(k("home"))
	if r, _ := m.Selected(); r.Name != "key-00001" {
		t.Fatalf("oldest first: first %q", r.Name)
	}
	m.Update(k("s")) // by name, A→Z
	m.Update(k("home"))
	if r, _ := m.Selected(); r.Name != "key-00001" || !strings.Contains(header(), "Name ▲") {
		t.Fatalf("by name: %q %s", r.Name, header())
	}
	m.Update(k("S"))
	m.Update(k("home"))
	if r, _ := m.Selected(); r.Name != "key-00005" || !strings.Contains(header(), "Name ▼") {
		t.Fatalf("by name, Z→A: %q %s", r.Name, header())
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "sorted by name ▼") {
		t.Fatalf("footer:\n%s", v)
	}
}

// c copies the selected Client ID: OSC 52 always, the local clipboard when
// there is one, and says so.
func TestCopyClientID(t *testing.T) {
	c := testCommon()
	var got string
	c.Clipboard = func(s string) error { got = s; return nil }
	m := New(c)
	m.SetSize(100, 10)
	rs := rows(3)
	m.SetSnapshot(NewSnapshotRows(rs, 3, true))
	m.Update(k("down"))
	cmd := m.Update(k("c"))
	if cmd == nil {
		t.Fatal("c: no command")
	}
	msgs := cmd().(tea.BatchMsg)
	var osc bool
	for _, f := range msgs {
		switch msg := f().(type) {
		case CopiedMsg:
			m.Update(msg)
		default:
			osc = osc || strings.Contains(fmt.Sprintf("%T", msg), "Clipboard")
		}
	}
	if got != rs[1].ClientID || !osc {
		t.Fatalf("local %q, osc52 %v", got, osc)
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "Client ID copied") {
		t.Fatalf("no status:\n%s", v)
	}
	m.Update(k("down"))
	if v := ansi.Strip(m.View()); strings.Contains(v, "Client ID copied") {
		t.Fatal("the status outlives the next key")
	}
}

func numberRows() []Row {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).Unix()
	return []Row{
		{Name: "Video-Pipeline-Key", ClientID: "kdc_7fQ2mXc9LpR4sT1vW8yZ3a", Perms: model.PermRead, QueryAlloc: 500, QueryUsed: 2, MutationAlloc: 1_234_567, MutationUsed: 999_999, Created: now},
		{Name: "b", ClientID: "kdc_9zY8xW7vU6tS5rQ4pO3nM2", QueryAlloc: 2000, QueryUsed: 734, MutationAlloc: 5, MutationUsed: 3, Created: now - 86400*20, LastUsed: now - 3600},
		{Name: "batch 2026", ClientID: "kdc_1aB2cD3eF4gH5iJ6kL7mN8", QueryAlloc: 9_999_999_999_999, QueryUsed: 12_345, Created: now - 86400*300},
	}
}

// Below 80 columns no number is cut into another: each Query and Mutation
// cell holds the whole value, exact or compact, and every other token with
// a digit is a whole value or the start of a name or Client ID cut with "…".
func TestNoNumberIsCut(t *testing.T) {
	rs := numberRows()
	for _, w := range []int{30, 40, 60, 79, 80, 100, 120, 160, 200} {
		m := New(testCommon())
		m.SetSize(w, 10)
		m.SetSnapshot(NewSnapshotRows(numberRows(), 3, true))
		lines := strings.Split(ansi.Strip(m.View()), "\n")
		for i, r := range rs {
			line := lines[1+i]
			if ansi.StringWidth(line) > w {
				t.Errorf("%d columns: row %d is %d wide", w, i, ansi.StringWidth(line))
			}
			q := []string{format.UsedOf(r.QueryUsed, r.QueryAlloc, false), format.UsedOf(r.QueryUsed, r.QueryAlloc, true)}
			mu := []string{format.UsedOf(r.MutationUsed, r.MutationAlloc, false), format.UsedOf(r.MutationUsed, r.MutationAlloc, true)}
			created := time.Unix(r.Created, 0).UTC()
			allowed := map[string]bool{
				q[0]: true, q[1]: true, mu[0]: true, mu[1]: true,
				created.Format(time.DateOnly): true, created.Format("15:04"): true, "+00:00": true,
				r.ClientID: true, "2026": true, // the name's own digits
			}
			seenQ, seenM := false, false
			for _, tok := range strings.Fields(strings.TrimLeft(line, "▸× ")) {
				if !strings.ContainsAny(tok, "0123456789") {
					continue
				}
				seenQ = seenQ || tok == q[0] || tok == q[1]
				seenM = seenM || tok == mu[0] || tok == mu[1]
				if allowed[tok] || strings.HasSuffix(tok, "h") || strings.HasSuffix(tok, "d") && strings.Contains(line, tok+" ago") {
					continue
				}
				if cut, ok := strings.CutSuffix(tok, "…"); ok && (strings.HasPrefix(r.ClientID, cut) || strings.Contains(r.Name, cut)) {
					continue
				}
				t.Errorf("%d columns: row %d has %q, not a whole value:\n%s", w, i, tok, line)
			}
			if !seenQ || !seenM {
				t.Errorf("%d columns: row %d lacks a quota (%v %v):\n%s", w, i, seenQ, seenM, line)
			}
		}
		footer := lines[len(lines)-1]
		if !strings.HasPrefix(strings.TrimSpace(footer), "1–3 of 3 keys") || strings.Contains(footer, "…") {
			t.Errorf("%d columns: footer %q", w, footer)
		}
	}
}

func TestTooSmall(t *testing.T) {
	m := New(testCommon())
	m.SetSnapshot(NewSnapshotRows(numberRows(), 3, true))
	m.SetSize(20, 10)
	want := fmt.Sprintf("terminal too small (needs %d×%d)", MinWidth, MinHeight+Chrome)
	if v := strings.ReplaceAll(ansi.Strip(m.View()), "\n", " "); !strings.Contains(v, want) {
		t.Fatalf("at 20 columns:\n%s", v)
	}
	m.SetSize(MinWidth, MinHeight-1)
	if v := strings.ReplaceAll(ansi.Strip(m.View()), "\n", " "); !strings.Contains(v, want) {
		t.Fatalf("at %d lines:\n%s", MinHeight-1, v)
	}
	m.SetSize(MinWidth, MinHeight)
	if v := ansi.Strip(m.View()); strings.Contains(v, "too small") || !strings.Contains(v, "Video") {
		t.Fatalf("at the minimum:\n%s", v)
	}
}

// Wide screens give room to what is cut first: the whole Client ID by 100
// columns, last use and longer bars by 120, and the Name never beyond its
// longest value.
func TestWideLayoutGivesRoomToWhatIsCut(t *testing.T) {
	d := NewSnapshotRows(numberRows(), 3, true).widths
	for w := MinWidth; w <= 260; w++ {
		if l := computeLayout(w, d); l.total() > w {
			t.Fatalf("%d columns: layout is %d wide", w, l.total())
		}
	}
	l := computeLayout(100, d)
	if !l.idFull || l.name > d.name {
		t.Errorf("100 columns: %+v", l)
	}
	l = computeLayout(120, d)
	if l.last == 0 || l.bar < 6 || !l.idFull {
		t.Errorf("120 columns: %+v", l)
	}
	l = computeLayout(200, d)
	if l.name != d.name || !l.createdTime || !l.exact {
		t.Errorf("200 columns: name %d, longest %d: %+v", l.name, d.name, l)
	}
}
