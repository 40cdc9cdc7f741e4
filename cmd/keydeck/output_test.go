package main

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestTableAlignsByCells: names with wide (CJK) and combining characters
// must not shift the columns after them; text/tabwriter counted runes, so
// "日本語のキー" pushed its Client ID six cells right and "é" (e + U+0301)
// pulled it one cell left.
func TestTableAlignsByCells(t *testing.T) {
	var b strings.Builder
	tb := newTable(&b, "NAME", "CLIENT ID", "STATUS")
	tb.row("日本語のキー", "kdc_one", "active")
	tb.row("e\u0301-combining", "kdc_two", "active")
	tb.row("Plain-Key", "kdc_three", "revoked")
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	col := -1
	for _, l := range lines {
		i := strings.Index(l, "kdc_")
		if strings.HasPrefix(l, "NAME") {
			i = strings.Index(l, "CLIENT ID")
		}
		c := ansi.StringWidth(l[:i])
		if col == -1 {
			col = c
		}
		if c != col {
			t.Fatalf("the second column starts at cell %d on one line and %d on another:\n%s", col, c, b.String())
		}
		if strings.HasSuffix(l, " ") {
			t.Fatalf("trailing space on %q", l)
		}
	}
	if want := ansi.StringWidth("日本語のキー") + 2; col != want {
		t.Fatalf("second column at cell %d, want %d", col, want)
	}
}
