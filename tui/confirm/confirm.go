// Package confirm is the dialog every destructive action goes through. The
// focus starts on the safe choice; an optional checkbox carries a choice
// such as "return allocation to the account".
package confirm

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/keydeck/keydeck/tui/common"
	"github.com/keydeck/keydeck/tui/format"
	"github.com/keydeck/keydeck/tui/keys"
)

// ResultMsg is sent when the dialog closes: Confirmed is false for cancel;
// Option is the checkbox's final state.
type ResultMsg struct {
	Confirmed bool
	Option    bool
}

// Spec is what a dialog says.
type Spec struct {
	Title string
	// Body is paragraphs of plain text.
	Body         []string
	ConfirmLabel string // e.g. "Revoke key"
	CancelLabel  string // default "Cancel"
	// OptionLabel, when set, adds a checkbox starting at OptionValue.
	OptionLabel string
	OptionValue bool
}

// KeyMap is the dialog's bindings.
type KeyMap struct {
	Next, Prev, Toggle, Press, Cancel key.Binding
	// Yes and No answer at once, wherever the focus is.
	Yes, No key.Binding
	// Help is the root's, listed so the help bar shows it.
	Help key.Binding
}

// DefaultKeyMap returns the dialog's bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Next:   keys.Next(),
		Prev:   keys.Prev(),
		Toggle: key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "toggle")),
		Press:  keys.Enter("choose"),
		Cancel: key.NewBinding(key.WithKeys("esc", "ctrl+c"), key.WithHelp("esc", "cancel")),
		Yes:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "confirm")),
		No:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n/esc", "cancel")),
		Help:   keys.NewGlobal().Help,
	}
}

// focus targets, in tab order.
const (
	focusOption = iota
	focusCancel
	focusConfirm
)

// Model is one open dialog.
type Model struct {
	common.Intents
	c      *common.Common
	spec   Spec
	option bool
	focus  int

	keys          KeyMap
	width, height int
}

var _ common.Component = (*Model)(nil)

// New opens a dialog with the focus on Cancel.
func New(c *common.Common, spec Spec) *Model {
	if spec.CancelLabel == "" {
		spec.CancelLabel = "Cancel"
	}
	return &Model{c: c, spec: spec, option: spec.OptionValue, focus: focusCancel, keys: DefaultKeyMap(), width: 80, height: 20}
}

// SetSize sets the area the dialog is centred in.
func (m *Model) SetSize(w, h int) { m.width, m.height = w, h }

// Option is the checkbox's state.
func (m *Model) Option() bool { return m.option }

// FocusedConfirm reports whether enter would confirm.
func (m *Model) FocusedConfirm() bool { return m.focus == focusConfirm }

func (m *Model) step(d int) {
	first := focusCancel
	if m.spec.OptionLabel != "" {
		first = focusOption
	}
	n := focusConfirm - first + 1
	m.focus = first + ((m.focus-first+d)%n+n)%n
}

// bindings is the dialog's bindings as they apply now: space toggles only
// with the focus on the checkbox. Help and Update both read them.
func (m *Model) bindings() KeyMap {
	b := m.keys
	b.Toggle.SetEnabled(m.spec.OptionLabel != "" && m.focus == focusOption)
	switch m.focus {
	case focusOption:
		b.Press.SetHelp("enter", "toggle")
	case focusCancel:
		b.Press.SetHelp("enter", "cancel")
	case focusConfirm:
		b.Press.SetHelp("enter", "confirm")
	}
	return b
}

// Update handles the dialog's keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	b := m.bindings()
	switch {
	case key.Matches(k, b.Cancel), key.Matches(k, b.No):
		m.Raise(ResultMsg{Confirmed: false, Option: m.option})
	case key.Matches(k, b.Yes):
		m.Raise(ResultMsg{Confirmed: true, Option: m.option})
	case key.Matches(k, b.Next):
		m.step(1)
	case key.Matches(k, b.Prev):
		m.step(-1)
	case key.Matches(k, b.Toggle):
		m.option = !m.option
	case key.Matches(k, b.Press):
		switch m.focus {
		case focusOption:
			m.option = !m.option
		case focusCancel:
			m.Raise(ResultMsg{Confirmed: false, Option: m.option})
		case focusConfirm:
			m.Raise(ResultMsg{Confirmed: true, Option: m.option})
		}
	}
	return nil
}

// ShortHelp implements help.KeyMap for the current focus.
func (m *Model) ShortHelp() []key.Binding {
	k := m.bindings()
	return []key.Binding{k.Next, k.Press, k.Toggle, k.Yes, k.No, k.Help}
}

// FullHelp implements help.KeyMap for the current focus.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.bindings()
	return [][]key.Binding{{k.Next, k.Prev, k.Press, k.Toggle}, {k.Yes, k.No, k.Cancel}, {k.Help}}
}

// View draws the dialog centred in its area. Whatever the size, the
// buttons stay: they stack when side by side is too wide, and the body is
// shortened (then the title) when the dialog is too tall.
func (m *Model) View() string {
	s := m.c.Styles
	inner := min(64, max(12, m.width-8))
	split := func(t string) []string { return strings.Split(t, "\n") }
	title := split(format.Wrap(m.spec.Title, inner, 0, s.Title))
	var body []string
	for _, p := range m.spec.Body {
		body = append(body, "")
		body = append(body, split(format.Wrap(p, inner, 0, s.Value))...)
	}
	var opt []string
	if m.spec.OptionLabel != "" {
		box := "[ ] "
		if m.option {
			box = "[x] "
		}
		st := s.Checkbox
		pre := "  "
		if m.focus == focusOption {
			st, pre = s.CheckboxFocus, "▸ "
		}
		lines := strings.Split(ansi.Wordwrap(m.spec.OptionLabel, max(6, inner-6), ""), "\n")
		for i, l := range lines {
			if i == 0 {
				opt = append(opt, st.Render(pre+box+l))
			} else {
				opt = append(opt, st.Render("      "+l))
			}
		}
	}
	cancel, confirm := s.Button, s.Button
	cl, ol := "  "+m.spec.CancelLabel+"  ", "  "+m.spec.ConfirmLabel+"  "
	switch m.focus {
	case focusCancel:
		cancel = s.ButtonFocused
		cl = "▸ " + m.spec.CancelLabel + "  "
	case focusConfirm:
		confirm = s.ButtonDanger
		ol = "▸ " + m.spec.ConfirmLabel + "  "
	}
	btns := lipgloss.JoinHorizontal(lipgloss.Top, cancel.Render(cl), "   ", confirm.Render(ol))
	if lipgloss.Width(btns) > inner {
		btns = lipgloss.JoinVertical(lipgloss.Left, cancel.Render(cl), confirm.Render(ol))
	}
	buttons := split(btns)
	var tail []string
	if len(opt) > 0 {
		tail = append(append(tail, ""), opt...)
	}
	tail = append(append(tail, ""), buttons...)

	// Fit the height: 2 lines of border, then the buttons and the option
	// before the title, and the title before the body; on the tightest
	// screens the spacing goes and the option's label is shortened.
	if avail := max(0, m.height-2); len(tail) > avail {
		keep := max(min(1, len(opt)), avail-len(buttons))
		if keep < len(opt) {
			opt = opt[:keep]
			opt[keep-1] = ansi.Truncate(opt[keep-1], inner-1, "") + "…"
		}
		tail = append(opt, buttons...)
	}
	room := max(0, m.height-2) - len(tail)
	if len(title)+len(body) > room {
		keep := max(0, room-len(title))
		if keep < len(body) {
			body = body[:keep]
			if keep > 0 {
				body[keep-1] = s.Muted.Render("…")
			}
		}
		if len(title) > room {
			title = title[:max(0, room)]
		}
	}
	content := strings.Join(append(append(title, body...), tail...), "\n")
	box := s.DialogWarn.Width(inner + 6).Render(content)
	return lipgloss.Place(m.width, max(1, m.height), lipgloss.Center, lipgloss.Center, box)
}
