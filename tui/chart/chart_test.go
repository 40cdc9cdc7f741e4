package chart

import (
	"testing"

	"charm.land/lipgloss/v2"
)

func TestBar(t *testing.T) {
	p := lipgloss.NewStyle()
	cases := []struct {
		used, total int64
		width       int
		want        string
	}{
		{0, 100, 4, "░░░░"},
		{50, 100, 4, "██░░"},
		{100, 100, 4, "████"},
		{150, 100, 4, "████"},
		{1, 1000, 4, "▏░░░"},
		{0, 0, 3, "░░░"},
		{5, 0, 3, "███"},
		{30, 100, 4, "█▏░░"},
	}
	for _, c := range cases {
		if got := Bar(c.used, c.total, c.width, p, p, p); got != c.want {
			t.Errorf("Bar(%d,%d,%d) = %q, want %q", c.used, c.total, c.width, got, c.want)
		}
		if w := lipgloss.Width(Bar(c.used, c.total, c.width, p, p, p)); w != c.width {
			t.Errorf("Bar width %d, want %d", w, c.width)
		}
	}
}

func TestColumns(t *testing.T) {
	got := Columns([]int64{0, 1, 8, 16}, 16, 2, 1)
	want := []string{"   █", " ▁██"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Columns = %q, want %q", got, want)
	}
	// a tiny value next to a huge one still shows
	got = Columns([]int64{1, 1_000_000}, 0, 1, 2)
	if got[0] != "▁▁██" {
		t.Errorf("Columns small = %q", got[0])
	}
}
