// Package wizard is the creation dialog of the API Keys screen, step by
// step: name, permissions, Query and Mutation allocations, review. The same
// widgets edit an existing key. Nothing is written until the review is
// confirmed: the wizard only sends SubmitMsg, and the parent does the write.
package wizard

import (
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/tui/common"
	"github.com/keydeck/keydeck/tui/format"
	"github.com/keydeck/keydeck/tui/keys"
	"github.com/keydeck/keydeck/tui/slider"
	"github.com/keydeck/keydeck/tui/styles"
)

// Intents the wizard raises.
type (
	// SubmitMsg asks the parent to create a key (Edit nil) or to apply an
	// edit to ClientID.
	SubmitMsg struct {
		Spec     model.KeySpec
		ClientID string
		Edit     *model.KeyEdit
	}
	// CancelMsg: the user left the wizard; nothing was written.
	CancelMsg struct{}
)

// nameCheckedMsg carries the answer of the name check.
type nameCheckedMsg struct {
	name string
	err  error
}

// NameChecker tells whether a name is free among the account's active keys:
// nil when it is, model.ErrDuplicateName when it is taken, another error
// when the store could not say. It runs in a command, never in Update.
type NameChecker func(name string) error

// Step is one page of the wizard.
type Step int

const (
	StepName Step = iota
	StepPermissions
	StepQuery
	StepMutation
	StepReview
	nSteps
)

var stepNames = [nSteps]string{"Name", "Permissions", "Query", "Mutation", "Review"}

// Examples are the name hints from the vendor's documentation.
var Examples = []string{"Backend-Server-Key", "Mobile-App-Key", "Video-Pipeline-Key"}

// KeyMap is the wizard's bindings.
type KeyMap struct {
	Continue, Back, Cancel key.Binding
	Up, Down, Toggle       key.Binding
	// Pick ticks or unticks a permission by its number, one binding per
	// entry of model.Permissions().
	Pick                 []key.Binding
	Submit, SwitchButton key.Binding
	Slider               slider.KeyMap
	// Help is the root's, listed so the help bar shows it.
	Help key.Binding
}

// DefaultKeyMap returns the wizard's bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Continue:     keys.Enter("continue"),
		Back:         key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back a step")),
		Cancel:       key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "cancel")),
		Up:           keys.Up(),
		Down:         keys.Down(),
		Toggle:       key.NewBinding(key.WithKeys("space", "x"), key.WithHelp("space", "toggle")),
		Submit:       keys.Enter("create"),
		SwitchButton: key.NewBinding(key.WithKeys("tab", "shift+tab", "left", "right"), key.WithHelp("tab", "switch button")),
		Slider:       slider.DefaultKeyMap(),
		Pick:         pickBindings(len(model.Permissions())),
		Help:         keys.NewGlobal().Help,
	}
}

func pickBindings(n int) []key.Binding {
	b := make([]key.Binding, n)
	for i := range b {
		d := fmt.Sprint(i + 1)
		b[i] = key.NewBinding(key.WithKeys(d), key.WithHelp(d, "toggle"))
	}
	return b
}

// Model is the wizard.
type Model struct {
	common.Intents
	c      *common.Common
	editID string     // the Client ID of the key being edited; "" when creating
	edit   *model.Key // that key, once SetKey brought it
	check  NameChecker

	step     Step
	name     textinput.Model
	nameErr  string
	checking bool

	perms      model.Permission
	permCursor int
	permErr    string

	query, mutation slider.Model
	touched         [2]bool // the user moved the Query / Mutation slider
	stepErr         string  // a store error that belongs to the current step

	// typeahead holds keys pressed while the name is being checked or the
	// edited key loaded; they are replayed once the answer is back.
	typeahead []tea.KeyPressMsg
	// leftover holds the typed-ahead keys after one that raised an intent
	// on replay: they are for the screen the intent opens (TakeLeftovers).
	leftover []tea.Msg

	reviewFocus int // 0 the submit button, 1 back
	submitting  bool

	keys          KeyMap
	width, height int
}

var (
	_ common.Component = (*Model)(nil)
	_ common.TextInput = (*Model)(nil)
	_ common.Leftovers = (*Model)(nil)
)

// New starts the creation wizard for the account in c.
func New(c *common.Common, check NameChecker) *Model {
	st := c.Styles
	m := &Model{c: c, check: check, keys: DefaultKeyMap(), perms: model.PermRead}
	m.name = newNameInput(st)
	q, mu := c.Account.QueryAvailable(), c.Account.MutationAvailable()
	m.query = slider.New("Query allocation", q/10, q, st, st.QueryBar)
	m.mutation = slider.New("Mutation allocation", mu/10, mu, st, st.MutateBar)
	m.SetSize(80, 20)
	m.notes()
	return m
}

// NewEdit starts the wizard on the key with the given Client ID. Until
// SetKey brings the key it says it is loading, and keeps what is typed.
func NewEdit(c *common.Common, clientID string, check NameChecker) *Model {
	m := New(c, check)
	m.editID = clientID
	return m
}

// Loading reports whether an edit waits for its key.
func (m *Model) Loading() bool { return m.editID != "" && m.edit == nil }

// SetKey fills the edit form with the key's values and replays the keys
// typed while it loaded.
func (m *Model) SetKey(k model.Key) tea.Cmd {
	st := m.c.Styles
	m.edit = &k
	m.name.SetValue(k.Name)
	m.name.CursorEnd()
	m.perms = k.Permissions
	m.query = slider.New("Query allocation", k.QueryAlloc, m.bound(model.KindQuery), st, st.QueryBar)
	m.mutation = slider.New("Mutation allocation", k.MutationAlloc, m.bound(model.KindMutation), st, st.MutateBar)
	m.SetSize(m.width, m.height)
	m.notes()
	return m.replay()
}

// replay feeds the keys typed ahead back through Update, stopping at the
// first that raises an intent; the keys after it are kept for the root to
// hand on once it has handled the intent (TakeLeftovers).
func (m *Model) replay() tea.Cmd {
	queued := m.typeahead
	m.typeahead = nil
	var cmds []tea.Cmd
	for i, k := range queued {
		cmds = append(cmds, m.Update(k))
		if m.Raised() {
			for _, rest := range queued[i+1:] {
				m.leftover = append(m.leftover, rest)
			}
			break
		}
	}
	return tea.Batch(cmds...)
}

// TakeLeftovers returns the typed-ahead keys that followed the one that
// raised the intent just taken, once (see common.Leftovers).
func (m *Model) TakeLeftovers() []tea.Msg {
	l := m.leftover
	m.leftover = nil
	return l
}

func newNameInput(st styles.Styles) textinput.Model {
	in := textinput.New()
	in.Prompt = "› "
	in.Placeholder = Examples[0]
	in.CharLimit = 2 * model.MaxNameLen // longer input is explained, not cut
	in.SetStyles(st.Input)
	in.Focus()
	return in
}

// bound is how much of a kind this key may be given: what is unallocated,
// plus what the key being edited holds now.
func (m *Model) bound(k model.Kind) int64 {
	b := m.c.Account.Available(k)
	if m.edit != nil {
		b += m.edit.Holds(k)
	}
	return b
}

// Init focuses the name field.
func (m *Model) Init() tea.Cmd { return m.name.Focus() }

// Editing reports whether the wizard edits an existing key.
func (m *Model) Editing() bool { return m.editID != "" }

// ClientID is the key being edited, "" when creating.
func (m *Model) ClientID() string { return m.editID }

// Step is the current step.
func (m *Model) Step() Step { return m.step }

// InTextField reports whether keys are typed into a text field.
func (m *Model) InTextField() bool { return m.step == StepName }

// sliderErr reports whether the current step's slider shows an error.
func (m *Model) sliderErr() bool {
	return m.step == StepQuery && m.query.Err() != nil || m.step == StepMutation && m.mutation.Err() != nil
}

// Err is the error shown on the current step, "" when none.
func (m *Model) Err() string {
	switch m.step {
	case StepName:
		return m.nameErr
	case StepPermissions:
		return m.permErr
	case StepQuery:
		if err := m.query.Err(); err != nil {
			return err.Error()
		}
	case StepMutation:
		if err := m.mutation.Err(); err != nil {
			return err.Error()
		}
	}
	return m.stepErr
}

// Name is the name as typed.
func (m *Model) Name() string { return m.name.Value() }

// Permissions are the ticked permissions.
func (m *Model) Permissions() model.Permission { return m.perms }

// Query and Mutation are the slider values.
func (m *Model) Query() int64    { return m.query.Value() }
func (m *Model) Mutation() int64 { return m.mutation.Value() }

// SetSize sets the area (and restyles the fields with the current styles).
func (m *Model) SetSize(w, h int) {
	st := m.c.Styles
	m.name.SetStyles(st.Input)
	m.query.SetStyles(st, st.QueryBar)
	m.mutation.SetStyles(st, st.MutateBar)
	m.width, m.height = w, h
	m.name.SetWidth(max(20, min(w-6, model.MaxNameLen+2)))
	m.query.SetSize(w-2, h)
	m.mutation.SetSize(w-2, h)
}

// AccountChanged updates the bounds after the account in common changed.
func (m *Model) AccountChanged() {
	m.query.SetMax(m.bound(model.KindQuery))
	m.mutation.SetMax(m.bound(model.KindMutation))
}

// SetSubmitError shows a failed create or edit on the step it belongs to.
func (m *Model) SetSubmitError(err error) {
	m.submitting = false
	var ve *model.ValidationError
	var ae *model.AllocationError
	switch {
	case errors.Is(err, model.ErrDuplicateName):
		m.goTo(StepName)
		m.nameErr = m.duplicateText(strings.TrimSpace(m.name.Value()))
	case errors.As(err, &ve) && ve.Field == "name":
		m.goTo(StepName)
		m.nameErr = ve.Msg
	case errors.As(err, &ve) && ve.Field == "permissions":
		m.goTo(StepPermissions)
		m.permErr = ve.Msg
	case errors.As(err, &ae):
		if ae.Kind == model.KindQuery {
			m.goTo(StepQuery)
		} else {
			m.goTo(StepMutation)
		}
		m.stepErr = ae.Error()
	default:
		m.stepErr = err.Error()
	}
}

func (m *Model) duplicateText(name string) string {
	return fmt.Sprintf("an active key named %q already exists; choose another name", model.Sanitize(name, 64))
}

func (m *Model) goTo(s Step) {
	m.step = s
	m.stepErr = ""
	if s == StepName {
		m.name.Focus()
	} else {
		m.name.Blur()
	}
	if s == StepReview {
		m.reviewFocus = 0
	}
	// Untouched sliders of a new key start at a tenth of what is available,
	// or at 0 when the permissions make that kind useless.
	if m.edit == nil && s == StepQuery && !m.touched[0] {
		m.query.SetValue(defaultAlloc(m.perms.Has(model.PermRead), m.query.Max()))
	}
	if m.edit == nil && s == StepMutation && !m.touched[1] {
		m.mutation.SetValue(defaultAlloc(m.perms&(model.PermWrite|model.PermDelete) != 0, m.mutation.Max()))
	}
	m.notes()
}

func defaultAlloc(useful bool, available int64) int64 {
	if !useful {
		return 0
	}
	return available / 10
}

// notes explains allocations the permissions make useless.
func (m *Model) notes() {
	m.query.Note, m.mutation.Note = "", ""
	if !m.perms.Has(model.PermRead) {
		m.query.Note = "This key has no read permission: its queries are refused (403) whatever it is given."
	}
	if m.perms&(model.PermWrite|model.PermDelete) == 0 {
		m.mutation.Note = "This key has neither write nor delete permission: its mutations are refused (403) whatever it is given."
	}
}

// Update handles the wizard's keys and the name check.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if nc, ok := msg.(nameCheckedMsg); ok {
		m.checking = false
		if nc.name != strings.TrimSpace(m.name.Value()) || m.step != StepName {
			m.typeahead = nil
			return nil // the user typed on
		}
		switch {
		case errors.Is(nc.err, model.ErrDuplicateName):
			m.typeahead = nil
			m.nameErr = m.duplicateText(nc.name)
			return nil
		case nc.err != nil:
			m.typeahead = nil
			m.nameErr = "could not check the name: " + nc.err.Error()
			return nil
		}
		m.goTo(StepPermissions)
		return m.replay()
	}
	k, ok := msg.(tea.KeyPressMsg)
	if ok && (m.checking || m.Loading()) && !key.Matches(k, m.keys.Cancel, m.keys.Back) {
		m.typeahead = append(m.typeahead, k)
		return nil
	}
	if !ok {
		if m.step == StepName {
			var cmd tea.Cmd
			m.name, cmd = m.name.Update(msg)
			return cmd
		}
		return nil
	}
	if m.submitting {
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Cancel):
		m.Raise(CancelMsg{})
		return nil
	case key.Matches(k, m.keys.Back):
		if m.step == StepName {
			m.Raise(CancelMsg{})
			return nil
		}
		m.goTo(m.step - 1)
		return nil
	}
	switch m.step {
	case StepName:
		return m.updateName(k)
	case StepPermissions:
		m.updatePerms(k)
	case StepQuery, StepMutation:
		m.updateSlider(k)
	case StepReview:
		m.updateReview(k)
	}
	return nil
}

func (m *Model) updateName(k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keys.Continue) {
		if m.checking {
			return nil
		}
		n, err := model.NormalizeName(m.name.Value())
		if err != nil {
			m.nameErr = err.Error()
			return nil
		}
		m.nameErr = ""
		if m.check == nil || (m.edit != nil && n == m.edit.Name) {
			m.goTo(StepPermissions)
			return nil
		}
		m.checking = true
		check := m.check
		return func() tea.Msg { return nameCheckedMsg{name: n, err: check(n)} }
	}
	before := m.name.Value()
	var cmd tea.Cmd
	m.name, cmd = m.name.Update(k)
	if m.name.Value() != before {
		m.nameErr = ""
		m.checking = false
	}
	return cmd
}

// pick is the permission a digit key names, or -1.
func (m *Model) pick(k tea.KeyPressMsg) int {
	for i, b := range m.keys.Pick {
		if key.Matches(k, b) {
			return i
		}
	}
	return -1
}

func (m *Model) updatePerms(k tea.KeyPressMsg) {
	infos := model.Permissions()
	switch {
	case key.Matches(k, m.keys.Up):
		m.permCursor = (m.permCursor + len(infos) - 1) % len(infos)
	case key.Matches(k, m.keys.Down):
		m.permCursor = (m.permCursor + 1) % len(infos)
	case key.Matches(k, m.keys.Toggle):
		m.perms ^= infos[m.permCursor].Perm
		m.permErr = ""
		m.notes()
	case m.pick(k) >= 0:
		i := m.pick(k)
		m.permCursor = i
		m.perms ^= infos[i].Perm
		m.permErr = ""
		m.notes()
	case key.Matches(k, m.keys.Continue):
		if !m.perms.Valid() {
			m.permErr = "choose at least one permission (read, write, delete)"
			return
		}
		m.goTo(StepQuery)
	}
}

func (m *Model) updateSlider(k tea.KeyPressMsg) {
	sl := &m.query
	if m.step == StepMutation {
		sl = &m.mutation
	}
	if key.Matches(k, m.keys.Continue) {
		if sl.Err() != nil {
			return
		}
		m.goTo(m.step + 1)
		return
	}
	m.stepErr = ""
	*sl, _ = sl.Update(k)
	m.touched[m.step-StepQuery] = true
}

func (m *Model) updateReview(k tea.KeyPressMsg) {
	switch {
	case key.Matches(k, m.keys.SwitchButton):
		m.reviewFocus = 1 - m.reviewFocus
	case key.Matches(k, m.keys.Submit):
		if m.reviewFocus == 1 {
			m.goTo(StepMutation)
			return
		}
		m.submit()
	}
}

func (m *Model) submit() {
	name, err := model.NormalizeName(m.name.Value())
	if err != nil {
		m.goTo(StepName)
		m.nameErr = err.Error()
		return
	}
	if m.edit == nil {
		spec := model.KeySpec{Name: name, Permissions: m.perms, QueryAlloc: m.query.Value(), MutationAlloc: m.mutation.Value()}
		if err := spec.Validate(); err != nil {
			m.SetSubmitError(err)
			return
		}
		m.submitting = true
		m.Raise(SubmitMsg{Spec: spec})
		return
	}
	e := m.changes(name)
	if e.Empty() {
		m.Raise(CancelMsg{})
		return
	}
	if err := e.Validate(); err != nil {
		m.SetSubmitError(err)
		return
	}
	m.submitting = true
	m.Raise(SubmitMsg{ClientID: m.edit.ClientID, Edit: &e})
}

// changes is the edit: only the fields that differ from the key.
func (m *Model) changes(name string) model.KeyEdit {
	var e model.KeyEdit
	k := m.edit
	if name != k.Name {
		e.Name = &name
	}
	if m.perms != k.Permissions {
		p := m.perms
		e.Permissions = &p
	}
	if v := m.query.Value(); v != k.QueryAlloc {
		e.QueryAlloc = &v
	}
	if v := m.mutation.Value(); v != k.MutationAlloc {
		e.MutationAlloc = &v
	}
	return e
}

// help is the root's help binding, on while ? is not text.
func (m *Model) help() key.Binding {
	h := m.keys.Help
	h.SetEnabled(!m.InTextField())
	return h
}

// ShortHelp implements help.KeyMap for the current step.
func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	switch m.step {
	case StepPermissions:
		move := k.Up
		move.SetHelp("↑/↓ j/k", "move")
		return []key.Binding{move, k.Toggle, k.Continue, k.Back, m.help()}
	case StepQuery, StepMutation:
		return append(k.Slider.ShortHelp(), k.Continue, k.Back, m.help())
	case StepReview:
		sub := k.Submit
		if m.edit != nil {
			sub.SetHelp("enter", "save")
		}
		return []key.Binding{sub, k.SwitchButton, k.Back, m.help()}
	}
	back := k.Back
	back.SetHelp("esc", "cancel")
	return []key.Binding{k.Continue, back, m.help()}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	help := []key.Binding{m.help()}
	switch m.step {
	case StepPermissions:
		return [][]key.Binding{{k.Up, k.Down, k.Toggle}, {k.Continue, k.Back, k.Cancel}, help}
	case StepQuery, StepMutation:
		return append(k.Slider.FullHelp(), []key.Binding{k.Continue, k.Back, k.Cancel}, help)
	}
	short := m.ShortHelp()
	return [][]key.Binding{short[:len(short)-1], {k.Cancel}, help}
}

// View draws the current step.
func (m *Model) View() string {
	s := m.c.Styles
	var b strings.Builder
	if m.Loading() {
		return s.Title.Render("Edit key") + "\n" + s.Muted.Render("  loading the key…")
	}
	title := "Generate API Key"
	if m.edit != nil {
		title = "Edit key — " + m.edit.Name
	}
	b.WriteString(s.Title.Render(title) + "\n")
	b.WriteString(m.stepper() + "\n\n")
	switch m.step {
	case StepName:
		b.WriteString(m.nameView())
	case StepPermissions:
		b.WriteString(m.permsView())
	case StepQuery:
		b.WriteString(m.query.View())
	case StepMutation:
		b.WriteString(m.mutation.View())
	case StepReview:
		b.WriteString(m.reviewView())
	}
	// A slider that shows its own error (the store said the amount no
	// longer fits, and the reload lowered its bound) says it once.
	if m.stepErr != "" && !m.sliderErr() {
		b.WriteString("\n\n" + format.Wrap("✗ "+m.stepErr, m.width, 2, s.ErrorText))
	}
	return b.String()
}

func (m *Model) stepper() string {
	s := m.c.Styles
	parts := make([]string, nSteps)
	for i := Step(0); i < nSteps; i++ {
		label := fmt.Sprintf("%d %s", i+1, stepNames[i])
		switch {
		case i < m.step:
			parts[i] = s.StepDone.Render("✓ " + stepNames[i])
		case i == m.step:
			parts[i] = s.StepCurrent.Render(label)
		default:
			parts[i] = s.StepTodo.Render(label)
		}
	}
	return strings.Join(parts, s.Muted.Render(" › "))
}

func (m *Model) nameView() string {
	s := m.c.Styles
	var b strings.Builder
	b.WriteString(s.Title.Render("Key name") + "\n")
	b.WriteString(format.Wrap("A label that tells you what the key is for (1–64 characters, unique among active keys).", m.width, 0, s.Muted) + "\n\n")
	b.WriteString("  " + m.name.View() + "\n")
	b.WriteString(format.Wrap("e.g. "+strings.Join(Examples, ", "), m.width, 4, s.Hint) + "\n")
	switch {
	case m.nameErr != "":
		b.WriteString("\n" + format.Wrap("✗ "+m.nameErr, m.width, 2, s.ErrorText))
	case m.checking:
		b.WriteString("\n" + s.Muted.Render("  checking the name…"))
	}
	return b.String()
}

func (m *Model) permsView() string {
	s := m.c.Styles
	var b strings.Builder
	b.WriteString(s.Title.Render("Permissions") + "\n")
	b.WriteString(s.Muted.Render("What the key may do. Requests without the permission get 403 Forbidden.") + "\n\n")
	for i, p := range model.Permissions() {
		box := "[ ]"
		if m.perms.Has(p.Perm) {
			box = "[x]"
		}
		pre, st := "  ", s.Checkbox
		if i == m.permCursor {
			pre, st = "▸ ", s.CheckboxFocus
		}
		name := fmt.Sprintf("%s %-7s", box, strings.ToUpper(p.Name[:1])+p.Name[1:])
		b.WriteString(pre + st.Render(name) + " " + s.Muted.Render(p.Description) + "\n")
	}
	if m.permErr != "" {
		b.WriteString("\n" + format.Wrap("✗ "+m.permErr, m.width, 2, s.ErrorText))
	}
	return b.String()
}

func (m *Model) reviewView() string {
	s := m.c.Styles
	var b strings.Builder
	b.WriteString(s.Title.Render("Review") + "\n")
	if m.edit == nil {
		b.WriteString(s.Muted.Render("Nothing is written until you choose Create key.") + "\n\n")
	} else {
		b.WriteString(s.Muted.Render("Nothing is written until you choose Save changes.") + "\n\n")
	}
	name, _ := model.NormalizeName(m.name.Value())
	row := func(label, value, old string) {
		b.WriteString("  " + s.Label.Render(fmt.Sprintf("%-13s", label)) + s.Value.Render(value))
		if m.edit != nil && old != value {
			b.WriteString(s.Muted.Render("  (was " + old + ")"))
		}
		b.WriteString("\n")
	}
	var oldName, oldPerm, oldQ, oldM string
	if m.edit != nil {
		oldName, oldPerm = m.edit.Name, permText(m.edit.Permissions)
		oldQ, oldM = format.Int(m.edit.QueryAlloc), format.Int(m.edit.MutationAlloc)
	}
	row("Name", name, oldName)
	row("Permissions", permText(m.perms), oldPerm)
	row("Query", format.Int(m.query.Value()), oldQ)
	row("Mutation", format.Int(m.mutation.Value()), oldM)
	// A key holds max(allocation, used this period), so an edited key that
	// has used more than its new allocation still holds what it used.
	qHeld, mHeld := m.query.Value(), m.mutation.Value()
	if m.edit != nil {
		qHeld, mHeld = max(qHeld, m.edit.QueryUsed), max(mHeld, m.edit.MutationUsed)
	}
	b.WriteString("  " + s.Muted.Render(fmt.Sprintf("%-13s%s Query and %s Mutation left unallocated afterwards", "",
		format.Int(m.query.Max()-qHeld), format.Int(m.mutation.Max()-mHeld))) + "\n")
	if m.edit != nil {
		for _, c := range []struct {
			kind, ops   string
			alloc, used int64
		}{{"Query", "queries", m.query.Value(), m.edit.QueryUsed}, {"Mutation", "mutations", m.mutation.Value(), m.edit.MutationUsed}} {
			if c.alloc < c.used {
				b.WriteString(format.Wrap(fmt.Sprintf("⚠ %s %s is below the %s it has used this period: its %s get 429 Quota Exceeded until the period resets.",
					c.kind, format.Int(c.alloc), format.Int(c.used), c.ops), m.width, 2, s.Warn) + "\n")
			}
		}
	}
	b.WriteString("\n")
	submit := "Create key"
	if m.edit != nil {
		submit = "Save changes"
		if m.changes(name).Empty() {
			submit = "Nothing changed — close"
		}
	}
	bs, bb := s.Button.Render("  "+submit), s.Button.Render("  Back")
	if m.reviewFocus == 0 {
		bs = s.ButtonFocused.Render("▸ " + submit)
	} else {
		bb = s.ButtonFocused.Render("▸ Back")
	}
	b.WriteString("  " + bs + "   " + bb)
	if m.submitting {
		b.WriteString("\n\n" + s.Muted.Render("  saving…"))
	}
	return b.String()
}

func permText(p model.Permission) string { return strings.Join(p.List(), ", ") }
