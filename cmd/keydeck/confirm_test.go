package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestConfirmOnATerminal answers the [y/N] question on a real terminal:
// "n" and end of input cancel (exit status 1), Ctrl-C (the context ending)
// is an interrupt, exit status 130 as the README's table says, like Ctrl-C
// at a secret read from stdin.
func TestConfirmOnATerminal(t *testing.T) {
	for _, c := range []struct {
		name  string
		input func(ptmx io.Writer, cancel func())
		code  int
		msg   string
	}{
		{"no", func(w io.Writer, _ func()) { io.WriteString(w, "n\n") }, exitError, "cancelled; nothing was changed"},
		{"yes", func(w io.Writer, _ func()) { io.WriteString(w, "y\n") }, exitOK, ""},
		{"ctrl-c", func(_ io.Writer, cancel func()) { time.AfterFunc(50*time.Millisecond, cancel) }, 130, "interrupted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Skipf("no pseudo-terminal: %v", err)
			}
			defer ptmx.Close()
			defer tty.Close()
			go io.Copy(io.Discard, ptmx) // the echo
			var stderr strings.Builder
			a := newApp(tty, io.Discard, &stderr, func(string) string { return "" })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c.input(ptmx, cancel)
			code := a.report(a.confirm(ctx, false, "revoke", "Revoke it?"))
			if code != c.code || !strings.Contains(stderr.String(), c.msg) {
				t.Fatalf("exit status %d, want %d; stderr %q", code, c.code, stderr.String())
			}
		})
	}
}
