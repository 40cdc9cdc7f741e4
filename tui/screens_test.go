package tui

import (
	"github.com/keydeck/keydeck/tui/confirm"
	"github.com/keydeck/keydeck/tui/detail"
	"github.com/keydeck/keydeck/tui/keylist"
	"github.com/keydeck/keydeck/tui/reveal"
	"github.com/keydeck/keydeck/tui/wizard"
)

// Screen names the active screen, for test assertions and messages.
type Screen int

const (
	ScreenList Screen = iota
	ScreenDetail
	ScreenWizard
	ScreenReveal
	ScreenConfirm
)

func (s Screen) String() string {
	return [...]string{"list", "detail", "wizard", "reveal", "confirm"}[s]
}

// Screen is the screen shown now.
func (m *Model) Screen() Screen {
	switch m.active().(type) {
	case *detail.Model:
		return ScreenDetail
	case *wizard.Model:
		return ScreenWizard
	case *reveal.Model:
		return ScreenReveal
	case *confirm.Model:
		return ScreenConfirm
	}
	return ScreenList
}

// List, Detail, Wizard, Reveal and Confirm are the open screens; a screen
// that is not open is returned empty (a closed reveal holds no secret).
func (m *Model) List() *keylist.Model { return m.list }

func (m *Model) Detail() *detail.Model {
	if m.detail == nil {
		return &detail.Model{}
	}
	return m.detail
}

func (m *Model) Wizard() *wizard.Model   { return dialogOf[wizard.Model](m) }
func (m *Model) Reveal() *reveal.Model   { return dialogOf[reveal.Model](m) }
func (m *Model) Confirm() *confirm.Model { return dialogOf[confirm.Model](m) }

func dialogOf[T any](m *Model) *T {
	if d, ok := any(m.dialog).(*T); ok {
		return d
	}
	return new(T)
}
