// Package keylist is the API Keys table: the account's keys, one row each,
// with only the visible rows drawn, a "/" filter by name or Client ID, a
// toggle for revoked keys and three sort orders. It holds no store: the root
// model loads snapshots and hands them over.
package keylist

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/tui/chart"
	"github.com/keydeck/keydeck/tui/common"
	"github.com/keydeck/keydeck/tui/format"
	"github.com/keydeck/keydeck/tui/keys"
)

// Intents the list raises; each names the key by its Client ID (Row looks
// up what the list knows of it).
type (
	// OpenMsg asks for the details of a key.
	OpenMsg struct{ ClientID string }
	// CreateMsg asks for the creation wizard.
	CreateMsg struct{}
	// EditMsg asks to edit a key.
	EditMsg struct{ ClientID string }
	// RegenerateMsg asks to regenerate a key's secret (after a confirm).
	RegenerateMsg struct{ ClientID string }
	// RevokeMsg asks to revoke a key (after a confirm).
	RevokeMsg struct{ ClientID string }
	// ReleaseMsg asks to free the allocation a revoked key kept (after a
	// confirm).
	ReleaseMsg struct{ ClientID string }
)

// KeyMap is the list's bindings.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
	Open                                  key.Binding
	Create                                key.Binding
	Edit                                  key.Binding
	Regenerate                            key.Binding
	Revoke                                key.Binding
	Release                               key.Binding
	Filter                                key.Binding
	ClearFilter                           key.Binding
	ApplyFilter                           key.Binding
	ToggleRevoked                         key.Binding
	Sort                                  key.Binding
	// Global bindings the root handles, listed here so help shows them.
	Refresh, Help, Quit key.Binding
}

// DefaultKeyMap returns the list's bindings.
func DefaultKeyMap() KeyMap {
	g := keys.NewGlobal()
	return KeyMap{
		Up: keys.Up(), Down: keys.Down(), PageUp: keys.PageUp(), PageDown: keys.PageDown(),
		Home: keys.Home(), End: keys.End(),
		Open:          keys.Enter("details"),
		Create:        key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new key")),
		Edit:          keys.Edit(),
		Regenerate:    keys.Regenerate(),
		Revoke:        keys.Revoke(),
		Release:       key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "release allocation")),
		Filter:        key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		ClearFilter:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		ApplyFilter:   key.NewBinding(key.WithKeys("enter", "down", "up"), key.WithHelp("enter", "keep filter")),
		ToggleRevoked: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "revoked")),
		Sort:          key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort")),
		Refresh:       g.Refresh,
		Help:          g.Help,
		Quit:          g.Quit,
	}
}

// Model is the key table.
type Model struct {
	common.Intents
	c    *common.Common
	keys KeyMap

	snap   *Snapshot
	view   []int32 // indices into snap.Rows: filtered, in sort order
	cursor int     // index into view
	offset int     // first visible index into view
	// selected is the Client ID under the cursor, kept across reloads.
	selected string

	filter      textinput.Model
	filtering   bool   // the filter field has the focus
	query       string // applied filter, lower case
	showRevoked bool
	sort        storage.Sort

	width, height int
	lay           layout
}

var (
	_ common.Component = (*Model)(nil)
	_ common.TextInput = (*Model)(nil)
)

// New returns an empty list; it shows "loading" until SetSnapshot.
func New(c *common.Common) *Model {
	f := textinput.New()
	f.Prompt = "/ "
	f.Placeholder = "name or Client ID"
	f.CharLimit = 80
	m := &Model{c: c, keys: DefaultKeyMap(), filter: f, sort: storage.SortCreated}
	m.SetSize(80, 20)
	return m
}

// SetSize sets the area the table draws in (and restyles the filter field
// with the current styles).
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.filter.SetStyles(m.c.Styles.Input)
	m.lay = computeLayout(w)
	m.filter.SetWidth(max(10, w-4))
	m.clamp()
}

// Snapshot returns the data shown.
func (m *Model) Snapshot() *Snapshot { return m.snap }

// SetSnapshot shows new data, keeping the selected key under the cursor
// when it is still there.
func (m *Model) SetSnapshot(s *Snapshot) {
	m.snap = s
	m.rebuild(false)
}

// Filtering reports whether the filter field has the focus (so keys are
// text, and q does not quit).
func (m *Model) Filtering() bool { return m.filtering }

// InTextField implements common.TextInput: the filter field takes text.
func (m *Model) InTextField() bool { return m.filtering }

// Query is the applied filter.
func (m *Model) Query() string { return m.query }

// ShowRevoked reports whether revoked keys are listed.
func (m *Model) ShowRevoked() bool { return m.showRevoked }

// Sort is the current order.
func (m *Model) Sort() storage.Sort { return m.sort }

// Visible is how many keys pass the filter.
func (m *Model) Visible() int { return len(m.view) }

// Cursor is the position of the selection among the visible keys.
func (m *Model) Cursor() int { return m.cursor }

// Selected returns the row under the cursor.
func (m *Model) Selected() (Row, bool) {
	if m.snap == nil || m.cursor < 0 || m.cursor >= len(m.view) {
		return Row{}, false
	}
	return m.snap.Rows[m.view[m.cursor]], true
}

// Row returns the loaded row of the key with the given Client ID.
func (m *Model) Row(clientID string) (Row, bool) {
	if r, ok := m.Selected(); ok && r.ClientID == clientID {
		return r, true // the usual case: the key under the cursor
	}
	if m.snap != nil {
		for i := range m.snap.Rows {
			if m.snap.Rows[i].ClientID == clientID {
				return m.snap.Rows[i], true
			}
		}
	}
	return Row{}, false
}

// Empty reports whether the account has no keys at all (the empty state).
func (m *Model) Empty() bool {
	return m.snap != nil && m.snap.Complete && len(m.snap.Rows) == 0
}

// rebuild recomputes the visible rows. narrow is set when the new filter
// only adds characters to the old one, so the old result can be narrowed
// instead of scanning every row again.
func (m *Model) rebuild(narrow bool) {
	if m.snap == nil {
		m.view = nil
		return
	}
	rows := m.snap.Rows
	src := m.snap.Order(m.sort)
	if narrow && m.view != nil {
		src = m.view
	}
	q := m.query
	out := make([]int32, 0, len(src))
	if q == "" && m.showRevoked {
		out = append(out[:0], src...)
	} else {
		for _, i := range src {
			r := &rows[i]
			if r.Revoked && !m.showRevoked {
				continue
			}
			if q != "" && !strings.Contains(r.search, q) {
				continue
			}
			out = append(out, i)
		}
	}
	m.view = out
	if m.selected != "" {
		for vi, i := range out {
			if rows[i].ClientID == m.selected {
				m.cursor = vi
				break
			}
		}
	}
	m.clamp()
}

func (m *Model) tableHeight() int {
	h := m.height - 2 // column titles and footer
	if m.filtering || m.query != "" {
		h--
	}
	return max(1, h)
}

func (m *Model) clamp() {
	n := len(m.view)
	if m.cursor >= n {
		m.cursor = n - 1
	}
	if m.cursor < 0 {
		m.cursor = 0
	}
	h := m.tableHeight()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+h {
		m.offset = m.cursor - h + 1
	}
	if m.offset > max(0, n-h) {
		m.offset = max(0, n-h)
	}
	if m.offset < 0 {
		m.offset = 0
	}
}

// move moves the cursor and remembers the key under it.
func (m *Model) move(d int) {
	m.cursor += d
	m.clamp()
	if r, ok := m.Selected(); ok {
		m.selected = r.ClientID
	}
}

// bindings is the list's bindings as they apply now: edit, regenerate and
// revoke only on an active row under the cursor, not while filtering. Help
// and Update both read them, so help shows exactly what works.
func (m *Model) bindings() KeyMap {
	b := m.keys
	row, has := m.Selected()
	act := !m.filtering && has && row.Active()
	b.Edit.SetEnabled(act)
	b.Regenerate.SetEnabled(act)
	b.Revoke.SetEnabled(act)
	b.Release.SetEnabled(!m.filtering && has && row.Keeps)
	return b
}

// Update handles the list's keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if m.filtering {
		return m.updateFilter(msg)
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	b := m.bindings()
	row, has := m.Selected()
	switch {
	case key.Matches(k, m.keys.Up):
		m.move(-1)
	case key.Matches(k, m.keys.Down):
		m.move(1)
	case key.Matches(k, m.keys.PageUp):
		m.move(-m.tableHeight())
	case key.Matches(k, m.keys.PageDown):
		m.move(m.tableHeight())
	case key.Matches(k, m.keys.Home):
		m.move(-len(m.view))
	case key.Matches(k, m.keys.End):
		m.move(len(m.view))
	case key.Matches(k, m.keys.Create):
		m.Raise(CreateMsg{})
	case key.Matches(k, m.keys.Open):
		switch {
		case m.Empty():
			m.Raise(CreateMsg{})
		case has:
			m.Raise(OpenMsg{row.ClientID})
		}
	case key.Matches(k, b.Edit):
		m.Raise(EditMsg{row.ClientID})
	case key.Matches(k, b.Regenerate):
		m.Raise(RegenerateMsg{row.ClientID})
	case key.Matches(k, b.Revoke):
		m.Raise(RevokeMsg{row.ClientID})
	case key.Matches(k, b.Release):
		m.Raise(ReleaseMsg{row.ClientID})
	case key.Matches(k, m.keys.Filter):
		m.filtering = true
		m.filter.SetValue(m.query)
		m.filter.CursorEnd()
		m.clamp()
		return m.filter.Focus()
	case key.Matches(k, m.keys.ClearFilter):
		if m.query != "" {
			m.query = ""
			m.filter.SetValue("")
			m.rebuild(false)
		}
	case key.Matches(k, m.keys.ToggleRevoked):
		m.showRevoked = !m.showRevoked
		m.rebuild(false)
	case key.Matches(k, m.keys.Sort):
		switch m.sort {
		case storage.SortCreated:
			m.sort = storage.SortName
		case storage.SortName:
			m.sort = storage.SortUsage
		default:
			m.sort = storage.SortCreated
		}
		m.rebuild(false)
	}
	return nil
}

func (m *Model) updateFilter(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.keys.ClearFilter):
			m.filtering = false
			m.filter.Blur()
			m.filter.SetValue("")
			if m.query != "" {
				m.query = ""
				m.rebuild(false)
			}
			m.clamp()
			return nil
		case key.Matches(k, m.keys.ApplyFilter):
			m.filtering = false
			m.filter.Blur()
			m.clamp()
			if key.Matches(k, m.keys.Up, m.keys.Down) {
				return m.Update(msg) // and move
			}
			return nil
		}
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	if q := strings.ToLower(strings.TrimSpace(m.filter.Value())); q != m.query {
		narrow := m.query != "" && strings.Contains(q, m.query)
		m.query = q
		m.cursor, m.selected = 0, ""
		m.rebuild(narrow)
		m.move(0)
	}
	return cmd
}

// ShortHelp implements help.KeyMap for the current state.
func (m *Model) ShortHelp() []key.Binding {
	k := m.bindings()
	if m.filtering {
		return []key.Binding{k.ApplyFilter, k.ClearFilter}
	}
	if m.Empty() {
		return []key.Binding{keys.Enter("generate key"), k.Refresh, k.Help, k.Quit}
	}
	up := k.Up
	up.SetHelp("↑/↓", "move")
	clear := k.ClearFilter // a copy: esc must still close an empty filter
	clear.SetEnabled(m.query != "")
	return []key.Binding{up, k.Open, k.Create, k.Filter, clear, k.Help, k.Quit, k.ToggleRevoked, k.Sort}
}

// FullHelp implements help.KeyMap for the current state.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.bindings()
	if m.filtering {
		return [][]key.Binding{{k.ApplyFilter, k.ClearFilter}}
	}
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End},
		{k.Open, k.Create, k.Edit, k.Regenerate, k.Revoke, k.Release},
		{k.Filter, k.ClearFilter, k.ToggleRevoked, k.Sort},
		{k.Refresh, k.Help, k.Quit},
	}
}

// SortLabel names the order for the footer.
func SortLabel(s storage.Sort) string {
	switch s {
	case storage.SortName:
		return "name"
	case storage.SortUsage:
		return "usage"
	}
	return "newest"
}

// layout is the widths of the columns for one terminal width.
type layout struct {
	name, id, perm, q, m, created, status, last int
	idFull                                      bool
	exact                                       bool
	bar                                         int
	createdTime                                 bool
}

const selW = 2

func (l layout) total() int {
	w := selW + l.name + 1 + l.id + 1 + l.perm + 1 + l.q + 1 + l.m + 1 + l.created
	if l.status > 0 {
		w += 1 + l.status
	}
	if l.last > 0 {
		w += 1 + l.last
	}
	return w
}

// computeLayout fits the columns to width: at 80 columns Client IDs are
// shortened and numbers compact; wider terminals get the status, the full
// Client ID, exact numbers, longer bars, last use and times, in that order.
func computeLayout(width int) layout {
	l := layout{id: 13, perm: 4, q: 14, m: 14, created: 10, bar: 4}
	const minName = 16
	fixed := func() int { n := l.name; l.name = 0; t := l.total(); l.name = n; return t }
	spare := func() int { return width - fixed() - 24 }
	if spare() >= 8 {
		l.status = 7
	}
	if spare() >= 13 {
		l.id, l.idFull = 26, true
	}
	if spare() >= 12 {
		l.exact = true
		l.q, l.m = 20, 20
	}
	if spare() >= 12 {
		l.bar = 10
		l.q, l.m = l.q+6, l.m+6
	}
	if spare() >= 10 {
		l.last = 9
	}
	if spare() >= 13 {
		l.created, l.createdTime = 23, true
	}
	l.name = min(max(minName, width-fixed()), 64)
	return l
}

// cell pads or cuts plain text to w cells.
func cell(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-ansi.StringWidth(s))
}

func rcell(s string, w int) string {
	if ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	return strings.Repeat(" ", w-ansi.StringWidth(s)) + s
}

// View draws the table, or the empty or loading state.
func (m *Model) View() string {
	s := m.c.Styles
	if m.snap == nil {
		return s.Muted.Render("  Loading keys…")
	}
	if m.Empty() {
		return m.emptyView()
	}
	var b strings.Builder
	if m.filtering || m.query != "" {
		b.WriteString(m.filter.View())
		b.WriteByte('\n')
	}
	b.WriteString(m.headerLine())
	b.WriteByte('\n')
	h := m.tableHeight()
	if len(m.view) == 0 {
		b.WriteString(m.noMatch())
		for i := 1; i < h; i++ {
			b.WriteByte('\n')
		}
	} else {
		end := min(len(m.view), m.offset+h)
		for vi := m.offset; vi < end; vi++ {
			b.WriteString(m.rowLine(&m.snap.Rows[m.view[vi]], vi == m.cursor))
			b.WriteByte('\n')
		}
		for i := end - m.offset; i < h; i++ {
			b.WriteByte('\n')
		}
	}
	b.WriteString(m.footer())
	return b.String()
}

func (m *Model) noMatch() string {
	s := m.c.Styles
	switch {
	case m.query != "":
		return s.Muted.Render("  No keys match “" + m.query + "”. esc clears the filter.")
	case !m.showRevoked && m.snap.Revoked > 0:
		return s.Muted.Render("  No active keys. v shows " + format.Int(int64(m.snap.Revoked)) + " revoked; n generates a new key.")
	}
	return s.Muted.Render("  No keys.")
}

func (m *Model) emptyView() string {
	s := m.c.Styles
	box := lipgloss.JoinVertical(lipgloss.Center,
		s.Title.Render("You have no API keys yet"),
		"",
		s.Muted.Render("An API key identifies your service to the API: a public Client ID"),
		s.Muted.Render("and a Client Secret that is shown only once."),
		"",
		s.ButtonFocused.Render("Generate API Key"),
		"",
		s.Hint.Render("press enter or n"),
	)
	return lipgloss.Place(m.width, max(1, m.height), lipgloss.Center, lipgloss.Center, box)
}

func (m *Model) headerLine() string {
	l := m.lay
	parts := []string{
		strings.Repeat(" ", selW) + cell("Name", l.name),
		cell("Client ID", l.id),
		cell("Perm", l.perm),
		cell("Query", l.q),
		cell("Mutation", l.m),
		cell("Created", l.created),
	}
	if l.status > 0 {
		parts = append(parts, cell("Status", l.status))
	}
	if l.last > 0 {
		parts = append(parts, cell("Last used", l.last))
	}
	return m.c.Styles.TableHeader.Render(cell(strings.Join(parts, " "), m.width))
}

func (m *Model) quota(used, alloc int64, w int, fill lipgloss.Style, plain bool) string {
	l := m.lay
	text := format.UsedOf(used, alloc, !l.exact)
	tw := w - l.bar - 1
	st := m.c.Styles
	if plain {
		p := lipgloss.Style{}
		return rcell(text, tw) + " " + chart.Bar(used, alloc, l.bar, p, p, p)
	}
	return rcell(text, tw) + " " + chart.Bar(used, alloc, l.bar, fill, st.EmptyBar, st.FullBar)
}

func (m *Model) rowLine(r *Row, selected bool) string {
	s := m.c.Styles
	l := m.lay
	plain := selected || r.Revoked // one style over the whole line
	mark := "  "
	switch {
	case selected && r.Revoked:
		mark = "▸×"
	case selected:
		mark = "▸ "
	case r.Revoked:
		mark = " ×"
	}
	id := r.ClientID
	if !l.idFull && len(id) > l.id {
		id = id[:l.id-1] + "…"
	}
	var created string
	if l.createdTime {
		created = format.Minute(time.Unix(r.Created, 0), m.c.Location)
	} else {
		created = format.Date(time.Unix(r.Created, 0), m.c.Location)
	}
	text := func(str string, w int, st lipgloss.Style) string {
		c := cell(str, w)
		if plain {
			return c
		}
		return st.Render(c)
	}
	parts := []string{
		mark + text(ansi.Strip(r.Name), l.name, s.Value),
		text(id, l.id, s.Muted),
		text(r.Perms.Short(), l.perm, s.Value),
		m.quota(r.QueryUsed, r.QueryAlloc, l.q, s.QueryBar, plain),
		m.quota(r.MutationUsed, r.MutationAlloc, l.m, s.MutateBar, plain),
		text(created, l.created, s.Muted),
	}
	if l.status > 0 {
		st := "active"
		stStyle := s.Good
		if r.Revoked {
			st, stStyle = "revoked", s.Bad
		}
		parts = append(parts, text(st, l.status, stStyle))
	}
	if l.last > 0 {
		last := "never"
		if r.LastUsed > 0 {
			last = format.Ago(time.Unix(r.LastUsed, 0), m.c.Now())
		}
		parts = append(parts, text(last, l.last, s.Muted))
	}
	line := strings.Join(parts, " ")
	if pad := m.width - ansi.StringWidth(line); pad > 0 {
		line += strings.Repeat(" ", pad)
	}
	switch {
	case selected:
		return s.SelectedRow.Render(line)
	case r.Revoked:
		return s.RevokedRow.Render(line)
	}
	return line
}

func (m *Model) footer() string {
	s := m.c.Styles
	n := len(m.view)
	var b strings.Builder
	if n == 0 {
		b.WriteString("0 keys")
	} else {
		end := min(n, m.offset+m.tableHeight())
		b.WriteString(format.Int(int64(m.offset+1)) + "–" + format.Int(int64(end)) + " of " + format.Int(int64(n)))
		if n == 1 {
			b.WriteString(" key")
		} else {
			b.WriteString(" keys")
		}
	}
	b.WriteString(" · sorted by " + SortLabel(m.sort))
	if m.snap.Revoked > 0 {
		if m.showRevoked {
			b.WriteString(" · revoked shown")
		} else {
			b.WriteString(" · " + format.Int(int64(m.snap.Revoked)) + " revoked hidden")
		}
	}
	if !m.snap.Complete {
		b.WriteString(" · loaded " + format.Int(int64(len(m.snap.Rows))) + " of " + format.Int(int64(m.snap.Total)) + "…")
	}
	return s.Footer.Render(cell(b.String(), m.width))
}

// Select puts the cursor on a key, now or once it is loaded.
func (m *Model) Select(clientID string) {
	m.selected = clientID
	for vi, i := range m.view {
		if m.snap.Rows[i].ClientID == clientID {
			m.cursor = vi
			m.clamp()
			return
		}
	}
}
