// Package reveal is the one-time secret screen shown after a key is created
// or its secret regenerated. The secret lives only in this model; once the
// user says "I have stored it" the parent drops the model and the secret
// with it.
package reveal

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/tui/common"
	"github.com/keydeck/keydeck/tui/format"
	"github.com/keydeck/keydeck/tui/keys"
)

// Messages the reveal screen sends.
type (
	// DoneMsg: the user has stored the secret; drop this screen.
	DoneMsg struct{ ClientID string }
	// CopiedMsg reports how a copy went. Local is true when the system
	// clipboard took it; Tried is false when there was none to try. OSC 52
	// is always sent as well.
	CopiedMsg struct {
		What  string // "Client Secret" or "Client ID"
		Local bool
		Tried bool
	}
)

// KeyMap is the reveal screen's bindings.
type KeyMap struct {
	CopySecret, CopyID, Next, Prev, Press, Leave key.Binding
	// Help is the root's, listed so the help bar shows it.
	Help key.Binding
}

// DefaultKeyMap returns the reveal screen's bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		CopySecret: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy secret")),
		CopyID:     key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "copy Client ID")),
		Next:       keys.Next(),
		Prev:       keys.Prev(),
		Press:      keys.Enter("choose"),
		Leave:      key.NewBinding(key.WithKeys("esc", "ctrl+c", "q"), key.WithHelp("", "")),
		Help:       keys.NewGlobal().Help,
	}
}

const (
	btnCopySecret = iota
	btnCopyID
	btnStored
	nButtons
)

// Model is the reveal screen.
type Model struct {
	common.Intents
	c           *common.Common
	key         model.Key
	secret      string
	regenerated bool

	focus  int
	status string // what the last copy did
	warn   bool   // the user tried to leave without confirming

	keys          KeyMap
	width, height int
}

var _ common.Component = (*Model)(nil)

// New shows secret for key. regenerated picks the wording. Copies go to
// the terminal with OSC 52 and, when c has one, to the local clipboard.
func New(c *common.Common, k model.Key, secret string, regenerated bool) *Model {
	return &Model{c: c, key: k, secret: secret, regenerated: regenerated, keys: DefaultKeyMap(), width: 80, height: 20}
}

// SetSize sets the area.
func (m *Model) SetSize(w, h int) { m.width, m.height = w, h }

// Key is the key whose secret is shown.
func (m *Model) Key() model.Key { return m.key }

// HasSecret reports whether the model still holds a secret.
func (m *Model) HasSecret() bool { return m.secret != "" }

// Focus is the focused button (0 copy secret, 1 copy Client ID, 2 stored).
func (m *Model) Focus() int { return m.focus }

// Status is the text of the last copy's outcome.
func (m *Model) Status() string { return m.status }

func (m *Model) copy(what, text string) tea.Cmd {
	clip := m.c.Clipboard
	local := func() tea.Msg {
		if clip == nil {
			return CopiedMsg{What: what}
		}
		return CopiedMsg{What: what, Tried: true, Local: clip(text) == nil}
	}
	return tea.Batch(tea.SetClipboard(text), local)
}

// Update handles the screen's keys and copy results.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case CopiedMsg:
		switch {
		case msg.Local:
			m.status = msg.What + " copied to the clipboard (and sent to the terminal with OSC 52)."
		case msg.Tried:
			m.status = msg.What + " sent to your terminal's clipboard with OSC 52; no system clipboard here. If nothing is pasted, select it and copy it by hand."
		default:
			m.status = msg.What + " sent to your terminal's clipboard with OSC 52. If nothing is pasted, your terminal ignores OSC 52: select it and copy it by hand."
		}
		return nil
	case tea.KeyPressMsg:
		m.warn = false
		switch {
		case key.Matches(msg, m.keys.CopySecret):
			m.focus = btnCopySecret
			return m.copy("Client Secret", m.secret)
		case key.Matches(msg, m.keys.CopyID):
			m.focus = btnCopyID
			return m.copy("Client ID", m.key.ClientID)
		case key.Matches(msg, m.keys.Next):
			m.focus = (m.focus + 1) % nButtons
		case key.Matches(msg, m.keys.Prev):
			m.focus = (m.focus + nButtons - 1) % nButtons
		case key.Matches(msg, m.keys.Press):
			switch m.focus {
			case btnCopySecret:
				return m.copy("Client Secret", m.secret)
			case btnCopyID:
				return m.copy("Client ID", m.key.ClientID)
			case btnStored:
				id := m.key.ClientID
				m.secret = ""
				m.Raise(DoneMsg{ClientID: id})
			}
		case key.Matches(msg, m.keys.Leave):
			m.warn = true
			m.focus = btnStored
		}
	}
	return nil
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	return []key.Binding{k.CopySecret, k.CopyID, k.Next, k.Press, k.Help}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	return [][]key.Binding{{k.CopySecret, k.CopyID}, {k.Next, k.Prev, k.Press}, {k.Help}}
}

// View draws the screen.
func (m *Model) View() string {
	s := m.c.Styles
	w := min(m.width, 100)
	var b strings.Builder
	title := "New API key created"
	if m.regenerated {
		title = "New secret generated"
	}
	b.WriteString(s.Title.Render(title+" — ") + s.Account.Render(m.key.Name) + "\n\n")
	const label = 15
	// A value too long for its line goes on the next one, and one too long
	// for any line is wrapped there: never cut, or the secret shown once
	// would be lost.
	line := func(name, value string, vs lipgloss.Style) {
		b.WriteString("  " + s.Label.Render(padRight(name, label)))
		if 2+label+lipgloss.Width(value) <= w {
			b.WriteString(vs.Render(value) + "\n")
			return
		}
		for _, l := range strings.Split(ansi.Hardwrap(value, max(1, w-4), false), "\n") {
			b.WriteString("\n    " + vs.Render(l))
		}
		b.WriteString("\n")
	}
	line("Client ID", m.key.ClientID, s.Value)
	line("Client Secret", m.secret, s.Secret)
	b.WriteString("\n")
	warn := "⚠ This secret is shown only once. Store it now (a secret manager or an environment variable): keydeck keeps only a hash and cannot show it again. If you lose it, regenerate it."
	if m.regenerated {
		warn = "⚠ The previous secret stopped working just now. This new one is shown only once: store it now and update your services. keydeck keeps only a hash and cannot show it again."
	}
	b.WriteString(format.Wrap(warn, w, 2, s.Warn) + "\n\n")
	labels := [nButtons]string{"Copy secret (c)", "Copy Client ID (i)", "I have stored it"}
	btns := make([]string, nButtons)
	for i, l := range labels {
		if i == m.focus {
			btns[i] = s.ButtonFocused.Render("▸ " + l)
		} else {
			btns[i] = s.Button.Render("  " + l)
		}
	}
	row := lipgloss.JoinHorizontal(lipgloss.Top, btns[0], " ", btns[1], " ", btns[2])
	if lipgloss.Width(row)+2 > w {
		row = lipgloss.JoinVertical(lipgloss.Left, btns...)
	}
	b.WriteString(format.Indent(row, 2) + "\n")
	if m.warn {
		b.WriteString("\n" + format.Wrap("The secret will not be shown again. Move to “I have stored it” (tab) and press enter to leave.", w, 2, s.Warn))
	} else if m.status != "" {
		b.WriteString("\n" + format.Wrap(m.status, w, 2, s.Good))
	}
	return b.String()
}

func padRight(s string, n int) string {
	if w := lipgloss.Width(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}
