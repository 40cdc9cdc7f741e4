// Package tui is keydeck's terminal UI: the Settings › API Access › API Keys
// screen. The root Model routes keys to one screen at a time (the key list,
// details, the creation wizard, the one-time reveal, a confirm dialog), runs
// every store call in a tea.Cmd, and draws the header, status line and help
// around the screen.
//
// A Model holds everything of one session (store, styles, sizes); there is
// no package-level mutable state, so one process can serve many SSH
// sessions, each with its own Model and tea.Program.
package tui

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/atotto/clipboard"
	"github.com/charmbracelet/colorprofile"

	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/tui/common"
)

// ClipboardMode says how "copy" reaches the user's clipboard.
type ClipboardMode int

const (
	// ClipboardLocal writes the local system clipboard (atotto/clipboard)
	// and also sends OSC 52 to the terminal. The default.
	ClipboardLocal ClipboardMode = iota
	// ClipboardOSC52 only sends OSC 52 to the user's terminal: for SSH
	// sessions, which must never touch the server's clipboard.
	ClipboardOSC52
)

// DefaultRefresh is how often the list reloads by itself.
const DefaultRefresh = 3 * time.Second

// Options configure one TUI session.
type Options struct {
	// Clipboard picks local+OSC 52 (default) or OSC 52 only.
	Clipboard ClipboardMode
	// Refresh is the auto-refresh interval: 0 means DefaultRefresh, a
	// negative value turns it off. A slow store stretches it (never more
	// often than every ten times the last full load took, so
	// 100,000 keys do not keep a core busy).
	Refresh time.Duration
	// Environ is the session's environment (nil: this process's). NO_COLOR
	// in it turns colours off.
	Environ []string
	// Location shows times (nil: time.Local). Usage days stay UTC.
	Location *time.Location
	// Now is the clock for relative times (nil: time.Now).
	Now func() time.Time
	// PageSize is how many keys one store call reads (0: storage.MaxLimit).
	PageSize int
	// WriteClipboard replaces the local clipboard writer (nil:
	// atotto/clipboard). Ignored with ClipboardOSC52.
	WriteClipboard func(string) error
	// Source names what the session works on, for the header: the
	// database file ("~/…" for the home folder) or the server's URL,
	// without user info. Empty shows nothing.
	Source string
	// Mouse turns on mouse reporting (cell motion): the wheel scrolls the
	// list and the details, a click selects a row and a click on the
	// selected row opens it. Off by default: while the terminal reports
	// the mouse, it cannot select text with it. It is off on the reveal
	// screen in any case, so the secret can always be selected.
	Mouse bool
}

func (o Options) withDefaults() Options {
	if o.Refresh == 0 {
		o.Refresh = DefaultRefresh
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PageSize <= 0 {
		o.PageSize = storage.MaxLimit
	}
	if o.Environ == nil {
		o.Environ = os.Environ()
	}
	return o
}

// NoColor reports whether the environment asks for no colour (NO_COLOR set
// to anything non-empty, as no-color.org says).
func NoColor(environ []string) bool {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "NO_COLOR="); ok && v != "" {
			return true
		}
	}
	return false
}

// ProgramOptions are the tea.Program options a session needs besides input
// and output: with NO_COLOR the colour profile is forced to ASCII (bold and
// reverse stay, colours go).
func ProgramOptions(opt Options) []tea.ProgramOption {
	opt = opt.withDefaults()
	opts := []tea.ProgramOption{tea.WithEnvironment(opt.Environ)}
	if NoColor(opt.Environ) {
		opts = append(opts, tea.WithColorProfile(colorprofile.ASCII))
	}
	return opts
}

// Run runs the TUI on the process's terminal until the user quits or ctx
// ends.
func Run(ctx context.Context, st storage.Store, opt Options, extra ...tea.ProgramOption) error {
	m := New(ctx, st, opt)
	opts := append(ProgramOptions(opt), tea.WithContext(ctx))
	p := tea.NewProgram(m, append(opts, extra...)...)
	_, err := p.Run()
	if err != nil && ctx.Err() != nil && errors.Is(err, tea.ErrProgramKilled) {
		return nil
	}
	return err
}

// localClipboard writes the system clipboard, giving up after a while (a
// clipboard helper waiting for a display must not hang the copy).
func localClipboard(write func(string) error) common.Clipboard {
	if write == nil {
		if clipboard.Unsupported {
			return func(string) error { return errors.New("no system clipboard") }
		}
		write = clipboard.WriteAll
	}
	return func(text string) error {
		done := make(chan error, 1)
		go func() { done <- write(text) }()
		select {
		case err := <-done:
			return err
		case <-time.After(2 * time.Second):
			return errors.New("the system clipboard did not answer")
		}
	}
}
