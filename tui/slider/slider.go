// Package slider is the quota slider of the creation wizard and the edit
// form: a value between 0 and what is unallocated, stepped with the arrow
// keys (shift or page keys step by a tenth), or typed as digits.
package slider

import (
	"fmt"
	"strconv"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/keydeck/keydeck/tui/chart"
	"github.com/keydeck/keydeck/tui/format"
	"github.com/keydeck/keydeck/tui/styles"
)

// KeyMap is the slider's bindings.
type KeyMap struct {
	Dec, Inc          key.Binding
	BigDec, BigInc    key.Binding
	Min, Max          key.Binding
	Digits, Backspace key.Binding
}

// DefaultKeyMap returns the slider's bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Dec:       key.NewBinding(key.WithKeys("left", "h", "-"), key.WithHelp("←/h/-", "less")),
		Inc:       key.NewBinding(key.WithKeys("right", "l", "+"), key.WithHelp("→/l/+", "more")),
		BigDec:    key.NewBinding(key.WithKeys("shift+left", "pgdown", "H"), key.WithHelp("pgdn/H", "less ×10")),
		BigInc:    key.NewBinding(key.WithKeys("shift+right", "pgup", "L"), key.WithHelp("pgup/L", "more ×10")),
		Min:       key.NewBinding(key.WithKeys("home"), key.WithHelp("home/end", "0/all")),
		Max:       key.NewBinding(key.WithKeys("end"), key.WithHelp("end", "all")),
		Digits:    key.NewBinding(key.WithKeys("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("0-9", "type")),
		Backspace: key.NewBinding(key.WithKeys("backspace"), key.WithHelp("⌫", "delete digit")),
	}
}

// ShortHelp implements help.KeyMap: one entry per pair, naming both
// directions, so the short bar fits 80 columns.
func (k KeyMap) ShortHelp() []key.Binding {
	step, big := k.Dec, k.BigDec
	step.SetHelp("←→ hl -+", "step")
	big.SetHelp("pgdn/pgup HL", "×10")
	return []key.Binding{step, big} // digits: in the full help and the hint
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Dec, k.Inc}, {k.BigDec, k.BigInc}, {k.Min, k.Max}, {k.Digits, k.Backspace}}
}

// maxDigits keeps a typed value within model.MaxQuota's 13 digits.
const maxDigits = 13

// Model is one quota slider.
type Model struct {
	Label string
	// Note is shown under the slider (e.g. why a value may be useless).
	Note string

	value  int64
	max    int64
	typing bool
	buf    string

	width  int
	styles styles.Styles
	fill   lipgloss.Style
	keys   KeyMap
}

// New returns a slider at value, bounded by max, drawn in fill.
func New(label string, value, max int64, st styles.Styles, fill lipgloss.Style) Model {
	return Model{Label: label, value: max0(value), max: max0(max), styles: st, fill: fill, keys: DefaultKeyMap(), width: 40}
}

func max0(v int64) int64 { return max(0, v) }

// Value is the current value (possibly above Max when typed).
func (m Model) Value() int64 { return m.value }

// Max is the bound: what is available.
func (m Model) Max() int64 { return m.max }

// SetMax changes the bound (e.g. after the account changed).
func (m *Model) SetMax(v int64) { m.max = max0(v) }

// SetValue sets the value.
func (m *Model) SetValue(v int64) { m.value, m.typing, m.buf = max0(v), false, "" }

// SetStyles replaces the styles (background or colour change).
func (m *Model) SetStyles(st styles.Styles, fill lipgloss.Style) { m.styles, m.fill = st, fill }

// SetSize sets the width the slider may use.
func (m *Model) SetSize(w, _ int) { m.width = w }

// KeyMap returns the bindings, for help.
func (m Model) KeyMap() KeyMap { return m.keys }

// Err explains why the value cannot be used, or nil.
func (m Model) Err() error {
	if m.value > m.max {
		return fmt.Errorf("%s is more than the %s available", format.Int(m.value), format.Int(m.max))
	}
	return nil
}

// Step is what an arrow key moves: about a hundredth of the bound, rounded
// to 1, 2 or 5 × 10ⁿ so values land on numbers people read easily.
func (m Model) Step() int64 { return roundStep(m.max / 100) }

// BigStep is what shift or a page key moves: about a tenth of the bound,
// rounded the same way.
func (m Model) BigStep() int64 { return roundStep(m.max / 10) }

// roundStep rounds x to the nearest 1, 2 or 5 × 10ⁿ (at least 1).
func roundStep(x int64) int64 {
	if x <= 1 {
		return 1
	}
	p := int64(1)
	for p*10 <= x {
		p *= 10
	}
	switch f := float64(x) / float64(p); {
	case f < 1.5:
		return p
	case f < 3.5:
		return 2 * p
	case f < 7.5:
		return 5 * p
	}
	return 10 * p
}

// add moves by d to the next multiple of |d| in its direction, so a value
// typed or set off the grid snaps back onto round numbers.
func (m *Model) add(d int64) {
	m.typing, m.buf = false, ""
	v := m.value
	if d > 0 {
		v = (v/d + 1) * d
	} else {
		s := -d
		v = ((v+s-1)/s - 1) * s
	}
	m.value = min(max(0, v), m.max)
}

// Update handles the slider's keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	switch {
	case key.Matches(k, m.keys.Dec):
		m.add(-m.Step())
	case key.Matches(k, m.keys.Inc):
		m.add(m.Step())
	case key.Matches(k, m.keys.BigDec):
		m.add(-m.BigStep())
	case key.Matches(k, m.keys.BigInc):
		m.add(m.BigStep())
	case key.Matches(k, m.keys.Min):
		m.SetValue(0)
	case key.Matches(k, m.keys.Max):
		m.SetValue(m.max)
	case key.Matches(k, m.keys.Digits):
		if !m.typing {
			m.typing, m.buf = true, ""
		}
		if len(m.buf) < maxDigits {
			m.buf += k.String()
		}
		m.value, _ = strconv.ParseInt(m.buf, 10, 64)
	case key.Matches(k, m.keys.Backspace):
		if !m.typing {
			m.typing, m.buf = true, strconv.FormatInt(m.value, 10)
		}
		if len(m.buf) > 0 {
			m.buf = m.buf[:len(m.buf)-1]
		}
		m.value, _ = strconv.ParseInt(m.buf, 10, 64)
	}
	return m, nil
}

// View draws the label, the bar with "n of m available", the step hint and
// any error.
func (m Model) View() string {
	s := m.styles
	num := format.Int(m.value)
	if m.typing {
		num += "▏"
	}
	avail := fmt.Sprintf("%s of %s available", num, format.Int(m.max))
	// The bar's width comes from the widest text the value can have (the
	// bound, plus the typing cursor), so it does not shrink as the value grows.
	widest := fmt.Sprintf("%s▏ of %s available", format.Int(m.max), format.Int(m.max))
	barW := max(10, min(50, m.width-lipgloss.Width(widest)-3))
	bar := chart.Bar(m.value, m.max, barW, m.fill, s.EmptyBar, s.FullBar)
	if m.max == 0 {
		bar = chart.Bar(0, 0, barW, m.fill, s.EmptyBar, s.FullBar)
	}
	out := s.Title.Render(m.Label) + "\n\n" +
		"  " + bar + "  " + s.Value.Bold(true).Render(avail) + "\n"
	hint := fmt.Sprintf("←→ h/l -/+ ±%s · shift+←→ pgup/pgdn H/L ±%s · home 0 · end all · 0-9 type",
		format.Int(m.Step()), format.Int(m.BigStep()))
	out += format.Wrap(hint, m.width, 2, s.Hint)
	if m.max == 0 {
		out += "\n" + format.Wrap("Nothing is unallocated: raise the account total or lower other keys' allocations.", m.width, 2, s.Warn)
	}
	if err := m.Err(); err != nil {
		out += "\n" + format.Wrap("✗ "+err.Error(), m.width, 2, s.ErrorText)
	} else if m.Note != "" {
		out += "\n" + format.Wrap(m.Note, m.width, 2, s.Muted)
	}
	return out
}
