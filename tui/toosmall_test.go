package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/keydeck/keydeck/tui/keylist"
)

// Below the smallest size the list serves, every screen asks for a larger
// terminal instead of drawing a cut form or dialog; at that size they draw.
func TestEveryScreenSaysTooSmall(t *testing.T) {
	w, h := keylist.MinWidth, keylist.MinHeight+keylist.Chrome
	want := fmt.Sprintf("terminal too small (needs %d×%d)", w, h)
	for _, keys := range [][]string{nil, {"n"}, {"enter"}, {"x"}} {
		m := fixtureModel(t, 80, 24)
		press(t, m, keys...)
		for _, size := range [][2]int{{w - 1, h}, {w, h - 1}, {20, 5}} {
			m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			if got := strings.Join(strings.Fields(m.Render()), " "); !strings.Contains(got, want) {
				t.Errorf("after %q at %dx%d: %q, want %q", keys, size[0], size[1], got, want)
			}
		}
		m.Update(tea.WindowSizeMsg{Width: w, Height: h})
		if strings.Contains(m.Render(), "too small") {
			t.Errorf("after %q at %dx%d: still too small", keys, w, h)
		}
	}
}
