package tui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
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
	"github.com/keydeck/keydeck/tui/common"
	"github.com/keydeck/keydeck/tui/confirm"
	"github.com/keydeck/keydeck/tui/detail"
	"github.com/keydeck/keydeck/tui/format"
	"github.com/keydeck/keydeck/tui/keylist"
	"github.com/keydeck/keydeck/tui/keys"
	"github.com/keydeck/keydeck/tui/reveal"
	"github.com/keydeck/keydeck/tui/styles"
	"github.com/keydeck/keydeck/tui/wizard"
)

// pending is the action a confirm dialog is about.
type pending struct {
	op       string // opRegenerate, opRevoke or opRelease
	clientID string
}

// Model is the root of one TUI session. It owns the screens: the key list,
// always open; the details of one key over it, when open; and one dialog
// (the wizard, a confirm dialog or the one-time reveal) over both, when
// open. The topmost is the active screen: it gets the keys and its help is
// shown. Every screen shares the session's common.Common.
type Model struct {
	ctx context.Context
	st  storage.Store
	opt Options

	c               *common.Common
	isDark, noColor bool
	width, height   int
	bodyH           int // the height the screens were last given

	list    *keylist.Model
	detail  *detail.Model    // nil when closed
	dialog  common.Component // nil when closed
	pending pending

	help    help.Model
	spinner spinner.Model
	global  keys.Global

	busy       int    // store calls in flight
	busyLabel  string // what the latest foreground call does
	gen        int    // generation of the latest key load
	loading    bool
	lastLoad   time.Duration
	refreshSeq int

	// accountErr is why the account could not be read at start (nil once
	// it has been); retryIn is the wait before the next try, which grows.
	accountErr error
	retryIn    time.Duration
	retrySeq   int

	errText string
	errWhat string // what failed, as given to setError
	// errDown: the error shown is a load that failed because the store
	// could not be reached; the next load that succeeds clears it.
	errDown  bool
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
	m.c = &common.Common{Styles: styles.New(m.isDark, m.noColor), Location: opt.Location, Now: opt.Now}
	if opt.Clipboard != ClipboardOSC52 {
		m.c.Clipboard = localClipboard(opt.WriteClipboard)
	}
	m.list = keylist.New(m.c)
	m.help = help.New()
	m.help.Styles = m.c.Styles.Help
	m.spinner = spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(m.c.Styles.Spinner))
	m.width, m.height = 80, 24
	m.layout()
	return m
}

// Size is the window's size as last told.
func (m *Model) Size() (w, h int) { return m.width, m.height }

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
	m.refreshSeq++
	seq := m.refreshSeq
	return m.tick(d, func(time.Time) tea.Msg { return RefreshTickMsg{Seq: seq} })
}

// restyle builds the session's styles again (background or colour
// profile changed); the screens read them from common and redo what they
// cached in SetSize.
func (m *Model) restyle() {
	m.c.Styles = styles.New(m.isDark, m.noColor)
	m.help.Styles = m.c.Styles.Help
	m.spinner.Style = m.c.Styles.Spinner
	m.layout()
}

const headerHeight = 3

// layout hands each open screen the area between header and help.
func (m *Model) layout() {
	m.help.SetWidth(m.width)
	m.bodyH = m.bodyHeight()
	m.list.SetSize(m.width, m.bodyH)
	if m.detail != nil {
		m.detail.SetSize(m.width, m.bodyH)
	}
	if m.dialog != nil {
		m.dialog.SetSize(m.width, m.bodyH)
	}
}

// active is the screen that gets the keys and shows its help: the dialog,
// else the details, else the list.
func (m *Model) active() common.Component {
	switch {
	case m.dialog != nil:
		return m.dialog
	case m.detail != nil:
		return m.detail
	}
	return m.list
}

// onPage reports whether the list or the details are shown, no dialog:
// where refresh and dismissing an error apply.
func (m *Model) onPage() bool { return m.dialog == nil }

// openDialog shows a wizard, confirm dialog or reveal over the page.
func (m *Model) openDialog(c common.Component) {
	m.dialog = c
	m.layout()
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
	m.setErrorText(errorText(what, err), what)
	m.errDown = errors.Is(err, storage.ErrUnavailable)
}

// setErrorText shows text on the status line as an error, in place of any
// info line; what names the call that failed ("" when none did), for
// clearing the error once that call succeeds.
func (m *Model) setErrorText(text, what string) {
	m.errText, m.errWhat, m.errDown = text, what, false
	m.info = ""
}

func (m *Model) clearError() { m.errText, m.errWhat, m.errDown = "", "", false }

// loaded notes a load that succeeded: the store answers again, so a load
// error that said it could not be reached is over, whichever load it was.
// A failed write's message stays: it says what the write left.
func (m *Model) loaded() {
	if m.errDown {
		m.clearError()
	}
}

// Update routes a message. When it changes what the help takes up, the
// screens are laid out again.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	if m.bodyHeight() != m.bodyH {
		m.layout()
	}
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return nil
	case tea.BackgroundColorMsg:
		m.isDark = msg.IsDark()
		m.restyle()
		return nil
	case tea.ColorProfileMsg:
		if nc := msg.Profile <= colorprofile.ASCII; nc != m.noColor && (nc || !NoColor(m.opt.Environ)) {
			m.noColor = nc
			m.restyle()
		}
		return nil
	case spinner.TickMsg:
		if m.busy == 0 {
			return nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return cmd
	case RefreshTickMsg:
		if msg.Seq != m.refreshSeq {
			return nil
		}
		cmds := []tea.Cmd{m.scheduleRefresh()}
		if !m.loading {
			cmds = append(cmds, m.startLoad(false))
		}
		if m.detail != nil {
			cmds = append(cmds, m.begin(""), m.loadDetail(m.detail.ClientID()))
		}
		return tea.Batch(cmds...)
	case infoExpiredMsg:
		if msg.ID == m.infoID {
			m.info = ""
		}
		return nil
	case KeysLoadedMsg:
		return m.keysLoaded(msg)
	case AccountLoadedMsg:
		m.end()
		if msg.Err != nil {
			if m.c.HaveAccount {
				m.setError("load the account", msg.Err)
				return nil
			}
			return m.accountFailed(msg.Err)
		}
		m.accountErr, m.retryIn = nil, 0
		m.loaded()
		if !m.c.HaveAccount {
			m.c.Account, m.c.HaveAccount = msg.Account, true
		}
		return nil
	case accountRetryMsg:
		if msg.Seq != m.retrySeq || m.c.HaveAccount {
			return nil
		}
		cmds := []tea.Cmd{m.begin(""), m.loadAccount()}
		if m.list.Snapshot() == nil && !m.loading {
			cmds = append(cmds, m.startLoad(true))
		}
		return tea.Batch(cmds...)
	case DetailLoadedMsg:
		m.end()
		if msg.Err != nil {
			m.setError("load the key", msg.Err)
			if m.detail != nil && m.detail.ClientID() == msg.ClientID {
				m.detail.SetLoadFailed()
			}
			return nil
		}
		m.loaded()
		if m.detail != nil && (m.detail.ClientID() == msg.ClientID || m.detail.ClientID() == msg.Key.ClientID) {
			m.detail.SetData(msg.Key, msg.Usage, msg.Audit)
		}
		return nil
	case EditKeyLoadedMsg:
		m.end()
		w, ok := m.dialog.(*wizard.Model)
		if !ok || w.ClientID() != msg.ClientID || !w.Loading() {
			return nil // the form was closed meanwhile
		}
		if msg.Err != nil {
			m.dialog = nil
			m.setError("load the key", msg.Err)
			return nil
		}
		return m.settle(w, w.SetKey(msg.Key))
	case KeyCreatedMsg:
		m.end()
		m.openDialog(reveal.New(m.c, msg.Key, msg.Secret, false)) // the wizard goes
		m.list.Select(msg.Key.ClientID)
		m.clearError()
		return m.startLoad(false)
	case KeyRegeneratedMsg:
		m.end()
		m.openDialog(reveal.New(m.c, msg.Key, msg.Secret, true))
		m.clearError()
		return m.startLoad(false)
	case KeyEditedMsg:
		m.end()
		m.dialog = nil
		m.clearError()
		if m.detail != nil {
			m.detail.GotoTop() // title and status line in view again
		}
		return m.afterWrite(msg.Key, fmt.Sprintf("Saved changes to %q.", msg.Key.Name))
	case KeyRevokedMsg:
		m.end()
		text := fmt.Sprintf("Key %q revoked; %s", msg.Key.Name, returned(msg.Key))
		if msg.Key.KeepsAllocation {
			text = fmt.Sprintf("Key %q revoked; it keeps holding its allocation until released.", msg.Key.Name)
		}
		return m.afterWrite(msg.Key, text)
	case KeyReleasedMsg:
		m.end()
		return m.afterWrite(msg.Key, fmt.Sprintf("Released %q; %s", msg.Key.Name, returned(msg.Key)))
	case SubmitFailedMsg:
		m.end()
		if w, ok := m.dialog.(*wizard.Model); ok {
			w.SetSubmitError(msg.Err)
		} else {
			m.setErrorText(opErrorText(opSave, msg.Err), opSave)
		}
		return m.startLoad(false) // the account may have changed under us
	case OpFailedMsg:
		m.end()
		m.setErrorText(opErrorText(msg.What, msg.Err), msg.What)
		return m.startLoad(false)

	// Intents the screens raise (see common.Intents).
	case keylist.OpenMsg:
		return m.openDetail(msg.ClientID)
	case keylist.CreateMsg:
		return m.openWizard("")
	case keylist.EditMsg:
		return m.openWizard(msg.ClientID)
	case keylist.RegenerateMsg:
		return m.askRegenerate(msg.ClientID)
	case keylist.RevokeMsg:
		return m.askRevoke(msg.ClientID)
	case detail.BackMsg:
		m.detail = nil
		return nil
	case detail.EditMsg:
		return m.openWizard(msg.ClientID)
	case detail.RegenerateMsg:
		return m.askRegenerate(msg.ClientID)
	case detail.RevokeMsg:
		return m.askRevoke(msg.ClientID)
	case detail.ReleaseMsg:
		return m.askRelease(msg.ClientID)
	case detail.CopiedMsg:
		return m.setInfo(common.CopiedText(msg.Local, msg.Tried))
	case keylist.ReleaseMsg:
		return m.askRelease(msg.ClientID)
	case wizard.CancelMsg:
		m.dialog = nil
		return nil
	case wizard.SubmitMsg:
		if msg.Edit != nil {
			return tea.Batch(m.begin("saving the key"), m.editKey(msg.ClientID, *msg.Edit))
		}
		return tea.Batch(m.begin("creating the key"), m.createKey(msg.Spec))
	case confirm.ResultMsg:
		m.dialog = nil
		p := m.pending
		m.pending = pending{}
		if !msg.Confirmed {
			return nil
		}
		switch p.op {
		case opRegenerate:
			return tea.Batch(m.begin("regenerating the secret"), m.regenerateKey(p.clientID))
		case opRelease:
			return tea.Batch(m.begin("releasing the allocation"), m.releaseKey(p.clientID))
		}
		return tea.Batch(m.begin("revoking the key"), m.revokeKey(p.clientID, !msg.Option))
	case reveal.DoneMsg:
		// The secret goes with the reveal: no other model holds it.
		m.dialog = nil
		if m.detail != nil {
			return tea.Batch(m.begin(""), m.loadDetail(msg.ClientID))
		}
		return nil
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.MouseWheelMsg:
		if !m.opt.Mouse || m.dialog != nil {
			return nil // never in a dialog: the reveal stays selectable
		}
		return m.toScreen(msg)
	case tea.MouseClickMsg:
		if !m.opt.Mouse || m.dialog != nil || m.detail != nil {
			return nil
		}
		msg.Y -= headerHeight // the list's own lines
		return m.settle(m.list, m.list.Update(msg))
	case tea.MouseReleaseMsg, tea.MouseMotionMsg:
		return nil
	}
	// Anything else (copy results, name checks, cursor blinks, paste) goes
	// to the screen shown.
	return m.toScreen(msg)
}

// afterWrite shows what a write did, reloads the list and refreshes the
// details when they show the key written.
func (m *Model) afterWrite(k model.Key, info string) tea.Cmd {
	m.clearError()
	cmds := []tea.Cmd{m.setInfo(info), m.startLoad(false)}
	if m.detail != nil && m.detail.ClientID() == k.ClientID {
		m.detail.SetKey(k)
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
		// A failed write's message says what it left; the reload after it
		// failing too (the server is gone) must not replace it.
		if m.errText == "" || m.errWhat == loadKeys {
			m.setError(loadKeys, msg.Err)
		}
		return nil
	}
	if m.errWhat == loadKeys {
		m.clearError() // the store is back
	}
	m.loaded()
	if msg.Account.Name != "" {
		m.accountErr, m.retryIn = nil, 0
		m.c.Account, m.c.HaveAccount = msg.Account, true
		if w, ok := m.dialog.(*wizard.Model); ok {
			w.AccountChanged()
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

// accountFailed handles the account not loading at start: a wrong token
// will not fix itself, so it is said and not retried; anything else (the
// server not there yet) is retried, waiting 2 s, then longer, up to 10 s.
func (m *Model) accountFailed(err error) tea.Cmd {
	m.accountErr = err
	if errors.Is(err, model.ErrUnauthorized) || errors.Is(err, context.Canceled) {
		return nil
	}
	m.retryIn = min(10*time.Second, max(2*time.Second, 2*m.retryIn))
	m.retrySeq++
	seq := m.retrySeq
	return m.tick(m.retryIn, func(time.Time) tea.Msg { return accountRetryMsg{Seq: seq} })
}

// accountProblem says on the main screen why there is no account yet and
// what to do; "" while it is simply loading.
func (m *Model) accountProblem() string {
	err := m.accountErr
	switch {
	case err == nil:
		return ""
	case errors.Is(err, model.ErrUnauthorized):
		return "the API token is invalid or missing: check --token or KEYDECK_TOKEN"
	case errors.Is(err, context.Canceled):
		return "could not load the account: cancelled"
	}
	where := "the server"
	if m.opt.Source != "" {
		where = m.opt.Source
	}
	var down *storage.DatabaseDownError
	switch {
	case errors.As(err, &down):
		// The database server, named as the store names it (host and
		// port), not the keydeck server or file the header shows.
		return fmt.Sprintf("%s; retrying every %s", down.Error(), m.retryIn)
	case errors.Is(err, storage.ErrUnavailable):
		return fmt.Sprintf("cannot reach %s; retrying every %s", where, m.retryIn)
	}
	return fmt.Sprintf("%s; retrying every %s", errorText("load the account", err), m.retryIn)
}

// returned says what a revoke or release gave back: the unused part of the
// allocation. What the key used this period stays held until the reset,
// and saying "its allocation went back" would hide that.
func returned(k model.Key) string {
	kinds := func(f func(model.Kind) int64) string {
		var parts []string
		if n := f(model.KindQuery); n > 0 {
			parts = append(parts, format.Int(n)+" Query")
		}
		if n := f(model.KindMutation); n > 0 {
			parts = append(parts, format.Int(n)+" Mutation")
		}
		return strings.Join(parts, " and ")
	}
	back := kinds(k.Remaining)
	if back == "" {
		back = "nothing went back to the account"
	} else {
		back += " went back to the account"
	}
	used := kinds(k.Used)
	if used == "" {
		return back + "."
	}
	until := "until the period resets"
	if k.ResetsAt == nil {
		until = "(the period never resets)"
	}
	return fmt.Sprintf("%s; the %s it used stay held %s.", back, used, until)
}

// openDetail opens the details of a key, titled with its name from the
// list until the store answers.
func (m *Model) openDetail(id string) tea.Cmd {
	r, _ := m.list.Row(id)
	m.detail = detail.New(m.c, id, r.Name)
	m.layout()
	return tea.Batch(m.begin("loading the key"), m.loadDetail(id))
}

// openWizard opens the creation wizard (id "") or the edit form of a key:
// filled in at once from the details when they show the key, else once the
// store answers (the form keeps what is typed meanwhile).
func (m *Model) openWizard(id string) tea.Cmd {
	if !m.c.HaveAccount {
		if p := m.accountProblem(); p != "" {
			m.setErrorText(p, "")
		} else {
			m.setErrorText("the account is still loading; try again in a moment", "")
		}
		return nil
	}
	m.help.ShowAll = false
	if id == "" {
		w := wizard.New(m.c, m.nameChecker(""))
		m.openDialog(w)
		return w.Init()
	}
	w := wizard.NewEdit(m.c, id, m.nameChecker(id))
	m.openDialog(w)
	if d := m.detail; d != nil && d.ClientID() == id && d.HasKey() {
		return tea.Batch(w.Init(), w.SetKey(d.Key()))
	}
	return tea.Batch(w.Init(), m.begin("loading the key"), m.loadEditKey(id))
}

// about is what the confirm dialogs say of a key: its name and what it has
// not used this period, from the details when they show the key, else from
// the list.
func (m *Model) about(id string) (name string, query, mutation int64) {
	if d := m.detail; d != nil && d.ClientID() == id && d.HasKey() {
		k := d.Key()
		return k.Name, k.Remaining(model.KindQuery), k.Remaining(model.KindMutation)
	}
	r, _ := m.list.Row(id)
	return r.Name, r.Remaining(model.KindQuery), r.Remaining(model.KindMutation)
}

func (m *Model) askRegenerate(id string) tea.Cmd {
	name, _, _ := m.about(id)
	m.pending = pending{op: opRegenerate, clientID: id}
	m.openDialog(confirm.New(m.c, confirm.Spec{
		Title: "Regenerate the secret of “" + name + "”?",
		Body: []string{
			"The previous secret becomes invalid immediately: every service still using it gets 401 until it has the new one.",
			"Client ID, quotas and usage stay as they are. The new secret is shown once.",
		},
		ConfirmLabel: "Regenerate secret",
	}))
	return nil
}

func (m *Model) askRevoke(id string) tea.Cmd {
	name, query, mutation := m.about(id)
	m.pending = pending{op: opRevoke, clientID: id}
	m.openDialog(confirm.New(m.c, confirm.Spec{
		Title: "Revoke “" + name + "”?",
		Body: []string{
			"Client ID " + id + " and its secret stop working immediately and for good. Usage history and audit events are kept.",
		},
		ConfirmLabel: "Revoke key",
		// What goes back is what the key has not used this period: it keeps
		// holding what it used until the period resets.
		OptionLabel: fmt.Sprintf("Return its unused allocation to the account (%s Query, %s Mutation)",
			format.Int(query), format.Int(mutation)),
		OptionValue: true,
	}))
	return nil
}

// askRelease confirms giving back what a revoked key kept, as the CLI
// does: it cannot be undone.
func (m *Model) askRelease(id string) tea.Cmd {
	name, query, mutation := m.about(id)
	m.pending = pending{op: opRelease, clientID: id}
	m.openDialog(confirm.New(m.c, confirm.Spec{
		Title: "Release the allocation of “" + name + "”?",
		Body: []string{
			fmt.Sprintf("The revoked key gives back what it has not used this period (%s Query, %s Mutation) to the account; what it used stays held until the period resets.",
				format.Int(query), format.Int(mutation)),
		},
		ConfirmLabel: "Release allocation",
	}))
	return nil
}

// key handles the root's own keys (quit, help, dismiss, refresh) where
// they apply, and hands every other key to the active screen.
func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if !common.InTextField(m.active()) {
		switch {
		case m.onPage() && m.detail == nil && key.Matches(k, m.global.Quit):
			m.quitting = true
			return tea.Quit
		case key.Matches(k, m.global.Help):
			m.help.ShowAll = !m.help.ShowAll
			m.layout()
			return nil
		case m.onPage() && key.Matches(k, m.global.Dismiss) && (m.errText != "" || m.help.ShowAll):
			if m.help.ShowAll {
				m.help.ShowAll = false
			} else {
				m.clearError()
			}
			m.layout()
			return nil
		case m.onPage() && key.Matches(k, m.global.Refresh):
			cmds := []tea.Cmd{m.startLoad(false)}
			if m.detail != nil {
				cmds = append(cmds, m.begin(""), m.loadDetail(m.detail.ClientID()))
			}
			return tea.Batch(cmds...)
		}
	}
	return m.toScreen(k)
}

// toScreen hands a message to the active screen.
func (m *Model) toScreen(msg tea.Msg) tea.Cmd {
	s := m.active()
	return m.settle(s, s.Update(msg))
}

// settle handles the intent s raised, if any, now rather than through a
// command: keys already queued behind the one that raised it must reach
// the screen it opens (see common.Intents). Keys s had typed ahead behind
// that one (common.Leftovers) follow, as if just typed.
func (m *Model) settle(s common.Component, cmd tea.Cmd) tea.Cmd {
	in := s.TakeIntent()
	if in == nil {
		return cmd
	}
	cmds := []tea.Cmd{cmd, m.update(in)}
	for _, k := range common.TakeLeftovers(s) {
		cmds = append(cmds, m.update(k))
	}
	return tea.Batch(cmds...)
}

// rootKeyMap is the active screen's help with the root's dismiss binding
// in front, enabled when there is an error to dismiss.
type rootKeyMap struct {
	dismiss key.Binding
	screen  help.KeyMap
}

func (h rootKeyMap) ShortHelp() []key.Binding {
	return append([]key.Binding{h.dismiss}, h.screen.ShortHelp()...)
}

func (h rootKeyMap) FullHelp() [][]key.Binding { return h.screen.FullHelp() }

func (m *Model) keyMap() help.KeyMap {
	s := m.active()
	dismiss := m.global.Dismiss
	dismiss.SetEnabled(m.errText != "" && m.onPage() && !common.InTextField(s))
	return rootKeyMap{dismiss: dismiss, screen: s}
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
	v.MouseMode = m.mouseMode()
	return v
}

// mouseMode is cell motion with Options.Mouse, except while the reveal is
// shown: the terminal must let the user select the secret there.
func (m *Model) mouseMode() tea.MouseMode {
	if _, reveal := m.dialog.(*reveal.Model); reveal || !m.opt.Mouse {
		return tea.MouseModeNone
	}
	return tea.MouseModeCellMotion
}

func (m *Model) render() string {
	// Below what the list can serve no screen is worth drawing: a cut
	// dialog or form misleads more than a plain request to resize.
	if w, h := keylist.MinWidth, keylist.MinHeight+keylist.Chrome; m.width < w || m.height < h {
		msg := fmt.Sprintf("terminal too small (needs %d×%d)", w, h)
		return fit(format.Wrap(msg, m.width, 0, m.c.Styles.Muted), m.width, m.height)
	}
	var b strings.Builder
	b.WriteString(m.header())
	b.WriteByte('\n')
	help := m.helpView()
	b.WriteString(fit(m.active().View(), m.width, m.bodyHeightWith(help)))
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

func (m *Model) header() string {
	s := m.c.Styles
	sep := s.Breadcrumb.Render(" › ")
	crumbs := s.Breadcrumb.Render("Settings") + sep + s.Breadcrumb.Render("API Access") + sep
	w, inWizard := m.dialog.(*wizard.Model)
	switch {
	case m.detail != nil:
		crumbs += s.Breadcrumb.Render("API Keys") + sep + s.Crumb.Render(ansi.Truncate(m.detail.Name(), 24, "…"))
	case inWizard && !w.Editing():
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
	right += s.Label.Render("account ") + s.Account.Render(ansi.Truncate(m.c.Account.Name, 20, "…"))
	if !m.c.HaveAccount {
		right = strings.TrimSuffix(right, s.Account.Render(""))
	}
	// Which database or server: two sessions on two stores look alike
	// otherwise. It gets what room the line has left.
	if room := m.width - lipgloss.Width(crumbs) - lipgloss.Width(right) - 4; m.opt.Source != "" && room >= 10 {
		right = s.Muted.Render(shortenSource(m.opt.Source, room)+" · ") + right
	}
	line1 := spread(crumbs, right, m.width)

	var line2 string
	if m.c.HaveAccount {
		a := m.c.Account
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
	} else if p := m.accountProblem(); p != "" {
		line2 = s.StatusError.Render(ansi.Truncate("✗ "+p, m.width, "…"))
	} else {
		line2 = s.Muted.Render("loading the account…")
	}
	rule := s.Muted.Render(strings.Repeat("─", max(0, m.width)))
	return fit(line1+"\n"+line2+"\n"+rule, m.width, headerHeight)
}

// shortenSource cuts a source to n cells: a URL that does not fit loses
// its scheme and parameters but the schema (host:port/database (schema)),
// then its end; a file path keeps its end (the file name).
func shortenSource(src string, n int) string {
	src = model.Sanitize(src, 500)
	if ansi.StringWidth(src) <= n {
		return src
	}
	if strings.Contains(src, "://") {
		if u, err := url.Parse(src); err == nil && u.Host != "" {
			short := u.Host + strings.TrimSuffix(u.Path, "/")
			if sp := u.Query().Get("search_path"); sp != "" {
				short += " (" + sp + ")"
			}
			src = model.Sanitize(short, 500)
		}
		return ansi.Truncate(src, n, "…")
	}
	return "…" + ansi.TruncateLeft(src, ansi.StringWidth(src)-n+1, "")
}

// spread puts left and right on one line of width w.
// When both do not fit, the left side (the breadcrumb) is shortened first:
// the right side names the account, which must not be cut.
func spread(left, right string, w int) string {
	gap := w - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		if room := w - lipgloss.Width(right) - 1; room >= 8 {
			return ansi.Truncate(left, room, "…") + " " + right
		}
		return ansi.Truncate(left+" "+right, w, "")
	}
	return left + strings.Repeat(" ", gap) + right
}

func (m *Model) statusLine() string {
	s := m.c.Styles
	switch {
	case m.errText != "":
		text := "✗ " + m.errText
		if m.onPage() {
			text += "  (esc dismisses)"
		}
		return s.StatusError.Render(ansi.Truncate(text, m.width, "…"))
	case m.info != "":
		return s.StatusInfo.Render(ansi.Truncate("✓ "+m.info, m.width, "…"))
	}
	return ""
}
