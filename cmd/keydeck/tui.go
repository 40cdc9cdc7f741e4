package main

import (
	"context"
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

// runTUI opens the API Keys screen on st (local or remote, already open).
func runTUI(cmd *cobra.Command, st storage.Store) error {
	in, inOK := cmd.InOrStdin().(*os.File)
	out, outOK := cmd.OutOrStdout().(*os.File)
	if !inOK || !outOK || !term.IsTerminal(in.Fd()) || !term.IsTerminal(out.Fd()) {
		return errNoTerminal
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return tui.Run(ctx, st, tui.Options{}, tea.WithInput(in), tea.WithOutput(out))
}
