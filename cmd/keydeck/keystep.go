package main

import (
	"fmt"

	"github.com/keydeck/keydeck/model"
)

// keyNeed is what a command needs of a key before it asks or acts.
type keyNeed int

const (
	anyKey     keyNeed = iota
	activeKey          // regenerate, revoke
	holdingKey         // release: revoked, still holding its allocation
)

// refuse is the store's refusal of a key that is not as need says, or nil.
// The wording is the store's own (storage/sqlite refuses the same way
// inside its transaction): checking first means nobody is asked to confirm
// what cannot happen, and the line names the key in remote mode too, where
// the server's problem does not.
func refuse(k model.Key, need keyNeed) error {
	switch need {
	case activeKey:
		if !k.Active() {
			return fmt.Errorf("%w: %q (%s)", model.ErrRevoked, k.Name, k.ClientID)
		}
	case holdingKey:
		if k.Active() {
			return fmt.Errorf("%w: %q is active (revoke it first)", model.ErrNotRevoked, k.Name)
		}
		if !k.KeepsAllocation {
			return model.ErrNothingHeld
		}
	}
	return nil
}
