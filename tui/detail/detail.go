// Package detail is the key details screen: metadata, quota bars, a 30-day
// usage chart and the key's audit events, with the actions the vendor puts
// there (edit, regenerate secret, revoke, release a kept allocation).
package detail

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/tui/chart"
	"github.com/keydeck/keydeck/tui/common"
	"github.com/keydeck/keydeck/tui/format"
	"github.com/keydeck/keydeck/tui/keys"
)

// Intents the details screen raises; each names the key by its Client ID.
type (
	// BackMsg: back to the list.
	BackMsg struct{}
	// EditMsg asks for the edit form.
	EditMsg struct{ ClientID string }
	// RegenerateMsg asks to regenerate the secret (after a confirm).
	RegenerateMsg struct{ ClientID string }
	// RevokeMsg asks to revoke the key (after a confirm).
	RevokeMsg struct{ ClientID string }
	// ReleaseMsg asks to free the allocation a revoked key kept.
	ReleaseMsg struct{ ClientID string }
	// CopiedMsg reports a Client ID copy (common.CopiedText words it).
	CopiedMsg struct{ Local, Tried bool }
)

// Days is how many days the usage chart covers.
const Days = 30

// KeyMap is the screen's bindings.
type KeyMap struct {
	Edit, Regenerate, Revoke, Release, Back key.Binding
	Up, Down, PageUp, PageDown              key.Binding
	HalfUp, HalfDown, Top, Bottom, Copy     key.Binding
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
		HalfUp:     key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "½ page up")),
		HalfDown:   key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "½ page down")),
		Top:        key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "top")),
		Bottom:     key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "bottom")),
		Copy:       key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy Client ID")),
		Refresh:    g.Refresh,
		Help:       g.Help,
	}
}

// Model is the details screen of one key.
type Model struct {
	common.Intents
	c *common.Common

	id, name string    // known from the start
	key      model.Key // the rest, once loaded
	hasKey   bool
	usage    []model.UsageDay
	audit    []model.AuditEvent
	loaded   bool
	failed   bool // the last load failed: what is missing is unknown, not loading

	auditLine     int // the line the audit events start on
	vp            viewport.Model
	keys          KeyMap
	width, height int
}

var _ common.Component = (*Model)(nil)

// New opens the screen on the key with the given Client ID, titled with
// its name as far as it is known; the metadata shows once SetKey or SetData
// brings the key, and until then the key's actions are off.
func New(c *common.Common, clientID, name string) *Model {
	vp := viewport.New()
	vp.KeyMap.Left.SetEnabled(false)
	vp.KeyMap.Right.SetEnabled(false)
	vp.KeyMap.HalfPageDown.SetEnabled(false)
	vp.KeyMap.HalfPageUp.SetEnabled(false)
	vp.KeyMap.PageUp.SetKeys("pgup", "ctrl+b")
	vp.KeyMap.PageDown.SetKeys("pgdown", "space", "ctrl+f")
	m := &Model{c: c, id: clientID, name: name, vp: vp, keys: DefaultKeyMap()}
	m.enableActions()
	m.SetSize(80, 20)
	return m
}

// ClientID is the key shown.
func (m *Model) ClientID() string { return m.id }

// Name is the key's name.
func (m *Model) Name() string { return m.name }

// Key is the key shown, once loaded (HasKey).
func (m *Model) Key() model.Key { return m.key }

// HasKey reports whether the key itself is in (its usage may not be).
func (m *Model) HasKey() bool { return m.hasKey }

// Loaded reports whether usage and audit events are in.
func (m *Model) Loaded() bool { return m.loaded }

// SetLoadFailed says the last load failed: what has not been loaded shows
// as unknown instead of loading.
func (m *Model) SetLoadFailed() {
	m.failed = true
	m.render()
}

// pending is what a field not loaded says.
func (m *Model) pending() string {
	if m.failed {
		return "  unknown: could not be loaded (r retries)"
	}
	return "  loading…"
}

// SetData shows freshly loaded data.
func (m *Model) SetData(k model.Key, usage []model.UsageDay, audit []model.AuditEvent) {
	m.usage, m.audit, m.loaded, m.failed = usage, audit, true, false
	m.SetKey(k)
}

// SetKey shows a key as changed by a write, keeping usage and audit events
// until they are loaded again.
func (m *Model) SetKey(k model.Key) {
	m.key, m.hasKey, m.name = k, true, k.Name
	m.enableActions()
	m.render()
}

// enableActions turns on the bindings that apply to the key as it is; the
// rules are the key's own (model.Key.CanChange, CanRelease).
func (m *Model) enableActions() {
	change := m.hasKey && m.key.CanChange() == nil
	m.keys.Edit.SetEnabled(change)
	m.keys.Regenerate.SetEnabled(change)
	m.keys.Revoke.SetEnabled(change)
	m.keys.Release.SetEnabled(m.hasKey && m.key.CanRelease() == nil)
}

// SetSize sets the area (and redraws with the current styles).
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

// Update handles the screen's keys. The key's actions are bindings enabled
// only when they apply (enableActions).
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if w, ok := msg.(tea.MouseWheelMsg); ok {
		var cmd tea.Cmd
		m.vp, cmd = m.vp.Update(w)
		return cmd
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Back):
		m.Raise(BackMsg{})
	case key.Matches(k, m.keys.Edit):
		m.Raise(EditMsg{m.id})
	case key.Matches(k, m.keys.Regenerate):
		m.Raise(RegenerateMsg{m.id})
	case key.Matches(k, m.keys.Revoke):
		m.Raise(RevokeMsg{m.id})
	case key.Matches(k, m.keys.Release):
		m.Raise(ReleaseMsg{m.id})
	case key.Matches(k, m.keys.Copy):
		return common.CopyClientID(m.c.Clipboard, m.id, func(local, tried bool) tea.Msg { return CopiedMsg{Local: local, Tried: tried} })
	case key.Matches(k, m.keys.Top):
		m.vp.GotoTop()
	case key.Matches(k, m.keys.Bottom):
		m.vp.GotoBottom()
	case key.Matches(k, m.keys.HalfUp):
		m.vp.HalfPageUp()
	case key.Matches(k, m.keys.HalfDown):
		m.vp.HalfPageDown()
	default:
		var cmd tea.Cmd
		m.vp, cmd = m.vp.Update(msg)
		return cmd
	}
	return nil
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	return []key.Binding{k.Edit, k.Regenerate, k.Revoke, k.Release, k.Down, k.Back, k.Help}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	return [][]key.Binding{{k.Edit, k.Regenerate, k.Revoke, k.Release, k.Copy}, {k.Up, k.Down, k.HalfUp, k.HalfDown, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Refresh, k.Back, k.Help}}
}

// GotoTop scrolls back to the title (after an edit, say, whose form
// scrolled nothing the user wants to stay below).
func (m *Model) GotoTop() { m.vp.GotoTop() }

// View draws the screen. When there is more below, the last line says so:
// at 80×24 the audit events start below the fold with no other sign.
func (m *Model) View() string {
	v := m.vp.View()
	below := m.vp.TotalLineCount() - m.vp.YOffset() - m.vp.Height()
	if below <= 0 || m.vp.Height() < 3 {
		return v
	}
	lines := strings.Split(v, "\n")
	below++ // the line the sign takes
	what := fmt.Sprintf("↓ %d more lines below", below)
	if m.auditLine >= m.vp.YOffset()+m.vp.Height()-1 {
		what += ", audit events among them"
	}
	lines[len(lines)-1] = m.c.Styles.Muted.Render("  " + what + " (↓, pgdown)")
	return strings.Join(lines, "\n")
}

func (m *Model) content() string {
	s := m.c.Styles
	k := m.key
	w := m.width
	var b strings.Builder
	if !m.hasKey {
		b.WriteString(s.Title.Render(m.name) + "\n\n")
		b.WriteString("  " + s.Label.Render(fmt.Sprintf("%-13s", "Client ID")) + s.Value.Render(m.id) + "\n")
		b.WriteString(s.Muted.Render(m.pending()) + "\n")
		return b.String()
	}
	status := s.Good.Render("● active")
	if !k.Active() {
		status = s.Bad.Render("× revoked")
		if k.RevokedAt != nil {
			status += s.Muted.Render(" " + format.Minute(*k.RevokedAt, m.c.Location))
		}
	}
	b.WriteString(s.Title.Render(k.Name) + "  " + status + "\n\n")
	// A value too long for the width wraps under itself instead of being
	// cut (a date or a count cut short reads as another one).
	const indent = 15 // "  " and the 13-cell label
	row := func(label, value string) {
		lines := strings.Split(ansi.Wordwrap(value, max(20, m.width-indent), ""), "\n")
		b.WriteString("  " + s.Label.Render(fmt.Sprintf("%-13s", label)) + lines[0] + "\n")
		for _, l := range lines[1:] {
			b.WriteString(strings.Repeat(" ", indent) + strings.TrimLeft(l, " ") + "\n")
		}
	}
	row("Client ID", s.Value.Render(k.ClientID))
	// A key known only partly (from a write's answer, say) shows what it
	// lacks as unknown rather than as a fact.
	secret, set := "kds_…"+k.SecretHint, "set "+format.Minute(k.SecretRotatedAt, m.c.Location)
	if k.SecretHint == "" {
		secret = "unknown"
	}
	if k.SecretRotatedAt.IsZero() {
		set = "set: unknown"
	}
	row("Secret", s.Value.Render(secret)+s.Muted.Render("  "+set+" · shown only once"))
	row("Permissions", s.Value.Render(strings.Join(k.Permissions.List(), ", ")))
	created := format.Minute(k.CreatedAt, m.c.Location)
	if k.CreatedAt.IsZero() {
		created = "unknown"
	}
	row("Created", s.Value.Render(created))
	last := "never"
	if k.LastUsedAt != nil {
		last = format.Ago(*k.LastUsedAt, m.c.Now()) + " (" + format.Minute(*k.LastUsedAt, m.c.Location) + ")"
	}
	row("Last used", s.Value.Render(last))
	switch {
	case k.CreatedAt.IsZero(): // not a whole key: nil ResetsAt means nothing
		row("Period", s.Muted.Render("unknown"))
	case k.ResetsAt != nil:
		row("Period", s.Value.Render("resets "+format.Minute(*k.ResetsAt, m.c.Location))+s.Muted.Render(" (start of the month, UTC)"))
	default:
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
	m.auditLine = strings.Count(b.String(), "\n")
	b.WriteString(m.auditView())
	return b.String()
}

type styleFn func(string) string

func (m *Model) usageView() string {
	s := m.c.Styles
	var b strings.Builder
	if !m.loaded {
		return s.Title.Render("Usage, last 30 days") + "\n" + s.Muted.Render(m.pending()) + "\n"
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

func (m *Model) auditView() string {
	s := m.c.Styles
	var b strings.Builder
	b.WriteString(s.Title.Render("Audit events") + "\n")
	if !m.loaded {
		return b.String() + s.Muted.Render(m.pending()) + "\n"
	}
	if len(m.audit) == 0 {
		return b.String() + s.Muted.Render("  none") + "\n"
	}
	for _, e := range m.audit {
		line := fmt.Sprintf("%s  %-14s %s", format.Minute(e.At, m.c.Location), e.Action, model.Sanitize(e.Actor, 40))
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
