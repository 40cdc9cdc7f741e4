package tui

import (
	"strings"
	"testing"
)

// The header names the database or server the session works on, cut to
// the room it has.
func TestHeaderNamesTheSource(t *testing.T) {
	for _, tc := range []struct {
		src, want string
		w         int
	}{
		{"~/.local/share/keydeck/keydeck.db", "~/.local/share/keydeck/keydeck.db · account default", 120},
		{"/very/long/path/to/some/folder/of/databases/keydeck.db", "/databases/keydeck.db · account default", 80},
		{"https://keys.example.com", "https://keys.example.com · account default", 100},
	} {
		_, st := openStore(t, nil)
		opt := testOptions(nil)
		opt.Source = tc.src
		m := newTestModel(t, st, opt, tc.w, 24)
		run(t, m, m.Init())
		line := strings.Split(screen(m), "\n")[0]
		if !strings.Contains(line, tc.want) {
			t.Errorf("%dx24 header %q lacks %q", tc.w, line, tc.want)
		}
	}
}
