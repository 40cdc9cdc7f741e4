package tui

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/tui/keylist"
)

// fixtureAccount and fixtureKeys are fixed data, so the golden frames do
// not depend on random Client IDs.
func fixtureAccount() model.Account {
	reset := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	return model.Account{Name: "default", QueryTotal: 10000, MutationTotal: 5000, Credits: 1000, Period: model.PeriodMonthly,
		QueryHeld: 3500, MutationHeld: 2000, ActiveKeys: 3, RevokedKeys: 1, ResetsAt: &reset}
}

func fixtureKeys() []model.Key {
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 5, 0, 0, time.UTC) }
	used := at(26, 13)
	reset := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	revoked := at(20, 9)
	return []model.Key{
		{Name: "Video-Pipeline-Key", ClientID: "kdc_7fQ2mXc9LpR4sT1vW8yZ3a", SecretHint: "Qx7k", Permissions: model.PermAll,
			QueryAlloc: 500, QueryUsed: 480, MutationAlloc: 1500, MutationUsed: 1500, CreatedAt: at(24, 10), LastUsedAt: &used,
			Status: model.StatusActive, SecretRotatedAt: at(24, 10), ResetsAt: &reset},
		{Name: "Mobile-App-Key", ClientID: "kdc_3bN8kD2hJ6gF5sA9qW4eR7", SecretHint: "m2Pz", Permissions: model.PermRead,
			QueryAlloc: 1000, QueryUsed: 12, MutationAlloc: 0, CreatedAt: at(20, 8), Status: model.StatusRevoked, RevokedAt: &revoked,
			SecretRotatedAt: at(20, 8), ResetsAt: &reset},
		{Name: "Backend-Server-Key", ClientID: "kdc_9zY8xW7vU6tS5rQ4pO3nM2", SecretHint: "a9B3", Permissions: model.PermRead | model.PermWrite,
			QueryAlloc: 2000, QueryUsed: 734, MutationAlloc: 500, MutationUsed: 61, CreditsUsed: 40, CreatedAt: at(2, 16),
			LastUsedAt: &used, Status: model.StatusActive, SecretRotatedAt: at(15, 11), ResetsAt: &reset},
		{Name: "Batch-Jobs", ClientID: "kdc_1aB2cD3eF4gH5iJ6kL7mN8", SecretHint: "Zz00", Permissions: model.PermWrite | model.PermDelete,
			QueryAlloc: 0, MutationAlloc: 0, CreatedAt: at(1, 12), Status: model.StatusActive, SecretRotatedAt: at(1, 12), ResetsAt: &reset},
	}
}

func fixtureUsage() []model.UsageDay {
	var days []model.UsageDay
	start := time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		d := model.UsageDay{Day: model.Day(start.AddDate(0, 0, i))}
		if i >= 10 {
			d.Queries = int64((i * 37) % 90)
			d.Mutations = int64((i * 11) % 17)
		}
		if i%7 == 3 {
			d.Denied429 = int64(i % 5)
		}
		days = append(days, d)
	}
	return days
}

func fixtureAudit() []model.AuditEvent {
	return []model.AuditEvent{
		{At: time.Date(2026, 11, 15, 11, 5, 0, 0, time.UTC), Actor: "alice", Action: model.AuditKeyRegenerate, ClientID: "kdc_9zY8xW7vU6tS5rQ4pO3nM2", KeyName: "Backend-Server-Key"},
		{At: time.Date(2026, 11, 2, 16, 5, 0, 0, time.UTC), Actor: "alice", Action: model.AuditKeyCreate, ClientID: "kdc_9zY8xW7vU6tS5rQ4pO3nM2", KeyName: "Backend-Server-Key",
			Details: `{"name":"Backend-Server-Key","permissions":["read","write"],"query_allocation":2000,"mutation_allocation":500}`},
	}
}

// fixtureModel is a model showing the fixture, on a real (empty) store
// for whatever the screens ask of it.
func fixtureModel(t *testing.T, w, h int) *Model {
	t.Helper()
	_, st := openStore(t, nil)
	m := newTestModel(t, st, testOptions(nil), w, h)
	m.Update(KeysLoadedMsg{Gen: m.gen, Account: fixtureAccount(), Snap: keylist.NewSnapshot(fixtureKeys(), 4, true)})
	return m
}

// requireGolden compares the frame, through a fixed ASCII colour profile (bold,
// reverse and the like stay, colours go), with testdata/<Test>.golden (-update rewrites it).
func requireGolden(t *testing.T, m *Model) {
	t.Helper()
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: colorprofile.ASCII}
	fmt.Fprint(w, m.Render())
	// Only fixture data is on these frames: no real secret can be printed.
	golden.RequireEqual(t, buf.Bytes())
}

func TestGolden(t *testing.T) {
	fakeSecret := "kds_" + "GOLDENgoldenGOLDENgoldenGOLDENgoldenGOLDENgoldenX"
	screens := map[string]func(t *testing.T, m *Model){
		"list":    func(t *testing.T, m *Model) {},
		"revoked": func(t *testing.T, m *Model) { press(t, m, "v", "s") },
		"filter":  func(t *testing.T, m *Model) { press(t, m, "/"); typeText(t, m, "key") },
		"help":    func(t *testing.T, m *Model) { press(t, m, "?") },
		"empty": func(t *testing.T, m *Model) {
			m.Update(KeysLoadedMsg{Gen: m.gen, Account: model.Account{Name: "default", QueryTotal: 10000, MutationTotal: 5000, Credits: 1000},
				Snap: keylist.NewSnapshot(nil, 0, true)})
		},
		"wizard_name": func(t *testing.T, m *Model) { press(t, m, "n", "enter") },
		"wizard_perms": func(t *testing.T, m *Model) {
			press(t, m, "n")
			typeText(t, m, "Media-Key")
			press(t, m, "enter", "down", "space")
		},
		"wizard_query": func(t *testing.T, m *Model) {
			press(t, m, "n")
			typeText(t, m, "Media-Key")
			press(t, m, "enter", "enter", "pgup", "right")
		},
		"wizard_review": func(t *testing.T, m *Model) {
			press(t, m, "n")
			typeText(t, m, "Media-Key")
			press(t, m, "enter", "down", "space", "enter")
			typeText(t, m, "1200")
			press(t, m, "enter")
			typeText(t, m, "300")
			press(t, m, "enter")
		},
		"reveal": func(t *testing.T, m *Model) {
			m.Update(KeyCreatedMsg{Key: fixtureKeys()[2], Secret: fakeSecret})
		},
		"confirm_revoke":     func(t *testing.T, m *Model) { press(t, m, "down", "down", "x") },
		"confirm_regenerate": func(t *testing.T, m *Model) { press(t, m, "R") },
		"detail": func(t *testing.T, m *Model) {
			k := fixtureKeys()[2]
			m.Update(keylist.OpenMsg{ClientID: k.ClientID})
			m.Update(DetailLoadedMsg{ClientID: k.ClientID, Key: k, Usage: fixtureUsage(), Audit: fixtureAudit()})
		},
	}
	for _, size := range [][2]int{{60, 20}, {80, 24}, {140, 40}, {200, 50}} {
		for name, fn := range screens {
			t.Run(fmt.Sprintf("%s_%dx%d", name, size[0], size[1]), func(t *testing.T) {
				m := fixtureModel(t, size[0], size[1])
				fn(t, m)
				requireGolden(t, m)
			})
		}
	}
}
