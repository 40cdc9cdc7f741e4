// Package keys declares the key bindings the screens share, once, with their
// help text. Screens build their own KeyMaps from these and from their own
// bindings.
package keys

import "charm.land/bubbles/v2/key"

// Global is the set of bindings that mean the same on every screen that
// offers them.
type Global struct {
	Quit    key.Binding
	Help    key.Binding
	Back    key.Binding
	Refresh key.Binding
	Dismiss key.Binding
}

// NewGlobal returns the shared bindings.
func NewGlobal() Global {
	return Global{
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		Dismiss: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "dismiss error")),
	}
}

// Edit, Regenerate and Revoke act on a key, from the list as from its
// details: the same keys and help on both screens.
func Edit() key.Binding {
	return key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit"))
}

func Regenerate() key.Binding {
	return key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "regenerate secret"))
}

func Revoke() key.Binding {
	return key.NewBinding(key.WithKeys("x", "delete"), key.WithHelp("x", "revoke"))
}

// Up and the rest are the movement bindings lists and forms share.
func Up() key.Binding {
	return key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up"))
}

func Down() key.Binding {
	return key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down"))
}

func PageUp() key.Binding {
	return key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up"))
}

func PageDown() key.Binding {
	return key.NewBinding(key.WithKeys("pgdown", "ctrl+f", "space"), key.WithHelp("pgdn", "page down"))
}

func Home() key.Binding {
	return key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first"))
}

func End() key.Binding {
	return key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last"))
}

func Next() key.Binding {
	return key.NewBinding(key.WithKeys("tab", "right", "l"), key.WithHelp("tab/→", "next"))
}

func Prev() key.Binding {
	return key.NewBinding(key.WithKeys("shift+tab", "left", "h"), key.WithHelp("shift+tab/←", "previous"))
}

func Enter(desc string) key.Binding {
	return key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", desc))
}
