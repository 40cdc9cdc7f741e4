package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/tui"
)

// errNoTerminal is returned when keydeck runs without a command but not on
// a terminal (a pipe, a script): the TUI cannot draw there.
var errNoTerminal = errors.New("the terminal UI needs a terminal; in scripts use `keydeck keys list` and the other commands")

// tuiStreams returns the terminal the TUI draws on, or errNoTerminal. It
// is checked before the store is opened, so a run from a pipe creates no
// database and reads no token from stdin.
func tuiStreams(cmd *cobra.Command) (in, out *os.File, err error) {
	in, inOK := cmd.InOrStdin().(*os.File)
	out, outOK := cmd.OutOrStdout().(*os.File)
	if !inOK || !outOK || !term.IsTerminal(in.Fd()) || !term.IsTerminal(out.Fd()) {
		return nil, nil, errNoTerminal
	}
	return in, out, nil
}

// runTUI opens the API Keys screen on st (local or remote, already open);
// opt.Source names it in the header (tuiSource).
func runTUI(cmd *cobra.Command, st storage.Store, opt tui.Options, in, out *os.File) error {
	return tui.Run(cmd.Context(), st, opt, tea.WithInput(in), tea.WithOutput(out))
}

// useMouse is --mouse, else KEYDECK_MOUSE set to 1 (or true, yes, on).
func (a *app) useMouse(cmd *cobra.Command) bool {
	if cmd.Flags().Changed("mouse") {
		return a.mouse
	}
	switch strings.ToLower(strings.TrimSpace(a.getenv(envMouse))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// tuiSource is what the TUI's header names: the server's URL without user
// info, query or fragment (none of which may carry a secret onto the
// screen), else a PostgreSQL URL without user info or password, else the
// database file with the home folder as "~".
func (a *app) tuiSource(cmd *cobra.Command) string {
	if base := a.remoteURL(cmd); base != "" {
		u, err := checkRemoteURL(base, a.insecure)
		if err != nil {
			return ""
		}
		c := *u
		c.User, c.RawQuery, c.Fragment, c.RawFragment = nil, "", "", ""
		return c.String()
	}
	p, err := a.dbTarget(cmd)
	if err != nil {
		return ""
	}
	if postgres.IsURL(p) {
		return postgres.ShowURL(p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" && home != "/" {
		if rest, ok := strings.CutPrefix(p, home+string(filepath.Separator)); ok {
			p = "~" + string(filepath.Separator) + rest
		}
	}
	return p
}
