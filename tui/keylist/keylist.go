// Package keylist is the API Keys table: the account's keys, one row each,
// with only the visible rows drawn, a "/" filter by name or Client ID, a
// toggle for revoked keys and three sort orders, each either way. It holds
// no store: the root model loads snapshots and hands them over.
package keylist

import (
	"fmt"
	"slices"
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
	// CopiedMsg reports a Client ID copy: Local when the system clipboard
	// took it, Tried when there was one. OSC 52 is always sent too.
	CopiedMsg struct{ Local, Tried bool }
	// ReleaseMsg asks to free the allocation a revoked key kept (after a
	// confirm).
	ReleaseMsg struct{ ClientID string }
)

// KeyMap is the list's bindings.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
	HalfUp, HalfDown                      key.Binding
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
	Reverse                               key.Binding
	Copy                                  key.Binding
	// Global bindings the root handles, listed here so help shows them.
	Refresh, Help, Quit key.Binding
}

// DefaultKeyMap returns the list's bindings.
func DefaultKeyMap() KeyMap {
	g := keys.NewGlobal()
	return KeyMap{
		Up: keys.Up(), Down: keys.Down(), PageUp: keys.PageUp(), PageDown: keys.PageDown(),
		Home: keys.Home(), End: keys.End(),
		HalfUp:        key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "½ page up")),
		HalfDown:      key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "½ page down")),
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
		Reverse:       key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse sort")),
		Copy:          key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy Client ID")),
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
	reverse     bool   // the sort's opposite direction
	status      string // the last copy's outcome, until the next key

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
	m.relayout()
	m.filter.SetWidth(max(10, w-4))
	m.clamp()
}

func (m *Model) relayout() {
	d := defaultDims
	if m.snap != nil && len(m.snap.Rows) > 0 {
		d = m.snap.widths
	}
	m.lay = computeLayout(m.width, d)
}

// Snapshot returns the data shown.
func (m *Model) Snapshot() *Snapshot { return m.snap }

// SetSnapshot shows new data, keeping the selected key under the cursor
// when it is still there.
func (m *Model) SetSnapshot(s *Snapshot) {
	m.snap = s
	m.relayout()
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

// Reversed reports whether the order runs the other way.
func (m *Model) Reversed() bool { return m.reverse }

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
	switch {
	case narrow && m.view != nil:
		src = m.view
	case m.reverse:
		// The snapshot holds every loaded row, so the other direction is
		// the same order read backwards; no store round trip.
		src = slices.Clone(src)
		slices.Reverse(src)
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
	b.Copy.SetEnabled(!m.filtering && has)
	b.Release.SetEnabled(!m.filtering && has && row.Keeps)
	return b
}

// Update handles the list's keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if c, ok := msg.(CopiedMsg); ok {
		m.status = common.CopiedText(c.Local, c.Tried)
		return nil
	}
	switch mm := msg.(type) {
	case tea.MouseWheelMsg:
		m.wheel(mm)
		return nil
	case tea.MouseClickMsg:
		m.click(mm)
		return nil
	}
	if m.filtering {
		return m.updateFilter(msg)
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	m.status = ""
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
	case key.Matches(k, m.keys.HalfUp):
		m.move(-max(1, m.tableHeight()/2))
	case key.Matches(k, m.keys.HalfDown):
		m.move(max(1, m.tableHeight()/2))
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
	case key.Matches(k, b.Copy):
		return m.copyID(row.ClientID)
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
		m.reverse = false
		m.rebuild(false)
	case key.Matches(k, m.keys.Reverse):
		m.reverse = !m.reverse
		m.rebuild(false)
	}
	return nil
}

// wheel moves the selection one row per notch of the wheel, scrolling
// the table as the keys do. Not while filtering.
func (m *Model) wheel(w tea.MouseWheelMsg) {
	if m.filtering || m.snap == nil {
		return
	}
	m.status = ""
	switch w.Button {
	case tea.MouseWheelUp:
		m.move(-1)
	case tea.MouseWheelDown:
		m.move(1)
	}
}

// RowAt is the index among the visible keys of the row drawn on line y of
// the list's area (0 is its first line: the filter field, when shown, or
// the column titles), or -1 when no row is drawn there.
func (m *Model) RowAt(y int) int {
	if m.snap == nil || m.Empty() || m.lay.tooSmall || m.height < MinHeight {
		return -1
	}
	top := 1 // the column titles
	if m.filtering || m.query != "" {
		top++
	}
	r := y - top
	if r < 0 || r >= m.tableHeight() || m.offset+r >= len(m.view) {
		return -1
	}
	return m.offset + r
}

// click selects the row under a left click (Y within the list's area);
// a click on the selected row opens its details. Not while filtering.
func (m *Model) click(c tea.MouseClickMsg) {
	if m.filtering || c.Button != tea.MouseLeft {
		return
	}
	vi := m.RowAt(c.Y)
	if vi < 0 {
		return
	}
	m.status = ""
	if vi == m.cursor {
		if r, ok := m.Selected(); ok {
			m.Raise(OpenMsg{r.ClientID})
		}
		return
	}
	m.move(vi - m.cursor)
}

// copyID sends the Client ID to the terminal (OSC 52) and, when the root
// has one, to the local clipboard.
func (m *Model) copyID(id string) tea.Cmd {
	return common.CopyClientID(m.c.Clipboard, id, func(local, tried bool) tea.Msg { return CopiedMsg{Local: local, Tried: tried} })
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

// ShortHelp implements help.KeyMap for the current state: the essentials
// always, then the row's actions and the view toggles as the width allows,
// so the bar never ends in "…" over a key that works.
func (m *Model) ShortHelp() []key.Binding {
	k := m.bindings()
	if m.filtering {
		return []key.Binding{k.ApplyFilter, k.ClearFilter}
	}
	if m.Empty() {
		return []key.Binding{keys.Enter("generate key"), k.Refresh, k.Help, k.Quit}
	}
	up := k.Up
	up.SetHelp("↑/↓ j/k", "move")
	clear := k.ClearFilter // a copy: esc must still close an empty filter
	clear.SetEnabled(m.query != "")
	regen := k.Regenerate
	regen.SetHelp("R", "regenerate")
	// slots in display order; rank is the order they are let in (0: always).
	type slot struct {
		b    key.Binding
		rank int
	}
	slots := []slot{
		{up, 0}, {k.Open, 0}, {k.Edit, 2}, {regen, 2}, {k.Revoke, 2}, {k.Release, 2},
		{k.Create, 1}, {k.Filter, 1}, {clear, 0},
		{k.ToggleRevoked, 3}, {k.Sort, 4}, {k.Copy, 5}, {k.Help, 0}, {k.Quit, 0},
	}
	const sep = 3 // " • "
	width := func(b key.Binding) int {
		if !b.Enabled() {
			return 0
		}
		return ansi.StringWidth(b.Help().Key) + 1 + ansi.StringWidth(b.Help().Desc) + sep
	}
	used, in := 0, [6]bool{0: true}
	for _, sl := range slots {
		if sl.rank == 0 {
			used += width(sl.b)
		}
	}
	for rank := 1; rank < len(in); rank++ {
		need := 0
		for _, sl := range slots {
			if sl.rank == rank {
				need += width(sl.b)
			}
		}
		if used+need <= m.width {
			used += need
			in[rank] = true
		}
	}
	out := make([]key.Binding, 0, len(slots))
	for _, sl := range slots {
		if in[sl.rank] {
			out = append(out, sl.b)
		}
	}
	return out
}

// FullHelp implements help.KeyMap for the current state.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.bindings()
	if m.filtering {
		return [][]key.Binding{{k.ApplyFilter, k.ClearFilter}}
	}
	return [][]key.Binding{
		{k.Up, k.Down, k.HalfUp, k.HalfDown, k.PageUp, k.PageDown, k.Home, k.End},
		{k.Open, k.Create, k.Edit, k.Regenerate, k.Revoke, k.Release, k.Copy},
		{k.Filter, k.ClearFilter, k.ToggleRevoked, k.Sort, k.Reverse},
		{k.Refresh, k.Help, k.Quit},
	}
}

// SortMark is the arrow of an order's direction: ▲ ascending (A→Z, oldest
// or least used first), ▼ descending. reverse flips the order's natural one.
func SortMark(s storage.Sort, reverse bool) string {
	asc := s == storage.SortName
	if reverse {
		asc = !asc
	}
	if asc {
		return "▲"
	}
	return "▼"
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

// layout is the widths of the columns for one terminal width; a zero
// width is a column left out.
type layout struct {
	name, id, perm, q, m, created, status, last int
	idFull                                      bool
	exact                                       bool
	bar                                         int
	createdTime                                 bool
	tooSmall                                    bool
}

const selW = 2

// Chrome is the lines the root draws around the list (header, status
// line, one line of help), for the "too small" message.
const Chrome = 5

// The smallest area the list can serve: a name of minName, both quotas
// compact, and one row between the column titles and the footer.
const (
	MinWidth  = selW + minName + 1 + compactW + 1 + compactW
	MinHeight = 3
	minName   = 8
	compactW  = 9 // "9.9k/1.2M": format.Compact is at most 4 cells
	maxBar    = 20
)

func (l layout) total() int {
	w := selW + l.name
	for _, c := range []int{l.id, l.perm, l.q, l.m, l.created, l.status, l.last} {
		if c > 0 {
			w += 1 + c
		}
	}
	return w
}

// quotaW is a quota column's width: its text and, with a bar, the bar.
func (l layout) quotaW(exactW int) int {
	t := compactW
	if l.exact {
		t = max(compactW, exactW)
	}
	if l.bar > 0 {
		return t + 1 + l.bar
	}
	return t
}

// computeLayout fits the columns to width, adding them by priority so a
// value is shown whole or not at all: below 80 columns Perm, the short
// Client ID, Created and the bars go in that order. Wider, the whole
// Client ID and the status come before the Name grows past 16 cells, then
// (with whole names) exact numbers, longer bars, last use and times.
// Whatever is left widens the Name to its longest value, then the bars.
func computeLayout(width int, d dims) layout {
	if width < MinWidth {
		return layout{tooSmall: true}
	}
	l := layout{}
	set := func(c *layout) { c.q, c.m = c.quotaW(d.qExact), c.quotaW(d.mExact) }
	set(&l)
	// try applies f when the row still fits with a Name of floor cells (or
	// the longest name, when shorter).
	try := func(floor int, f func(*layout)) {
		c := l
		f(&c)
		set(&c)
		c.name = min(floor, max(d.name, minName))
		if c.total() <= width {
			c.name = 0
			l = c
		}
	}
	try(10, func(c *layout) { c.perm = 4 })
	try(12, func(c *layout) { c.id = min(13, d.id) })
	try(12, func(c *layout) { c.created = 10 })
	try(12, func(c *layout) { c.bar = 4 })
	try(16, func(c *layout) { c.id, c.idFull = d.id, true })
	try(16, func(c *layout) { c.status = 7 })
	// The rest is nice to have: only once the names are whole (up to 32
	// cells; longer names are cut anyway).
	whole := max(16, min(d.name, 32))
	try(whole, func(c *layout) { c.exact = true })
	try(whole, func(c *layout) { c.bar = max(c.bar, 6) })
	try(whole, func(c *layout) { c.last = 9 })
	try(whole, func(c *layout) { c.bar = max(c.bar, 10) })
	try(whole, func(c *layout) { c.created, c.createdTime = 23, true })
	free := width - l.total()
	l.name = min(free, max(d.name, minName))
	free -= l.name
	if l.bar > 0 && free >= 2 {
		grow := min(free/2, maxBar-l.bar)
		l.bar += max(0, grow)
		set(&l)
	}
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
	if m.lay.tooSmall || m.height < MinHeight {
		// Wrapped, not cut: a cut would misstate the size needed.
		msg := fmt.Sprintf("terminal too small (needs %d×%d)", MinWidth, MinHeight+Chrome)
		return s.Muted.Render(ansi.Wrap(msg, max(1, m.width), " "))
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
	title := func(t string, by storage.Sort) string {
		if m.sort == by {
			return t + " " + SortMark(m.sort, m.reverse)
		}
		return t
	}
	parts := []string{strings.Repeat(" ", selW) + cell(title("Name", storage.SortName), l.name)}
	add := func(t string, w int) {
		if w > 0 {
			parts = append(parts, cell(t, w))
		}
	}
	add("Client ID", l.id)
	add("Perm", l.perm)
	add(title("Query", storage.SortUsage), l.q)
	add(title("Mutation", storage.SortUsage), l.m)
	add(title("Created", storage.SortCreated), l.created)
	add("Status", l.status)
	add("Last used", l.last)
	return m.c.Styles.TableHeader.Render(cell(strings.Join(parts, " "), m.width))
}

func (m *Model) quota(used, alloc int64, w int, fill lipgloss.Style, plain bool) string {
	l := m.lay
	tw := w
	if l.bar > 0 {
		tw = w - l.bar - 1
	}
	text := format.UsedOf(used, alloc, !l.exact)
	if ansi.StringWidth(text) > tw {
		text = format.UsedOf(used, alloc, true) // compact, never cut
	}
	if l.bar == 0 {
		return rcell(text, tw)
	}
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
	if !l.idFull && l.id > 0 && len(id) > l.id {
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
	parts := []string{mark + text(ansi.Strip(r.Name), l.name, s.Value)}
	if l.id > 0 {
		parts = append(parts, text(id, l.id, s.Muted))
	}
	if l.perm > 0 {
		parts = append(parts, text(r.Perms.Short(), l.perm, s.Value))
	}
	parts = append(parts,
		m.quota(r.QueryUsed, r.QueryAlloc, l.q, s.QueryBar, plain),
		m.quota(r.MutationUsed, r.MutationAlloc, l.m, s.MutateBar, plain))
	if l.created > 0 {
		parts = append(parts, text(created, l.created, s.Muted))
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

// footer is the position and the view's state, segment by segment: one
// that does not fit is left out, never cut (its numbers would misread).
func (m *Model) footer() string {
	s := m.c.Styles
	n := len(m.view)
	var segs []string
	if n == 0 {
		segs = append(segs, "0 keys")
	} else {
		end := min(n, m.offset+m.tableHeight())
		pos := format.Int(int64(m.offset+1)) + "–" + format.Int(int64(end)) + " of " + format.Int(int64(n))
		if n == 1 {
			pos += " key"
		} else {
			pos += " keys"
		}
		segs = append(segs, pos)
	}
	if m.status != "" {
		segs = append(segs, m.status)
	} else {
		segs = append(segs, "sorted by "+SortLabel(m.sort)+" "+SortMark(m.sort, m.reverse))
		if m.snap.Revoked > 0 {
			if m.showRevoked {
				segs = append(segs, "revoked shown")
			} else {
				segs = append(segs, format.Int(int64(m.snap.Revoked))+" revoked hidden")
			}
		}
	}
	if !m.snap.Complete {
		segs = append(segs, "loaded "+format.Int(int64(len(m.snap.Rows)))+" of "+format.Int(int64(m.snap.Total))+"…")
	}
	line := ""
	for _, sg := range segs {
		next := sg
		if line != "" {
			next = line + " · " + sg
		}
		if ansi.StringWidth(next) <= m.width {
			line = next
		}
	}
	return s.Footer.Render(cell(line, m.width))
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
