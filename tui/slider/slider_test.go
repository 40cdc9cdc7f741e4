package slider

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/keydeck/keydeck/tui/styles"
)

func keyPress(k string) tea.KeyPressMsg {
	switch k {
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "shift+right":
		return tea.KeyPressMsg{Code: tea.KeyRight, Mod: tea.ModShift}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	}
	return tea.KeyPressMsg{Code: rune(k[0]), Text: k}
}

func press(m Model, keys ...string) Model {
	for _, k := range keys {
		m, _ = m.Update(keyPress(k))
	}
	return m
}

func TestSteps(t *testing.T) {
	st := styles.New(true, true)
	m := New("Query", 0, 8000, st, st.QueryBar)
	cases := []struct {
		keys []string
		want int64
	}{
		{[]string{"right"}, 100},
		{[]string{"shift+right"}, 1000},
		{[]string{"pgdown", "pgdown"}, 0},
		{[]string{"left"}, 0}, // never below 0
		{[]string{"end", "right"}, 8000},
		{[]string{"1", "2", "3"}, 123},
		{[]string{"backspace"}, 12},
		{[]string{"right"}, 100}, // snaps onto the step grid
		{[]string{"3", "left"}, 0},
		{[]string{"2", "5", "0", "left"}, 200},
	}
	for _, c := range cases {
		m = press(m, c.keys...)
		if m.Value() != c.want {
			t.Fatalf("after %v: %d, want %d", c.keys, m.Value(), c.want)
		}
	}
	if m.Err() != nil {
		t.Fatalf("200 of 8000: %v", m.Err())
	}
	m = press(m, "9", "9", "9", "9", "9")
	if m.Err() == nil || m.Err().Error() != "99,999 is more than the 8,000 available" {
		t.Fatalf("typed over the bound: %v", m.Err())
	}
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "99,999▏ of 8,000 available") || !strings.Contains(view, "✗ 99,999 is more than") {
		t.Fatalf("view:\n%s", view)
	}
}

func TestSmallAndEmptyBounds(t *testing.T) {
	st := styles.New(false, false)
	m := New("Mutation", 0, 5, st, st.MutateBar)
	if m.Step() != 1 || m.BigStep() != 1 {
		t.Fatalf("steps for 5: %d %d", m.Step(), m.BigStep())
	}
	m = New("Mutation", 0, 0, st, st.MutateBar)
	m = press(m, "right", "end")
	if m.Value() != 0 {
		t.Fatalf("bound 0: value %d", m.Value())
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "0 of 0 available") || !strings.Contains(v, "Nothing is unallocated") {
		t.Fatalf("view:\n%s", v)
	}
	// 13 digits at most: MaxQuota fits, nothing overflows
	m = New("Query", 0, 10, st, st.QueryBar)
	for range 20 {
		m = press(m, "9")
	}
	if m.Value() != 9_999_999_999_999 {
		t.Fatalf("typed value %d", m.Value())
	}
}

// Steps are 1, 2 or 5 × 10ⁿ, near 1 % and 10 % of the bound.
func TestRoundSteps(t *testing.T) {
	st := styles.New(true, true)
	for _, c := range []struct{ max, step, big int64 }{
		{6201, 50, 500}, {8990, 100, 1000}, {10_000, 100, 1000}, {2500, 20, 200},
		{150, 1, 20}, {99, 1, 10}, {5, 1, 1}, {1_234_567, 10_000, 100_000},
	} {
		m := New("Q", 0, c.max, st, st.QueryBar)
		if m.Step() != c.step || m.BigStep() != c.big {
			t.Errorf("bound %d: steps %d %d, want %d %d", c.max, m.Step(), m.BigStep(), c.step, c.big)
		}
	}
}

// The bar keeps its width from 0 % to 100 %.
func TestBarWidthIsStable(t *testing.T) {
	st := styles.New(true, true)
	barW := func(m Model) int {
		for _, l := range strings.Split(ansi.Strip(m.View()), "\n") {
			if strings.Contains(l, "available") {
				return strings.Count(l, "█") + strings.Count(l, "░") + strings.Count(l, "▏") +
					strings.Count(l, "▎") + strings.Count(l, "▍") + strings.Count(l, "▌") + strings.Count(l, "▋") + strings.Count(l, "▊") + strings.Count(l, "▉")
			}
		}
		return -1
	}
	m := New("Q", 0, 1_000_000, st, st.QueryBar)
	m.SetSize(60, 10)
	w0 := barW(m)
	m = press(m, "end")
	if w := barW(m); w != w0 || w < 10 {
		t.Fatalf("bar %d cells at 0 %%, %d at 100 %%", w0, w)
	}
}

// Help names both directions of every pair, h/l and -/+ included.
func TestHelpNamesBothDirections(t *testing.T) {
	k := DefaultKeyMap()
	short := k.ShortHelp()[0].Help().Key
	for _, want := range []string{"←", "→", "h", "l", "-", "+"} {
		if !strings.Contains(short, want) {
			t.Errorf("short help %q lacks %q", short, want)
		}
	}
	if k.Dec.Help().Key != "←/h/-" || k.Inc.Help().Key != "→/l/+" {
		t.Errorf("full help: %q %q", k.Dec.Help().Key, k.Inc.Help().Key)
	}
}
