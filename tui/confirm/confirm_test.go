package confirm

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

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

func newRevoke() *Model {
	return New(&common.Common{Styles: styles.New(true, true)}, Spec{Title: "Revoke?", ConfirmLabel: "Revoke key", OptionLabel: "Return allocation", OptionValue: true})
}

// y and n answer from anywhere; the focus still starts on Cancel.
func TestYesNo(t *testing.T) {
	m := newRevoke()
	if m.FocusedConfirm() {
		t.Fatal("focus starts on confirm")
	}
	m.Update(tea.KeyPressMsg{Code: 'y', Text: "y"})
	if r, ok := m.TakeIntent().(ResultMsg); !ok || !r.Confirmed || !r.Option {
		t.Fatalf("y: %+v", r)
	}
	m = newRevoke()
	m.Update(tea.KeyPressMsg{Code: tea.KeyTab}) // → confirm
	m.Update(tea.KeyPressMsg{Code: 'n', Text: "n"})
	if r, ok := m.TakeIntent().(ResultMsg); !ok || r.Confirmed {
		t.Fatalf("n: %+v", r)
	}
}

// Help lists space only while it toggles: with the focus on the checkbox.
func TestHelpShowsToggleOnlyOnTheCheckbox(t *testing.T) {
	helps := func(m *Model) string {
		var out []string
		for _, b := range m.ShortHelp() {
			if b.Enabled() {
				out = append(out, b.Help().Key+" "+b.Help().Desc)
			}
		}
		for _, col := range m.FullHelp() {
			for _, b := range col {
				if b.Enabled() {
					out = append(out, b.Help().Key+" "+b.Help().Desc)
				}
			}
		}
		return strings.Join(out, ", ")
	}
	m := newRevoke()
	if h := helps(m); strings.Contains(h, "space") || !strings.Contains(h, "enter cancel") {
		t.Fatalf("focus on Cancel: %s", h)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
	if !m.Option() {
		t.Fatal("space off the checkbox changed it")
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}) // → checkbox
	if h := helps(m); !strings.Contains(h, "space toggle") {
		t.Fatalf("focus on the checkbox: %s", h)
	}
	noOpt := New(&common.Common{Styles: styles.New(true, true)}, Spec{Title: "Regenerate?", ConfirmLabel: "Regenerate"})
	for range 3 {
		noOpt.Update(tea.KeyPressMsg{Code: tea.KeyTab})
		if h := helps(noOpt); strings.Contains(h, "space") {
			t.Fatalf("no checkbox: %s", h)
		}
	}
}

// Small screens shorten the body, never the buttons.
func TestButtonsSurviveSmallScreens(t *testing.T) {
	long := strings.Repeat("Client ID kdc_x and its secret stop working immediately and for good. ", 4)
	for _, sz := range [][2]int{{80, 24}, {60, 14}, {40, 12}, {30, 9}, {24, 8}} {
		m := New(&common.Common{Styles: styles.New(true, true)}, Spec{Title: "Revoke “Video-Pipeline-Key”?", Body: []string{long, long},
			ConfirmLabel: "Revoke key", OptionLabel: "Return its unused allocation to the account (480 Query, 1,500 Mutation)", OptionValue: true})
		m.SetSize(sz[0], sz[1])
		v := ansi.Strip(m.View())
		lines := strings.Split(v, "\n")
		if len(lines) > sz[1] {
			t.Errorf("%dx%d: %d lines", sz[0], sz[1], len(lines))
		}
		for _, l := range lines {
			if ansi.StringWidth(l) > sz[0] {
				t.Errorf("%dx%d: line %d wide: %q", sz[0], sz[1], ansi.StringWidth(l), l)
			}
		}
		if !strings.Contains(v, "Cancel") || !strings.Contains(v, "Revoke key") || !strings.Contains(v, "[x]") {
			t.Errorf("%dx%d: buttons or option lost:\n%s", sz[0], sz[1], v)
		}
	}
}
