package main

// Temporary stand-in until the terminal UI lands (the TUI engineer
// replaces this file): it prints the key list.

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keydeck/keydeck/storage"
)

func runTUI(cmd *cobra.Command, st storage.Store) error {
	keys, err := listAll(cmd, st, false)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if len(keys) == 0 {
		fmt.Fprintln(w, "You have no API keys yet.")
		return nil
	}
	t := newTable(w, "NAME", "CLIENT ID", "PERMISSIONS", "QUERY", "MUTATION", "STATUS")
	for _, k := range keys {
		t.row(k.Name, k.ClientID, k.Permissions.String(), usedOf(k.QueryUsed, k.QueryAlloc), usedOf(k.MutationUsed, k.MutationAlloc), statusText(k))
	}
	return t.flush()
}
