// Package common is what the TUI's screens share: the Component interface
// every screen implements, the session state they all read (Common, one per
// session, shared by pointer), and Intents, the one way a screen asks the
// root for something (open another screen, write to the store).
//
// Modelled on soft-serve's pkg/ui/common (Component, Common).
package common

import (
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/tui/styles"
)

// Clipboard writes text to the local system clipboard. Nil means there is
// none to use (over SSH): only OSC 52 is sent.
type Clipboard func(text string) error

// Common is the state of one session that every screen reads. The root owns
// it and hands the same pointer to each screen, so restyling or a new
// account is one assignment; the root then calls SetSize on the screens
// that are open, for those that keep styled content.
type Common struct {
	Styles styles.Styles
	// Location shows times; Now is the clock for relative times.
	Location *time.Location
	Now      func() time.Time
	// Clipboard is the local clipboard writer, nil for OSC 52 only.
	Clipboard Clipboard
	// Account is the session's account; HaveAccount is false until it has
	// been read once.
	Account     model.Account
	HaveAccount bool
}

// Component is one screen of the TUI: it draws the body of the window
// between header and help, takes the messages the root routes to it and
// offers its bindings to the help bar. Only one is active at a time.
type Component interface {
	// Update handles a message sent to the screen; it may Raise an intent.
	Update(msg tea.Msg) tea.Cmd
	// View draws the screen's area.
	View() string
	help.KeyMap
	// SetSize sets the screen's area. The root also calls it after the
	// shared styles changed, so screens that cache styled content (text
	// fields, rendered viewports) redo it here.
	SetSize(width, height int)
	// TakeIntent returns the intent the last Update raised, once (see
	// Intents).
	TakeIntent() tea.Msg
}

// TextInput is implemented by screens that sometimes take text (a filter, a
// name field). While InTextField is true the root leaves every key, q and ?
// included, to the screen.
type TextInput interface {
	InTextField() bool
}

// InTextField reports whether c is taking text now.
func InTextField(c Component) bool {
	t, ok := c.(TextInput)
	return ok && t.InTextField()
}

// Leftovers is implemented by screens that hold keys typed ahead while they
// wait (for the store, say) and replay them later. When a replayed key
// raises an intent, the keys queued after it are not the screen's any more:
// the root takes them right after handling the intent and hands them on as
// if just typed, so they reach the screen the intent opened.
type Leftovers interface {
	TakeLeftovers() []tea.Msg
}

// TakeLeftovers returns c's leftover keys (see Leftovers), if it has any.
func TakeLeftovers(c Component) []tea.Msg {
	if l, ok := c.(Leftovers); ok {
		return l.TakeLeftovers()
	}
	return nil
}

// Intents is embedded by every screen to ask the root for something: open
// the details, close the dialog, write to the store. Update calls Raise
// with a message the screen's package declares; the root calls TakeIntent
// right after Update returns and handles the intent synchronously, before
// the next message. It is deliberately not a tea.Cmd: keys the user typed
// ahead are already queued behind the one that raised the intent, and they
// must reach the screen the intent opens, not the one it closes.
type Intents struct {
	intent tea.Msg
}

// Raise records what the screen asks of the root; a later Raise in the same
// Update replaces it.
func (i *Intents) Raise(msg tea.Msg) { i.intent = msg }

// Raised reports whether an intent is waiting to be taken.
func (i *Intents) Raised() bool { return i.intent != nil }

// TakeIntent returns the raised intent, or nil, and forgets it.
func (i *Intents) TakeIntent() tea.Msg {
	in := i.intent
	i.intent = nil
	return in
}

// CopiedText says where a copied Client ID went: the system clipboard
// (local), or only the terminal's through OSC 52, which is always sent.
func CopiedText(local, tried bool) string {
	switch {
	case local:
		return "Client ID copied"
	case tried:
		return "Client ID sent with OSC 52 (no system clipboard)"
	}
	return "Client ID sent to the terminal's clipboard (OSC 52)"
}

// CopyClientID copies id with OSC 52 and, when there is one, the local
// clipboard; done reports the outcome as the caller's message.
func CopyClientID(clip Clipboard, id string, done func(local, tried bool) tea.Msg) tea.Cmd {
	local := func() tea.Msg {
		if clip == nil {
			return done(false, false)
		}
		return done(clip(id) == nil, true)
	}
	return tea.Batch(tea.SetClipboard(id), local)
}
