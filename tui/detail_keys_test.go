package tui

import (
	"testing"

	"github.com/keydeck/keydeck/model"
)

// The details take the list's movement keys (g/G, ctrl+d/ctrl+u) and copy
// the Client ID with c, saying where it went.
func TestDetailsMoveAndCopy(t *testing.T) {
	m, _ := started(t, 80, 24)
	createKeys(t, m.st, model.KeySpec{Name: "Move-Key", Permissions: model.PermRead, QueryAlloc: 10})
	press(t, m, "r", "enter")
	mustShow(t, m, "Client ID")
	press(t, m, "G")
	mustShow(t, m, "key.create")
	mustNotShow(t, m, "Client ID")
	press(t, m, "g")
	mustShow(t, m, "Client ID")
	press(t, m, "ctrl+d")
	mustNotShow(t, m, "Client ID")
	press(t, m, "ctrl+u")
	mustShow(t, m, "Client ID")
	press(t, m, "c")
	mustShow(t, m, "Client ID")
	if got := m.InfoText(); got == "" {
		t.Fatalf("c in the details said nothing about the copy")
	}
}
