package confirm

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/keydeck/keydeck/tui/styles"
)

func TestFocusStartsSafeAndOptionToggles(t *testing.T) {
	m := New(Spec{Title: "Revoke?", ConfirmLabel: "Revoke key", OptionLabel: "Return allocation", OptionValue: true}, styles.New(true, true))
	enter := tea.KeyPressMsg{Code: tea.KeyEnter}
	tab := tea.KeyPressMsg{Code: tea.KeyTab}
	m, _ = m.Update(enter)
	if r, ok := m.TakeIntent().(ResultMsg); !ok || r.Confirmed {
		t.Fatal("enter at first must cancel")
	}
	m = New(Spec{Title: "Revoke?", ConfirmLabel: "Revoke key", OptionLabel: "Return allocation", OptionValue: true}, styles.New(true, true))
	m, _ = m.Update(tab)                                            // → confirm
	m, _ = m.Update(tab)                                            // → option
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}) // untick
	m, _ = m.Update(tab)
	m, _ = m.Update(tab)
	m, _ = m.Update(enter)
	r, ok := m.TakeIntent().(ResultMsg)
	if !ok || !r.Confirmed || r.Option {
		t.Fatalf("result %+v", r)
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
	if r, ok := m.TakeIntent().(ResultMsg); !ok || r.Confirmed {
		t.Fatal("esc must cancel")
	}
}
