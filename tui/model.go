package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/tui/confirm"
	"github.com/keydeck/keydeck/tui/detail"
	"github.com/keydeck/keydeck/tui/format"
	"github.com/keydeck/keydeck/tui/keylist"
	"github.com/keydeck/keydeck/tui/keys"
	"github.com/keydeck/keydeck/tui/reveal"
	"github.com/keydeck/keydeck/tui/styles"
	"github.com/keydeck/keydeck/tui/wizard"
)

// Screen is what the body of the window shows.
type Screen int

const (
	ScreenList Screen = iota
	ScreenDetail
	ScreenWizard
	ScreenReveal
	ScreenConfirm
)

func (s Screen) String() string {
	return [...]string{"list", "detail", "wizard", "reveal", "confirm"}[s]
}

// pending is the action a confirm dialog is about.
type pending struct {
	regenerate bool // else revoke
	clientID   string
}

// Model is the root of one TUI session.
type Model struct {
	ctx context.Context
	st  storage.Store
	opt Options

	styles          styles.Styles
	isDark, noColor bool
	width, height   int

	screen Screen

	account     model.Account
	haveAccount bool

	list    keylist.Model
	detail  detail.Model
	wizard  wizard.Model
	reveal  reveal.Model
	confirm confirm.Model
	pending pending

	help    help.Model
	spinner spinner.Model
	global  keys.Global

	busy      int    // store calls in flight
	busyLabel string // what the latest foreground call does
	gen       int    // generation of the latest key load
	loading   bool
	lastLoad  time.Duration
	refreshSq int

	errText  string
	errWhat  string // what failed, as given to setError
	info     string
	infoID   int
	quitting bool

	// tick starts a timer (tea.Tick; tests that drive Update by hand turn
	// timers off).
	tick func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
}

// New returns the root model of a session on st.
func New(ctx context.Context, st storage.Store, opt Options) *Model {
	if ctx == nil {
		ctx = context.Background()
	}
	opt = opt.withDefaults()
	m := &Model{ctx: ctx, st: st, opt: opt, isDark: true, noColor: NoColor(opt.Environ), global: keys.NewGlobal(), tick: tea.Tick}
	m.styles = styles.New(m.isDark, m.noColor)
	m.list = keylist.New(m.styles, opt.Location, opt.Now)
	m.help = help.New()
	m.help.Styles = m.styles.Help
	m.spinner = spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(m.styles.Spinner))
	m.width, m.height = 80, 24
	m.layout()
	return m
}

// Screen is the screen shown now.
func (m *Model) Screen() Screen { return m.screen }

// List, Detail, Wizard, Reveal and Confirm expose the screens, for tests.
func (m *Model) List() keylist.Model    { return m.list }
func (m *Model) Detail() detail.Model   { return m.detail }
func (m *Model) Wizard() wizard.Model   { return m.wizard }
func (m *Model) Reveal() reveal.Model   { return m.reveal }
func (m *Model) Confirm() confirm.Model { return m.confirm }
func (m *Model) Account() model.Account { return m.account }
func (m *Model) ErrorText() string      { return m.errText }
func (m *Model) InfoText() string       { return m.info }
func (m *Model) Styles() styles.Styles  { return m.styles }
func (m *Model) Size() (w, h int)       { return m.width, m.height }
func (m *Model) Loaded() bool           { return m.list.Snapshot() != nil }
func (m *Model) LoadedAll() bool        { s := m.list.Snapshot(); return s != nil && s.Complete }
func (m *Model) SetStyles(isDark bool)  { m.isDark = isDark; m.restyle() }
func (m *Model) HelpShown() bool        { return m.help.ShowAll }
func (m *Model) Quitting() bool         { return m.quitting }

// Init loads the account and the first page of keys, asks the terminal for
// its background and starts the refresh timer.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.begin(""), m.loadAccount(), m.startLoad(true), tea.RequestBackgroundColor, m.scheduleRefresh())
}

func (m *Model) startLoad(first bool) tea.Cmd {
	m.gen++
	m.loading = true
	return tea.Batch(m.begin(""), m.loadKeys(m.gen, first))
}

// begin counts a store call in flight and starts the spinner if needed.
func (m *Model) begin(label string) tea.Cmd {
	m.busy++
	if label != "" {
		m.busyLabel = label
	}
	if m.busy == 1 {
		return m.spinner.Tick
	}
	return nil
}

func (m *Model) end() {
	if m.busy > 0 {
		m.busy--
	}
	if m.busy == 0 {
		m.busyLabel = ""
	}
}

func (m *Model) scheduleRefresh() tea.Cmd {
	if m.opt.Refresh < 0 {
		return nil
	}
	d := max(m.opt.Refresh, 10*m.lastLoad)
	m.refreshSq++
	seq := m.refreshSq
	return m.tick(d, func(time.Time) tea.Msg { return RefreshTickMsg{Seq: seq} })
}

func (m *Model) restyle() {
	m.styles = styles.New(m.isDark, m.noColor)
	m.help.Styles = m.styles.Help
	m.spinner.Style = m.styles.Spinner
	m.list.SetStyles(m.styles)
	if m.detail.ClientID() != "" {
		m.detail.SetStyles(m.styles)
	}
	if m.screen == ScreenWizard {
		m.wizard.SetStyles(m.styles)
	}
	m.reveal.SetStyles(m.styles)
	m.confirm.SetStyles(m.styles)
}

const headerHeight = 3

// layout hands each screen the area between header and help.
func (m *Model) layout() {
	m.help.SetWidth(m.width)
	h := m.bodyHeight()
	m.list.SetSize(m.width, h)
	if m.detail.ClientID() != "" {
		m.detail.SetSize(m.width, h)
	}
	if m.screen == ScreenWizard {
		m.wizard.SetSize(m.width, h)
	}
	m.reveal.SetSize(m.width, h)
	m.confirm.SetSize(m.width, h)
}

func (m *Model) bodyHeight() int { return m.bodyHeightWith(m.helpView()) }

// bodyHeightWith is the screen's height under the given help.
func (m *Model) bodyHeightWith(help string) int {
	return max(1, m.height-headerHeight-1-lipgloss.Height(help))
}

func (m *Model) setInfo(s string) tea.Cmd {
	m.info = s
	m.infoID++
	id := m.infoID
	return m.tick(6*time.Second, func(time.Time) tea.Msg { return infoExpiredMsg{ID: id} })
}

// loadKeys names the key-list load in its error, so a later load that
// succeeds can tell the error is its own and clear it.
const loadKeys = "load the keys"

func (m *Model) setError(what string, err error) {
	m.errText, m.errWhat = errorText(what, err), what
	m.info = ""
}

func (m *Model) clearError() { m.errText, m.errWhat = "", "" }

// Update routes a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tea.BackgroundColorMsg:
		m.isDark = msg.IsDark()
		m.restyle()
		return m, nil
	case tea.ColorProfileMsg:
		if nc := msg.Profile <= colorprofile.ASCII; nc != m.noColor && (nc || !NoColor(m.opt.Environ)) {
			m.noColor = nc
			m.restyle()
		}
		return m, nil
	case spinner.TickMsg:
		if m.busy == 0 {
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case RefreshTickMsg:
		if msg.Seq != m.refreshSq {
			return m, nil
		}
		cmds := []tea.Cmd{m.scheduleRefresh()}
		if !m.loading {
			cmds = append(cmds, m.startLoad(false))
		}
		if m.detailShown() {
			cmds = append(cmds, m.begin(""), m.loadDetail(m.detail.ClientID()))
		}
		return m, tea.Batch(cmds...)
	case infoExpiredMsg:
		if msg.ID == m.infoID {
			m.info = ""
		}
		return m, nil
	case KeysLoadedMsg:
		return m, m.keysLoaded(msg)
	case AccountLoadedMsg:
		m.end()
		if msg.Err != nil {
			m.setError("load the account", msg.Err)
			return m, nil
		}
		if !m.haveAccount {
			m.account, m.haveAccount = msg.Account, true
		}
		return m, nil
	case DetailLoadedMsg:
		m.end()
		if msg.Err != nil {
			m.setError("load the key", msg.Err)
			return m, nil
		}
		if m.detail.ClientID() == msg.ClientID || m.detail.ClientID() == msg.Key.ClientID {
			m.detail.SetData(msg.Key, msg.Usage, msg.Audit)
		}
		return m, nil
	case KeyCreatedMsg:
		m.end()
		m.wizard = wizard.Model{}
		m.reveal = reveal.New(msg.Key, msg.Secret, false, m.styles, m.clipboard())
		m.layout()
		m.screen = ScreenReveal
		m.list.Select(msg.Key.ClientID)
		m.clearError()
		return m, m.startLoad(false)
	case KeyRegeneratedMsg:
		m.end()
		m.reveal = reveal.New(msg.Key, msg.Secret, true, m.styles, m.clipboard())
		m.layout()
		m.screen = ScreenReveal
		m.clearError()
		return m, m.startLoad(false)
	case KeyEditedMsg:
		m.end()
		m.wizard = wizard.Model{}
		m.screen = m.base()
		m.clearError()
		cmds := []tea.Cmd{m.setInfo(fmt.Sprintf("Saved changes to %q.", msg.Key.Name)), m.startLoad(false)}
		if m.screen == ScreenDetail {
			m.detail.SetData(msg.Key, nil, nil)
			cmds = append(cmds, m.begin(""), m.loadDetail(msg.Key.ClientID))
		}
		return m, tea.Batch(cmds...)
	case KeyRevokedMsg:
		m.end()
		text := fmt.Sprintf("Key %q revoked; its allocation went back to the account.", msg.Key.Name)
		if msg.Key.KeepsAllocation {
			text = fmt.Sprintf("Key %q revoked; it keeps holding its allocation until released.", msg.Key.Name)
		}
		return m, m.afterWrite(msg.Key, text)
	case KeyReleasedMsg:
		m.end()
		return m, m.afterWrite(msg.Key, fmt.Sprintf("The allocation of %q went back to the account.", msg.Key.Name))
	case SubmitFailedMsg:
		m.end()
		if m.screen == ScreenWizard {
			m.wizard.SetSubmitError(msg.Err)
		} else {
			m.setError("save the key", msg.Err)
		}
		return m, m.startLoad(false) // the account may have changed under us
	case OpFailedMsg:
		m.end()
		m.setError(msg.What, msg.Err)
		return m, m.startLoad(false)

	// What the screens ask for.
	case keylist.OpenMsg:
		return m, m.openDetail(keyOfRow(msg.Row))
	case keylist.CreateMsg:
		return m, m.openWizard(nil)
	case keylist.EditMsg:
		k := keyOfRow(msg.Row)
		return m, m.openWizard(&k)
	case keylist.RegenerateMsg:
		return m, m.askRegenerate(keyOfRow(msg.Row))
	case keylist.RevokeMsg:
		return m, m.askRevoke(keyOfRow(msg.Row))
	case detail.BackMsg:
		m.screen = ScreenList
		m.detail = detail.Model{}
		return m, nil
	case detail.EditMsg:
		return m, m.openWizard(&msg.Key)
	case detail.RegenerateMsg:
		return m, m.askRegenerate(msg.Key)
	case detail.RevokeMsg:
		return m, m.askRevoke(msg.Key)
	case detail.ReleaseMsg:
		return m, tea.Batch(m.begin("releasing the allocation"), m.releaseKey(msg.Key.ClientID))
	case wizard.CancelMsg:
		m.wizard = wizard.Model{}
		m.screen = m.base()
		return m, nil
	case wizard.SubmitMsg:
		if msg.Edit != nil {
			return m, tea.Batch(m.begin("saving the key"), m.editKey(msg.ClientID, *msg.Edit))
		}
		return m, tea.Batch(m.begin("creating the key"), m.createKey(msg.Spec))
	case confirm.ResultMsg:
		m.screen = m.base()
		p := m.pending
		m.pending, m.confirm = pending{}, confirm.Model{}
		if !msg.Confirmed {
			return m, nil
		}
		if p.regenerate {
			return m, tea.Batch(m.begin("regenerating the secret"), m.regenerateKey(p.clientID))
		}
		return m, tea.Batch(m.begin("revoking the key"), m.revokeKey(p.clientID, !msg.Option))
	case reveal.DoneMsg:
		// The secret goes with the reveal model: no other model holds it.
		m.reveal = reveal.Model{}
		m.screen = m.base()
		if m.screen == ScreenDetail {
			return m, tea.Batch(m.begin(""), m.loadDetail(msg.ClientID))
		}
		return m, nil
	case reveal.CopiedMsg:
		var cmd tea.Cmd
		m.reveal, cmd = m.reveal.Update(msg)
		return m, cmd
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	// Anything else (cursor blinks, paste) goes to the screen shown.
	return m, m.toScreen(msg)
}

// detailShown reports whether a key's details are open, on screen or under
// a wizard, confirm dialog or reveal.
func (m *Model) detailShown() bool { return m.detail.ClientID() != "" }

// base is the screen a wizard, confirm dialog or reveal returns to: the
// details when they are open (they may have been closed meanwhile, while
// the store was answering), else the list.
func (m *Model) base() Screen {
	if m.detailShown() {
		return ScreenDetail
	}
	return ScreenList
}

func (m *Model) afterWrite(k model.Key, info string) tea.Cmd {
	m.clearError()
	cmds := []tea.Cmd{m.setInfo(info), m.startLoad(false)}
	if m.detailShown() && m.detail.ClientID() == k.ClientID {
		m.detail.SetData(k, nil, nil)
		cmds = append(cmds, m.begin(""), m.loadDetail(k.ClientID))
	}
	return tea.Batch(cmds...)
}

func (m *Model) keysLoaded(msg KeysLoadedMsg) tea.Cmd {
	m.end()
	if msg.Gen != m.gen {
		return nil // a newer load is on its way
	}
	if msg.Err != nil {
		m.loading = false
		m.setError(loadKeys, msg.Err)
		return nil
	}
	if m.errWhat == loadKeys {
		m.clearError() // the store is back
	}
	if msg.Account.Name != "" {
		m.account, m.haveAccount = msg.Account, true
		if m.screen == ScreenWizard {
			m.wizard.SetAccount(msg.Account)
		}
	}
	m.list.SetSnapshot(msg.Snap)
	if msg.Next != "" {
		return tea.Batch(m.begin(""), m.loadRest(m.gen, msg.Account, msg.Snap, msg.Next))
	}
	m.loading = false
	m.lastLoad = msg.Took
	return nil
}

func keyOfRow(r keylist.Row) model.Key {
	k := model.Key{
		Name: r.Name, ClientID: r.ClientID, Permissions: r.Perms,
		QueryAlloc: r.QueryAlloc, QueryUsed: r.QueryUsed,
		MutationAlloc: r.MutationAlloc, MutationUsed: r.MutationUsed,
		CreatedAt: time.Unix(r.Created, 0), Status: model.StatusActive, KeepsAllocation: r.Keeps,
	}
	if r.Revoked {
		k.Status = model.StatusRevoked
	}
	if r.LastUsed > 0 {
		t := time.Unix(r.LastUsed, 0)
		k.LastUsedAt = &t
	}
	return k
}

func (m *Model) openDetail(k model.Key) tea.Cmd {
	m.detail = detail.New(k, m.styles, m.opt.Location, m.opt.Now)
	m.screen = ScreenDetail
	m.layout()
	return tea.Batch(m.begin("loading the key"), m.loadDetail(k.ClientID))
}

func (m *Model) openWizard(edit *model.Key) tea.Cmd {
	if !m.haveAccount {
		m.errText, m.errWhat = "the account is still loading; try again in a moment", ""
		return nil
	}
	if edit != nil {
		m.wizard = wizard.NewEdit(*edit, m.account, m.styles, m.nameChecker(edit.ClientID))
	} else {
		m.wizard = wizard.New(m.account, m.styles, m.nameChecker(""))
	}
	m.screen = ScreenWizard
	m.help.ShowAll = false
	m.layout()
	return m.wizard.Init()
}

func (m *Model) askRegenerate(k model.Key) tea.Cmd {
	m.pending = pending{regenerate: true, clientID: k.ClientID}
	m.confirm = confirm.New(confirm.Spec{
		Title: "Regenerate the secret of “" + k.Name + "”?",
		Body: []string{
			"The previous secret becomes invalid immediately: every service still using it gets 401 until it has the new one.",
			"Client ID, quotas and usage stay as they are. The new secret is shown once.",
		},
		ConfirmLabel: "Regenerate secret",
	}, m.styles)
	m.screen = ScreenConfirm
	m.layout()
	return nil
}

func (m *Model) askRevoke(k model.Key) tea.Cmd {
	m.pending = pending{clientID: k.ClientID}
	m.confirm = confirm.New(confirm.Spec{
		Title: "Revoke “" + k.Name + "”?",
		Body: []string{
			"Client ID " + k.ClientID + " and its secret stop working immediately and for good. Usage history and audit events are kept.",
		},
		ConfirmLabel: "Revoke key",
		// What goes back is what the key has not used this period: it keeps
		// holding what it used until the period resets.
		OptionLabel: fmt.Sprintf("Return its unused allocation to the account (%s Query, %s Mutation)",
			format.Int(k.Remaining(model.KindQuery)), format.Int(k.Remaining(model.KindMutation))),
		OptionValue: true,
	}, m.styles)
	m.screen = ScreenConfirm
	m.layout()
	return nil
}

func (m *Model) clipboard() reveal.Clipboard {
	if m.opt.Clipboard == ClipboardOSC52 {
		return nil
	}
	return localClipboard(m.opt.WriteClipboard)
}

// inTextField reports whether keys are being typed into a field, where q
// and ? are text.
func (m *Model) inTextField() bool {
	switch m.screen {
	case ScreenList:
		return m.list.Filtering()
	case ScreenWizard:
		return m.wizard.InTextField()
	}
	return false
}

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if !m.inTextField() {
		switch {
		case m.screen == ScreenList && key.Matches(k, m.global.Quit):
			m.quitting = true
			return tea.Quit
		case key.Matches(k, m.global.Help):
			m.help.ShowAll = !m.help.ShowAll
			m.layout()
			return nil
		case (m.screen == ScreenList || m.screen == ScreenDetail) && key.Matches(k, m.global.Dismiss) && (m.errText != "" || m.help.ShowAll):
			if m.help.ShowAll {
				m.help.ShowAll = false
			} else {
				m.clearError()
			}
			m.layout()
			return nil
		case (m.screen == ScreenList || m.screen == ScreenDetail) && key.Matches(k, m.global.Refresh):
			cmds := []tea.Cmd{m.startLoad(false)}
			if m.screen == ScreenDetail {
				cmds = append(cmds, m.begin(""), m.loadDetail(m.detail.ClientID()))
			}
			return tea.Batch(cmds...)
		}
	}
	return m.toScreen(k)
}

func (m *Model) toScreen(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	var intent tea.Msg
	switch m.screen {
	case ScreenList:
		before := m.list.Filtering()
		m.list, cmd = m.list.Update(msg)
		intent = m.list.TakeIntent()
		if m.list.Filtering() != before {
			m.layout()
		}
	case ScreenDetail:
		m.detail, cmd = m.detail.Update(msg)
		intent = m.detail.TakeIntent()
	case ScreenWizard:
		m.wizard, cmd = m.wizard.Update(msg)
		intent = m.wizard.TakeIntent()
	case ScreenReveal:
		m.reveal, cmd = m.reveal.Update(msg)
		intent = m.reveal.TakeIntent()
	case ScreenConfirm:
		m.confirm, cmd = m.confirm.Update(msg)
		intent = m.confirm.TakeIntent()
	}
	if intent != nil {
		// Handled now, not through a command: keys already queued behind
		// this one must reach the screen it opens.
		_, next := m.Update(intent)
		return tea.Batch(cmd, next)
	}
	return cmd
}

// helpMap is the help of the screen shown, plus the root's bindings.
type helpMap struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpMap) ShortHelp() []key.Binding  { return h.short }
func (h helpMap) FullHelp() [][]key.Binding { return h.full }

func (m *Model) keyMap() helpMap {
	var h helpMap
	switch m.screen {
	case ScreenList:
		h = helpMap{m.list.ShortHelp(), m.list.FullHelp()}
	case ScreenDetail:
		h = helpMap{m.detail.ShortHelp(), m.detail.FullHelp()}
	case ScreenWizard:
		h = helpMap{m.wizard.ShortHelp(), m.wizard.FullHelp()}
	case ScreenReveal:
		h = helpMap{m.reveal.ShortHelp(), m.reveal.FullHelp()}
	case ScreenConfirm:
		h = helpMap{m.confirm.ShortHelp(), m.confirm.FullHelp()}
	}
	if !m.inTextField() && m.screen != ScreenList && m.screen != ScreenDetail {
		h.short = append(h.short, m.global.Help)
		h.full = append(h.full, []key.Binding{m.global.Help})
	}
	if m.errText != "" && (m.screen == ScreenList || m.screen == ScreenDetail) && !m.inTextField() {
		h.short = append([]key.Binding{m.global.Dismiss}, h.short...)
	}
	return h
}

// helpView is the help, cut to the width and to what leaves the screen at
// least three lines.
func (m *Model) helpView() string {
	lines := strings.Split(m.help.View(m.keyMap()), "\n")
	room := max(1, m.height-headerHeight-1-3)
	if len(lines) > room {
		lines = lines[:room]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > m.width {
			lines[i] = ansi.Truncate(l, max(0, m.width-1), "…")
		}
	}
	return strings.Join(lines, "\n")
}

// View draws header, screen, status line and help.
func (m *Model) View() tea.View {
	var v tea.View
	v.AltScreen = true
	v.WindowTitle = "keydeck — API Keys"
	if m.quitting {
		return v
	}
	v.SetContent(m.render())
	return v
}

// Render is the frame as text (what View shows), for tests and benchmarks.
func (m *Model) Render() string { return m.render() }

func (m *Model) render() string {
	var b strings.Builder
	b.WriteString(m.header())
	b.WriteByte('\n')
	help := m.helpView()
	body := m.body()
	b.WriteString(fit(body, m.width, m.bodyHeightWith(help)))
	b.WriteByte('\n')
	b.WriteString(m.statusLine())
	b.WriteByte('\n')
	b.WriteString(help)
	return fit(b.String(), m.width, m.height)
}

// fit cuts or pads s to exactly h lines of at most w cells.
func fit(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "")
		}
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

func (m *Model) body() string {
	switch m.screen {
	case ScreenDetail:
		return m.detail.View()
	case ScreenWizard:
		return m.wizard.View()
	case ScreenReveal:
		return m.reveal.View()
	case ScreenConfirm:
		return m.confirm.View()
	}
	return m.list.View()
}

func (m *Model) header() string {
	s := m.styles
	sep := s.Breadcrumb.Render(" › ")
	crumbs := s.Breadcrumb.Render("Settings") + sep + s.Breadcrumb.Render("API Access") + sep
	switch {
	case m.detailShown():
		crumbs += s.Breadcrumb.Render("API Keys") + sep + s.Crumb.Render(ansi.Truncate(m.detail.Key().Name, 24, "…"))
	case m.screen == ScreenWizard && !m.wizard.Editing():
		crumbs += s.Breadcrumb.Render("API Keys") + sep + s.Crumb.Render("Generate")
	default:
		crumbs += s.Crumb.Render("API Keys")
	}
	right := ""
	if m.busy > 0 {
		right = m.spinner.View() + " "
		if m.busyLabel != "" {
			right += s.Muted.Render(m.busyLabel + "… ")
		}
	}
	right += s.Label.Render("account ") + s.Account.Render(ansi.Truncate(m.account.Name, 20, "…"))
	if !m.haveAccount {
		right = strings.TrimSuffix(right, s.Account.Render(""))
	}
	line1 := spread(crumbs, right, m.width)

	var line2 string
	if m.haveAccount {
		a := m.account
		exact := func(avail, total int64) string {
			return format.Int(avail) + " of " + format.Int(total)
		}
		qa, ma := a.QueryAvailable(), a.MutationAvailable()
		line2 = s.Label.Render("Unallocated  ") +
			s.Label.Render("Query ") + s.Value.Render(exact(qa, a.QueryTotal)) + s.Muted.Render(" · ") +
			s.Label.Render("Mutation ") + s.Value.Render(exact(ma, a.MutationTotal)) + s.Muted.Render(" · ") +
			s.Label.Render("Credits ") + s.Value.Render(format.Int(a.Credits))
		if lipgloss.Width(line2) > m.width {
			line2 = s.Label.Render("Free ") +
				s.Label.Render("Q ") + s.Value.Render(format.Compact(qa)+"/"+format.Compact(a.QueryTotal)) + s.Muted.Render(" · ") +
				s.Label.Render("M ") + s.Value.Render(format.Compact(ma)+"/"+format.Compact(a.MutationTotal)) + s.Muted.Render(" · ") +
				s.Label.Render("Credits ") + s.Value.Render(format.Compact(a.Credits))
		}
	} else {
		line2 = s.Muted.Render("loading the account…")
	}
	rule := s.Muted.Render(strings.Repeat("─", max(0, m.width)))
	return fit(line1+"\n"+line2+"\n"+rule, m.width, headerHeight)
}

// spread puts left and right on one line of width w.
func spread(left, right string, w int) string {
	gap := w - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return ansi.Truncate(left+" "+right, w, "")
	}
	return left + strings.Repeat(" ", gap) + right
}

func (m *Model) statusLine() string {
	s := m.styles
	switch {
	case m.errText != "":
		text := "✗ " + m.errText
		if m.screen == ScreenList || m.screen == ScreenDetail {
			text += "  (esc dismisses)"
		}
		return s.StatusError.Render(ansi.Truncate(text, m.width, "…"))
	case m.info != "":
		return s.StatusInfo.Render(ansi.Truncate("✓ "+m.info, m.width, "…"))
	}
	return ""
}
