package main

import (
	"github.com/spf13/cobra"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// keyStep is what a command does to the key its ID argument names.
type keyStep struct {
	need keyNeed
	// ask makes the step destructive: its question is asked on a terminal
	// unless yes (--yes).
	ask func(model.Key) string
	yes bool
	act func(storage.Store, model.Key) error
}

// withKey opens the store, finds the key id names (the store's rule: a
// Client ID or an exact name, the active key wins, several revoked ones
// are an error listing them), refuses it unless it is as the step needs,
// asks when the step is destructive, then acts.
func (a *app) withKey(cmd *cobra.Command, id string, s keyStep) error {
	return a.withStore(cmd, func(st storage.Store) error {
		k, err := st.GetKey(cmd.Context(), id)
		if err != nil {
			return err
		}
		if err := refuse(k, s.need); err != nil {
			return err
		}
		if s.ask != nil {
			if err := a.confirm(cmd.Context(), s.yes, cmd.Name(), s.ask(k)); err != nil {
				return err
			}
		}
		return s.act(st, k)
	})
}

// keyNeed is what a command needs of a key before it asks or acts.
type keyNeed int

const (
	anyKey     keyNeed = iota
	activeKey          // regenerate, revoke
	holdingKey         // release: revoked, still holding its allocation
)

// refuse is the store's refusal of a key that is not as need says, or nil
// (model.Key's rules, which the store applies inside its transaction):
// checking first means nobody is asked to confirm what cannot happen, and
// the line names the key in remote mode too, where the server's problem
// does not.
func refuse(k model.Key, need keyNeed) error {
	switch need {
	case activeKey:
		return k.CanChange()
	case holdingKey:
		return k.CanRelease()
	}
	return nil
}
