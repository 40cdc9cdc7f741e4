package main

import (
	"errors"
	"os"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/keydeck/keydeck/storage"
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

// runTUI opens the API Keys screen on st (local or remote, already open).
func runTUI(cmd *cobra.Command, st storage.Store, in, out *os.File) error {
	return tui.Run(cmd.Context(), st, tui.Options{}, tea.WithInput(in), tea.WithOutput(out))
}
