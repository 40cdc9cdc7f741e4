// Package chart draws the small graphics of the key screens: quota bars and
// column charts of daily usage. Glyphs differ between filled and empty
// cells, so they read without colour too.
package chart

import (
	"strings"

	"charm.land/lipgloss/v2"
)

var hblocks = []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// Bar draws used of total in width cells: filled cells in fill, the rest as
// light shade in empty. A used-up allocation (used ≥ total, total > 0 or
// used > 0 with total 0) is drawn in full.
func Bar(used, total int64, width int, fill, empty, full lipgloss.Style) string {
	if width <= 0 {
		return ""
	}
	if total <= 0 {
		if used > 0 {
			return full.Render(strings.Repeat("█", width))
		}
		return empty.Render(strings.Repeat("░", width))
	}
	if used >= total {
		return full.Render(strings.Repeat("█", width))
	}
	eighths := int(used * int64(width) * 8 / total)
	if used > 0 && eighths == 0 {
		eighths = 1 // anything used shows
	}
	whole, part := eighths/8, eighths%8
	var b strings.Builder
	b.WriteString(strings.Repeat("█", whole))
	n := whole
	if part > 0 {
		b.WriteString(hblocks[part])
		n++
	}
	return fill.Render(b.String()) + empty.Render(strings.Repeat("░", width-n))
}

var vblocks = []rune(" ▁▂▃▄▅▆▇█")

// Columns draws values as a column chart of height rows, each value colw
// cells wide, scaled to max (the largest value when max ≤ 0). A non-zero
// value is never drawn empty. Lines are returned top first, unstyled.
func Columns(values []int64, max int64, height, colw int) []string {
	if height < 1 {
		height = 1
	}
	if colw < 1 {
		colw = 1
	}
	if max <= 0 {
		for _, v := range values {
			if v > max {
				max = v
			}
		}
	}
	lines := make([]strings.Builder, height)
	for _, v := range values {
		levels := 0 // in eighths of a row, over all rows
		if max > 0 && v > 0 {
			levels = int(v * int64(height*8) / max)
			if levels == 0 {
				levels = 1
			}
		}
		for row := 0; row < height; row++ {
			// row 0 is the top line
			fromBottom := height - 1 - row
			cell := levels - fromBottom*8
			switch {
			case cell <= 0:
				cell = 0
			case cell > 8:
				cell = 8
			}
			lines[row].WriteString(strings.Repeat(string(vblocks[cell]), colw))
		}
	}
	out := make([]string, height)
	for i := range lines {
		out[i] = lines[i].String()
	}
	return out
}
