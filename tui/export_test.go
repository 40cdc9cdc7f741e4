package tui

import (
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/tui/styles"
)

// Accessors only the tests use.

func (m *Model) Account() model.Account { return m.c.Account }
func (m *Model) ErrorText() string      { return m.errText }
func (m *Model) InfoText() string       { return m.info }
func (m *Model) Styles() styles.Styles  { return m.c.Styles }
func (m *Model) Loaded() bool           { return m.list.Snapshot() != nil }
func (m *Model) LoadedAll() bool        { s := m.list.Snapshot(); return s != nil && s.Complete }
func (m *Model) SetStyles(isDark bool)  { m.isDark = isDark; m.restyle() }
func (m *Model) HelpShown() bool        { return m.help.ShowAll }
func (m *Model) Quitting() bool         { return m.quitting }

// Render is the frame as text (what View shows).
func (m *Model) Render() string { return m.render() }
