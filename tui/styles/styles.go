// Package styles holds the one Styles struct every screen draws with, built
// from a small semantic theme. Nothing here is package-level mutable state:
// each session builds its own Styles from its own terminal (dark or light
// background, colour or NO_COLOR).
package styles

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
)

// Theme is the handful of semantic colours the UI uses. Each is chosen for
// the terminal's background, so light and dark terminals both read well.
type Theme struct {
	Accent  color.Color // titles, the focused control
	Text    color.Color
	Muted   color.Color // secondary text, labels
	Subtle  color.Color // borders, empty bar cells
	Good    color.Color
	Warn    color.Color
	Bad     color.Color
	Query   color.Color // query quota bars and chart
	Mutate  color.Color // mutation quota bars and chart
	SelBg   color.Color // the selected row's background
	SelText color.Color
}

// DefaultTheme returns the theme for a dark or a light background. The
// colours are ANSI-256 so they degrade well to 16 colours.
func DefaultTheme(isDark bool) Theme {
	ld := lipgloss.LightDark(isDark)
	c := lipgloss.Color
	return Theme{
		Accent:  ld(c("25"), c("75")),
		Text:    ld(c("235"), c("252")),
		Muted:   ld(c("242"), c("246")),
		Subtle:  ld(c("250"), c("239")),
		Good:    ld(c("28"), c("78")),
		Warn:    ld(c("130"), c("214")),
		Bad:     ld(c("160"), c("203")),
		Query:   ld(c("31"), c("44")),
		Mutate:  ld(c("91"), c("177")),
		SelBg:   ld(c("153"), c("24")),
		SelText: ld(c("16"), c("231")),
	}
}

// Styles is every style the screens use. Build it with New; copy it freely.
type Styles struct {
	// NoColor is set when colours are off (NO_COLOR, or a terminal without
	// colour): emphasis then comes from bold, reverse and underline only.
	NoColor bool
	IsDark  bool

	Breadcrumb lipgloss.Style
	Crumb      lipgloss.Style // the last, current crumb
	Account    lipgloss.Style
	Label      lipgloss.Style
	Value      lipgloss.Style
	Muted      lipgloss.Style
	Title      lipgloss.Style
	Hint       lipgloss.Style

	TableHeader lipgloss.Style
	SelectedRow lipgloss.Style
	RevokedRow  lipgloss.Style
	Footer      lipgloss.Style

	StatusError lipgloss.Style
	StatusInfo  lipgloss.Style
	ErrorText   lipgloss.Style
	Good        lipgloss.Style
	Warn        lipgloss.Style
	Bad         lipgloss.Style

	Button        lipgloss.Style
	ButtonFocused lipgloss.Style
	ButtonDanger  lipgloss.Style // a focused destructive button
	Checkbox      lipgloss.Style
	CheckboxFocus lipgloss.Style

	DialogWarn lipgloss.Style
	Secret     lipgloss.Style

	StepDone    lipgloss.Style
	StepCurrent lipgloss.Style
	StepTodo    lipgloss.Style

	QueryBar  lipgloss.Style
	MutateBar lipgloss.Style
	DenyBar   lipgloss.Style
	EmptyBar  lipgloss.Style
	FullBar   lipgloss.Style // an allocation that is used up

	Spinner lipgloss.Style
	Help    help.Styles
	Input   textinput.Styles
}

// New builds the styles for a background and a colour setting.
func New(isDark, noColor bool) Styles {
	t := DefaultTheme(isDark)
	n := lipgloss.NewStyle
	fg := func(c color.Color) lipgloss.Style {
		if noColor {
			return n()
		}
		return n().Foreground(c)
	}
	s := Styles{NoColor: noColor, IsDark: isDark}
	s.Breadcrumb = fg(t.Muted)
	s.Crumb = fg(t.Accent).Bold(true)
	s.Account = fg(t.Text).Bold(true)
	s.Label = fg(t.Muted)
	s.Value = fg(t.Text)
	s.Muted = fg(t.Muted)
	s.Title = fg(t.Accent).Bold(true)
	s.Hint = fg(t.Muted).Italic(true)

	s.TableHeader = fg(t.Muted).Bold(true)
	if noColor {
		s.SelectedRow = n().Reverse(true)
	} else {
		s.SelectedRow = n().Foreground(t.SelText).Background(t.SelBg).Bold(true)
	}
	s.RevokedRow = fg(t.Muted).Faint(true)
	s.Footer = fg(t.Muted)

	s.StatusError = fg(t.Bad).Bold(true)
	s.StatusInfo = fg(t.Good)
	s.ErrorText = fg(t.Bad)
	s.Good = fg(t.Good)
	s.Warn = fg(t.Warn)
	s.Bad = fg(t.Bad)

	s.Button = fg(t.Muted).Padding(0, 1)
	if noColor {
		s.ButtonFocused = n().Reverse(true).Bold(true).Padding(0, 1)
		s.ButtonDanger = s.ButtonFocused
	} else {
		s.ButtonFocused = n().Foreground(t.SelText).Background(t.SelBg).Bold(true).Padding(0, 1)
		s.ButtonDanger = n().Foreground(lipgloss.Color("231")).Background(t.Bad).Bold(true).Padding(0, 1)
	}
	s.Checkbox = fg(t.Text)
	s.CheckboxFocus = fg(t.Accent).Bold(true)

	border := n().Border(lipgloss.RoundedBorder()).Padding(0, 2)
	if !noColor {
		s.DialogWarn = border.BorderForeground(t.Warn)
	} else {
		s.DialogWarn = border
	}
	s.Secret = fg(t.Warn).Bold(true)

	s.StepDone = fg(t.Good)
	s.StepCurrent = fg(t.Accent).Bold(true).Underline(true)
	s.StepTodo = fg(t.Muted)

	s.QueryBar = fg(t.Query)
	s.MutateBar = fg(t.Mutate)
	s.DenyBar = fg(t.Bad)
	s.EmptyBar = fg(t.Subtle)
	s.FullBar = fg(t.Bad)

	s.Spinner = fg(t.Accent)

	s.Help = help.Styles{
		ShortKey:       fg(t.Text).Bold(true),
		ShortDesc:      fg(t.Muted),
		ShortSeparator: fg(t.Subtle),
		Ellipsis:       fg(t.Subtle),
		FullKey:        fg(t.Text).Bold(true),
		FullDesc:       fg(t.Muted),
		FullSeparator:  fg(t.Subtle),
	}

	in := textinput.DefaultStyles(isDark)
	in.Cursor.Blink = false // a steady cursor: no timer, stable frames
	if noColor {
		plain := textinput.StyleState{Text: n(), Placeholder: n().Faint(true), Suggestion: n().Faint(true), Prompt: n()}
		in.Focused, in.Blurred = plain, plain
		in.Cursor.Color = nil
	} else {
		in.Focused.Prompt = fg(t.Accent)
		in.Focused.Placeholder = fg(t.Muted).Italic(true)
		in.Blurred.Placeholder = fg(t.Muted).Italic(true)
		in.Cursor.Color = t.Accent
	}
	s.Input = in
	return s
}
