package wizard

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/tui/common"
	"github.com/keydeck/keydeck/tui/styles"
)

func k(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	}
	return tea.KeyPressMsg{Code: rune(s[0]), Text: s}
}

// step sends keys, running the name check command synchronously.
func step(m *Model, keys ...string) *Model {
	for _, s := range keys {
		cmd := m.Update(k(s))
		for cmd != nil {
			msg := cmd()
			if _, ok := msg.(nameCheckedMsg); !ok {
				break
			}
			cmd = m.Update(msg)
		}
	}
	return m
}

var acc = model.Account{Name: "default", QueryTotal: 1000, MutationTotal: 100, QueryHeld: 600, MutationHeld: 50}

func testCommon() *common.Common {
	return &common.Common{Styles: styles.New(true, true), Account: acc, HaveAccount: true}
}

// editing opens the edit form on k, loaded at once.
func editing(k model.Key) *Model {
	m := NewEdit(testCommon(), k.ClientID, nil)
	m.SetKey(k)
	return m
}

func TestEditBoundsAndChanges(t *testing.T) {
	key := model.Key{Name: "K", ClientID: "kdc_x", Permissions: model.PermRead, QueryAlloc: 200, QueryUsed: 250, MutationAlloc: 10, Status: model.StatusActive}
	m := editing(key)
	// what is free (400) plus what this key holds (max(200, 250))
	if m.query.Max() != 650 || m.mutation.Max() != 60 {
		t.Fatalf("bounds %d/%d, want 650/60", m.query.Max(), m.mutation.Max())
	}
	m = step(m, "enter", "enter", "enter", "enter")
	if m.Step() != StepReview {
		t.Fatalf("step %v", m.Step())
	}
	m = step(m, "enter")
	if _, ok := m.TakeIntent().(CancelMsg); !ok {
		t.Fatal("saving an unchanged key should just close")
	}
	m = editing(key)
	m = step(m, "X", "enter", "enter", "enter", "enter", "enter")
	sub, ok := m.TakeIntent().(SubmitMsg)
	if !ok || sub.Edit == nil || sub.Edit.Name == nil || *sub.Edit.Name != "KX" || sub.Edit.Permissions != nil || sub.Edit.QueryAlloc != nil {
		t.Fatalf("edit %+v", sub)
	}
}

func TestKeysTypedDuringTheNameCheckAreKept(t *testing.T) {
	calls := 0
	check := func(string) error { calls++; return nil }
	m := New(testCommon(), check)
	for _, r := range "Fast" {
		m.Update(k(string(r)))
	}
	cmd := m.Update(k("enter")) // check starts
	m.Update(k("down"))         // typed ahead
	m.Update(k("space"))
	m.Update(cmd())
	if calls != 1 || m.Step() != StepPermissions {
		t.Fatalf("calls %d step %v", calls, m.Step())
	}
	if m.Permissions() != model.PermRead|model.PermWrite {
		t.Fatalf("typed-ahead keys lost: %v", m.Permissions())
	}
	if m.Name() != "Fast" {
		t.Fatalf("name %q", m.Name())
	}
}

func TestDefaultsFollowPermissions(t *testing.T) {
	m := New(testCommon(), nil)
	m = step(m, "a", "enter", "enter") // read only
	if m.Query() != 40 {
		t.Fatalf("query default %d, want a tenth of 400", m.Query())
	}
	m = step(m, "enter")
	if m.Mutation() != 0 {
		t.Fatalf("mutation default %d for a read-only key, want 0", m.Mutation())
	}
}

// TestReviewCountsWhatAnEditedKeyHasUsed: lowering an allocation below what
// the key has used this period leaves the key holding what it used, so the
// review must not promise that much more is unallocated, and says the key is
// exhausted until the period resets.
func TestReviewCountsWhatAnEditedKeyHasUsed(t *testing.T) {
	key := model.Key{Name: "K", ClientID: "kdc_x", Permissions: model.PermRead, QueryAlloc: 200, QueryUsed: 250, MutationAlloc: 10, Status: model.StatusActive}
	m := editing(key)
	m.SetSize(120, 30)
	m = step(m, "enter", "enter", "0", "enter", "enter")
	if m.Step() != StepReview || m.Query() != 0 {
		t.Fatalf("step %v query %d", m.Step(), m.Query())
	}
	v := m.View()
	// 650 (400 free + 250 held) minus the 250 it keeps holding; 60 minus 10.
	if !strings.Contains(v, "400 Query and 50 Mutation left unallocated afterwards") {
		t.Fatalf("review:\n%s", v)
	}
	if !strings.Contains(v, "Query 0 is below the 250 it has used this period") || strings.Contains(v, "Mutation 10 is below") {
		t.Fatalf("review lacks the exhausted note, or has one too many:\n%s", v)
	}
}

// TestKeysTypedWhileTheEditedKeyLoadsAreKept: the edit form opens before
// its key is read; what is typed meanwhile applies once it is in.
func TestKeysTypedWhileTheEditedKeyLoadsAreKept(t *testing.T) {
	key := model.Key{Name: "K", ClientID: "kdc_x", Permissions: model.PermRead, QueryAlloc: 200, MutationAlloc: 10, Status: model.StatusActive}
	m := NewEdit(testCommon(), key.ClientID, nil)
	if !m.Loading() || !strings.Contains(m.View(), "loading the key") {
		t.Fatal("the form does not say it is loading")
	}
	step(m, "X", "enter", "down", "space")
	if m.Step() != StepName || m.Name() != "" {
		t.Fatal("keys acted before the key was in")
	}
	m.SetKey(key)
	if m.Name() != "KX" || m.Step() != StepPermissions || m.Permissions() != model.PermRead|model.PermWrite {
		t.Fatalf("after the load: name %q step %v perms %v", m.Name(), m.Step(), m.Permissions())
	}
}

func TestDigitsTogglePermissions(t *testing.T) {
	m := step(New(testCommon(), nil), "a", "enter", "2", "3", "1")
	if m.Permissions() != model.PermWrite|model.PermDelete {
		t.Fatalf("1 2 3: %v", m.Permissions())
	}
}

// Help names both j and k where they move, and h/l, -/+ on the sliders.
func TestHelpNamesBothDirections(t *testing.T) {
	m := step(New(testCommon(), nil), "a", "enter")
	if m.Step() != StepPermissions {
		t.Fatalf("step %v", m.Step())
	}
	if h := m.ShortHelp()[0].Help().Key; h != "↑/↓ j/k" {
		t.Fatalf("permissions: %q", h)
	}
	m = step(m, "enter")
	if h := m.ShortHelp()[0].Help().Key; !strings.Contains(h, "hl") || !strings.Contains(h, "-+") {
		t.Fatalf("slider: %q", h)
	}
}

// Another session took the quota: the store refuses the create, the reload
// lowers the slider's bound, and the step says so once, not twice.
func TestTakenQuotaIsOneMessage(t *testing.T) {
	c := testCommon()
	m := New(c, nil)
	m.SetSize(80, 20)
	step(m, "enter", "enter") // the default name, the default permissions
	for range 10 {
		m.Update(tea.KeyPressMsg{Code: tea.KeyPgUp})
	}
	want := m.Query()
	if want == 0 {
		t.Fatal("the slider did not move")
	}
	m.SetSubmitError(&model.AllocationError{Kind: model.KindQuery, Requested: want, Available: 10})
	c.Account.QueryHeld = c.Account.QueryTotal - 10
	m.AccountChanged()
	if n := strings.Count(m.View(), "✗"); n != 1 {
		t.Fatalf("%d error marks, want 1:\n%s", n, m.View())
	}
}
