package confirm

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/keydeck/keydeck/tui/common"
	"github.com/keydeck/keydeck/tui/styles"
)

func TestFocusStartsSafeAndOptionToggles(t *testing.T) {
	m := New(&common.Common{Styles: styles.New(true, true)}, Spec{Title: "Revoke?", ConfirmLabel: "Revoke key", OptionLabel: "Return allocation", OptionValue: true})
	enter := tea.KeyPressMsg{Code: tea.KeyEnter}
	tab := tea.KeyPressMsg{Code: tea.KeyTab}
	m.Update(enter)
	if r, ok := m.TakeIntent().(ResultMsg); !ok || r.Confirmed {
		t.Fatal("enter at first must cancel")
	}
	m = New(&common.Common{Styles: styles.New(true, true)}, Spec{Title: "Revoke?", ConfirmLabel: "Revoke key", OptionLabel: "Return allocation", OptionValue: true})
	m.Update(tab)                                            // → confirm
	m.Update(tab)                                            // → option
	m.Update(tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}) // untick
	m.Update(tab)
	m.Update(tab)
	m.Update(enter)
	r, ok := m.TakeIntent().(ResultMsg)
	if !ok || !r.Confirmed || r.Option {
		t.Fatalf("result %+v", r)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
	if r, ok := m.TakeIntent().(ResultMsg); !ok || r.Confirmed {
		t.Fatal("esc must cancel")
	}
}
