// Package detail is the key details screen: metadata, quota bars, a 30-day
// usage chart and the key's audit events, with the actions the vendor puts
// there (edit, regenerate secret, revoke, release a kept allocation).
package detail

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/tui/chart"
	"github.com/keydeck/keydeck/tui/format"
	"github.com/keydeck/keydeck/tui/keys"
	"github.com/keydeck/keydeck/tui/styles"
)

// Messages the details screen sends.
type (
	// BackMsg: back to the list.
	BackMsg struct{}
	// EditMsg asks for the edit form.
	EditMsg struct{ Key model.Key }
	// RegenerateMsg asks to regenerate the secret (after a confirm).
	RegenerateMsg struct{ Key model.Key }
	// RevokeMsg asks to revoke the key (after a confirm).
	RevokeMsg struct{ Key model.Key }
	// ReleaseMsg asks to free the allocation a revoked key kept.
	ReleaseMsg struct{ Key model.Key }
)

// Days is how many days the usage chart covers.
const Days = 30

// KeyMap is the screen's bindings.
type KeyMap struct {
	Edit, Regenerate, Revoke, Release, Back key.Binding
	Up, Down, PageUp, PageDown              key.Binding
	Refresh, Help                           key.Binding
}

// DefaultKeyMap returns the screen's bindings.
func DefaultKeyMap() KeyMap {
	g := keys.NewGlobal()
	return KeyMap{
		Edit:       keys.Edit(),
		Regenerate: keys.Regenerate(),
		Revoke:     keys.Revoke(),
		Release:    key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "release allocation")),
		Back:       key.NewBinding(key.WithKeys("esc", "q", "backspace"), key.WithHelp("esc", "back")),
		Up:         keys.Up(),
		Down:       keys.Down(),
		PageUp:     keys.PageUp(),
		PageDown:   keys.PageDown(),
		Refresh:    g.Refresh,
		Help:       g.Help,
	}
}

// Model is the details screen of one key.
type Model struct {
	intent tea.Msg
	key    model.Key
	usage  []model.UsageDay
	audit  []model.AuditEvent
	loaded bool

	vp            viewport.Model
	styles        styles.Styles
	keys          KeyMap
	loc           *time.Location
	now           func() time.Time
	width, height int
}

// New opens the screen on a key known so far (e.g. from the list); SetData
// fills in the rest.
func New(k model.Key, st styles.Styles, loc *time.Location, now func() time.Time) Model {
	if loc == nil {
		loc = time.Local
	}
	if now == nil {
		now = time.Now
	}
	vp := viewport.New()
	vp.KeyMap.Left.SetEnabled(false)
	vp.KeyMap.Right.SetEnabled(false)
	vp.KeyMap.HalfPageDown.SetEnabled(false)
	vp.KeyMap.HalfPageUp.SetEnabled(false)
	vp.KeyMap.PageUp.SetKeys("pgup", "ctrl+b")
	vp.KeyMap.PageDown.SetKeys("pgdown", "space", "ctrl+f")
	m := Model{key: k, vp: vp, styles: st, keys: DefaultKeyMap(), loc: loc, now: now}
	m.SetSize(80, 20)
	return m
}

// ClientID is the key shown.
func (m Model) ClientID() string { return m.key.ClientID }

// Key is the key shown.
func (m Model) Key() model.Key { return m.key }

// Loaded reports whether usage and audit events are in.
func (m Model) Loaded() bool { return m.loaded }

// SetData shows freshly loaded data.
func (m *Model) SetData(k model.Key, usage []model.UsageDay, audit []model.AuditEvent) {
	m.key, m.usage, m.audit, m.loaded = k, usage, audit, true
	m.render()
}

// SetStyles replaces the styles.
func (m *Model) SetStyles(st styles.Styles) {
	m.styles = st
	m.render()
}

// SetSize sets the area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.vp.SetWidth(w)
	m.vp.SetHeight(max(1, h))
	m.render()
}

func (m *Model) render() {
	y := m.vp.YOffset()
	m.vp.SetContent(m.content())
	m.vp.SetYOffset(y)
}

// Update handles the screen's keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	active := m.key.Active()
	switch {
	case key.Matches(k, m.keys.Back):
		m.intent = BackMsg{}
		return m, nil
	case key.Matches(k, m.keys.Edit):
		if active {
			m.intent = EditMsg{m.key}
			return m, nil
		}
	case key.Matches(k, m.keys.Regenerate):
		if active {
			m.intent = RegenerateMsg{m.key}
			return m, nil
		}
	case key.Matches(k, m.keys.Revoke):
		if active {
			m.intent = RevokeMsg{m.key}
			return m, nil
		}
	case key.Matches(k, m.keys.Release):
		if !active && m.key.KeepsAllocation {
			m.intent = ReleaseMsg{m.key}
			return m, nil
		}
	default:
		var cmd tea.Cmd
		m.vp, cmd = m.vp.Update(msg)
		return m, cmd
	}
	return m, nil
}

// TakeIntent returns what the last Update asks of the parent (one of the
// messages above), once. The parent handles it at once, so keys typed right
// after it cannot reach a screen that is about to close.
func (m *Model) TakeIntent() tea.Msg {
	in := m.intent
	m.intent = nil
	return in
}

// ShortHelp implements help.KeyMap.
func (m Model) ShortHelp() []key.Binding {
	k := m.keys
	if !m.key.Active() {
		if m.key.KeepsAllocation {
			return []key.Binding{k.Release, k.Down, k.Back, k.Help}
		}
		return []key.Binding{k.Down, k.Back, k.Help}
	}
	return []key.Binding{k.Edit, k.Regenerate, k.Revoke, k.Down, k.Back, k.Help}
}

// FullHelp implements help.KeyMap.
func (m Model) FullHelp() [][]key.Binding {
	k := m.keys
	actions := []key.Binding{k.Edit, k.Regenerate, k.Revoke}
	if !m.key.Active() {
		actions = nil
		if m.key.KeepsAllocation {
			actions = []key.Binding{k.Release}
		}
	}
	return [][]key.Binding{actions, {k.Up, k.Down, k.PageUp, k.PageDown}, {k.Refresh, k.Back, k.Help}}
}

// View draws the screen.
func (m Model) View() string { return m.vp.View() }

func (m Model) content() string {
	s := m.styles
	k := m.key
	w := m.width
	var b strings.Builder
	status := s.Good.Render("● active")
	if !k.Active() {
		status = s.Bad.Render("× revoked")
		if k.RevokedAt != nil {
			status += s.Muted.Render(" " + format.Minute(*k.RevokedAt, m.loc))
		}
	}
	b.WriteString(s.Title.Render(k.Name) + "  " + status + "\n\n")
	row := func(label, value string) {
		b.WriteString("  " + s.Label.Render(fmt.Sprintf("%-13s", label)) + value + "\n")
	}
	row("Client ID", s.Value.Render(k.ClientID))
	secret := "kds_…" + k.SecretHint
	row("Secret", s.Value.Render(secret)+s.Muted.Render("  set "+format.Minute(k.SecretRotatedAt, m.loc)+" · shown only once"))
	row("Permissions", s.Value.Render(strings.Join(k.Permissions.List(), ", ")))
	row("Created", s.Value.Render(format.Minute(k.CreatedAt, m.loc)))
	last := "never"
	if k.LastUsedAt != nil {
		last = format.Ago(*k.LastUsedAt, m.now()) + " (" + format.Minute(*k.LastUsedAt, m.loc) + ")"
	}
	row("Last used", s.Value.Render(last))
	if k.ResetsAt != nil {
		row("Period", s.Value.Render("resets "+format.Minute(*k.ResetsAt, m.loc))+s.Muted.Render(" (start of the month, UTC)"))
	} else {
		row("Period", s.Value.Render("never resets"))
	}
	if !k.Active() {
		if k.KeepsAllocation {
			row("Allocation", s.Warn.Render("still held by this revoked key")+s.Muted.Render(" · L releases it"))
		} else {
			row("Allocation", s.Muted.Render("returned to the account"))
		}
	}
	b.WriteString("\n")
	barW := max(10, min(40, w-48))
	quota := func(label string, used, alloc int64, fill lipgloss.Style) {
		text := fmt.Sprintf("%s / %s used", format.Int(used), format.Int(alloc))
		if k.Active() { // a revoked key has nothing left to use
			text += " · " + format.Int(max(0, alloc-used)) + " left"
		}
		b.WriteString("  " + s.Label.Render(fmt.Sprintf("%-10s", label)) +
			chart.Bar(used, alloc, barW, fill, s.EmptyBar, s.FullBar) + "  " + s.Value.Render(text) + "\n")
	}
	quota("Query", k.QueryUsed, k.QueryAlloc, s.QueryBar)
	quota("Mutation", k.MutationUsed, k.MutationAlloc, s.MutateBar)
	b.WriteString("  " + s.Label.Render(fmt.Sprintf("%-10s", "Credits")) + s.Value.Render(format.Int(k.CreditsUsed)+" used this period") + "\n\n")

	b.WriteString(m.usageView())
	b.WriteString("\n")
	b.WriteString(m.auditView())
	return b.String()
}

type styleFn func(string) string

func (m Model) usageView() string {
	s := m.styles
	var b strings.Builder
	if !m.loaded {
		return s.Title.Render("Usage, last 30 days") + "\n" + s.Muted.Render("  loading…") + "\n"
	}
	var tq, tm, td int64
	qs, ms, ds := make([]int64, len(m.usage)), make([]int64, len(m.usage)), make([]int64, len(m.usage))
	for i, u := range m.usage {
		qs[i], ms[i], ds[i] = u.Queries, u.Mutations, u.Denied()
		tq, tm, td = tq+u.Queries, tm+u.Mutations, td+u.Denied()
	}
	b.WriteString(s.Title.Render("Usage, last 30 days") + s.Muted.Render(" (UTC days)") + "  " +
		s.Value.Render(fmt.Sprintf("%s · %s · %s denied", count(tq, "query", "queries"), count(tm, "mutation", "mutations"), format.Int(td))) + "\n")
	const label = 12
	n := max(1, len(m.usage))
	colw := max(1, min(3, (m.width-label-14)/n))
	h := 1
	if m.height >= 34 {
		h = 2
	}
	series := []struct {
		name string
		v    []int64
		st   styleFn
	}{
		{"Queries", qs, func(x string) string { return s.QueryBar.Render(x) }},
		{"Mutations", ms, func(x string) string { return s.MutateBar.Render(x) }},
		{"Denials", ds, func(x string) string { return s.DenyBar.Render(x) }},
	}
	for _, se := range series {
		var peak int64
		for _, v := range se.v {
			peak = max(peak, v)
		}
		lines := chart.Columns(se.v, 0, h, colw)
		// quiet days show as dots on the base line
		lines[len(lines)-1] = strings.ReplaceAll(lines[len(lines)-1], " ", "·")
		for i, l := range lines {
			lab := ""
			if i == len(lines)-1 {
				lab = se.name
			}
			b.WriteString("  " + s.Label.Render(fmt.Sprintf("%-*s", label-2, lab)) + se.st(l))
			if i == len(lines)-1 {
				b.WriteString(s.Muted.Render(" max " + format.Compact(peak) + "/day"))
			}
			b.WriteString("\n")
		}
	}
	if len(m.usage) > 0 {
		first, lastDay := m.usage[0].Day, m.usage[len(m.usage)-1].Day
		span := n * colw
		gap := max(1, span-len(first)-len(lastDay))
		if len(first)+len(lastDay)+1 > span {
			first, lastDay = first[5:], lastDay[5:]
			gap = max(1, span-len(first)-len(lastDay))
		}
		b.WriteString(strings.Repeat(" ", label) + s.Muted.Render(first+strings.Repeat(" ", gap)+lastDay) + "\n")
	}
	return b.String()
}

func (m Model) auditView() string {
	s := m.styles
	var b strings.Builder
	b.WriteString(s.Title.Render("Audit events") + "\n")
	if !m.loaded {
		return b.String() + s.Muted.Render("  loading…") + "\n"
	}
	if len(m.audit) == 0 {
		return b.String() + s.Muted.Render("  none") + "\n"
	}
	for _, e := range m.audit {
		line := fmt.Sprintf("%s  %-14s %s", format.Minute(e.At, m.loc), e.Action, model.Sanitize(e.Actor, 40))
		if e.Details != "" {
			line += "  " + model.Sanitize(format.Details(e.Details), 300)
		}
		b.WriteString(format.Wrap(line, m.width, 2, s.Value) + "\n")
	}
	return b.String()
}

// count writes n and the noun that goes with it: "1 query", "3 queries".
func count(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return format.Int(n) + " " + many
}
