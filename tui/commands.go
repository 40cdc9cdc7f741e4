package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/tui/detail"
	"github.com/keydeck/keydeck/tui/keylist"
)

// Messages the root model's store commands send. Every store call runs in a
// command; Update only reads these.
type (
	// KeysLoadedMsg carries the account and a snapshot of its keys. Next is
	// set when more pages are still to load.
	KeysLoadedMsg struct {
		Gen     int
		Account model.Account
		Snap    *keylist.Snapshot
		Next    string
		Took    time.Duration
		Err     error
	}
	// AccountLoadedMsg carries the account, read on its own at start so
	// the first page of keys need not wait for it.
	AccountLoadedMsg struct {
		Account model.Account
		Err     error
	}
	// DetailLoadedMsg carries a key with its usage and audit events.
	DetailLoadedMsg struct {
		ClientID string
		Key      model.Key
		Usage    []model.UsageDay
		Audit    []model.AuditEvent
		Err      error
	}
	// EditKeyLoadedMsg carries the key an edit form opened on.
	EditKeyLoadedMsg struct {
		ClientID string
		Key      model.Key
		Err      error
	}
	// KeyCreatedMsg carries a new key and its secret, the only time the
	// secret exists; it goes straight to the reveal screen.
	KeyCreatedMsg struct {
		Key    model.Key
		Secret string
	}
	// KeyRegeneratedMsg carries a key's new secret.
	KeyRegeneratedMsg struct {
		Key    model.Key
		Secret string
	}
	// KeyEditedMsg, KeyRevokedMsg and KeyReleasedMsg carry the changed key.
	KeyEditedMsg   struct{ Key model.Key }
	KeyRevokedMsg  struct{ Key model.Key }
	KeyReleasedMsg struct{ Key model.Key }
	// SubmitFailedMsg: the wizard's create or edit was refused.
	SubmitFailedMsg struct{ Err error }
	// OpFailedMsg: a store call failed; What says which, for the status line.
	OpFailedMsg struct {
		What string
		Err  error
	}
	// RefreshTickMsg asks for the periodic reload.
	RefreshTickMsg struct{ Seq int }
	// accountRetryMsg asks to read the account again after it failed.
	accountRetryMsg struct{ Seq int }
	// infoExpiredMsg clears an informational status line.
	infoExpiredMsg struct{ ID int }
)

// firstPage is how many keys the first load reads before the first frame.
const firstPage = 100

// opTimeout bounds one store call (one page, one write).
const opTimeout = 30 * time.Second

// opCtx bounds one store call. Commands call it inside their closure, so
// the clock starts when Bubble Tea runs the command, not when Update built
// it, and a command that is never run holds no timer.
func opCtx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, opTimeout)
}

func (m *Model) loadAccount() tea.Cmd {
	st, parent := m.st, m.ctx
	return func() tea.Msg {
		ctx, cancel := opCtx(parent)
		defer cancel()
		acc, err := st.Account(ctx)
		return AccountLoadedMsg{Account: acc, Err: err}
	}
}

// loadKeys reads the account and the keys. With first set it reads only
// the first page, without the account (loadAccount runs beside it), so the
// first frame is quick, and the rest follows with loadRest; otherwise it
// reads the account and every page before answering, so the list is
// swapped whole.
func (m *Model) loadKeys(gen int, first bool) tea.Cmd {
	st, ctx, pageSize := m.st, m.ctx, m.opt.PageSize
	return func() tea.Msg {
		start := time.Now()
		var acc model.Account
		if !first {
			c, cancel := opCtx(ctx)
			a, err := st.Account(c)
			cancel()
			if err != nil {
				return KeysLoadedMsg{Gen: gen, Err: err}
			}
			acc = a
		}
		limit := pageSize
		if first {
			limit = min(pageSize, firstPage) // enough for the first frame
		}
		c, cancel := opCtx(ctx)
		page, err := st.ListKeys(c, storage.ListOptions{IncludeRevoked: true, Sort: storage.SortCreated, Limit: limit})
		cancel()
		if err != nil {
			return KeysLoadedMsg{Gen: gen, Err: err}
		}
		rows := make([]keylist.Row, 0, max(len(page.Keys), page.Total))
		for _, k := range page.Keys {
			rows = append(rows, keylist.RowOf(k))
		}
		if first {
			if page.NextCursor != "" {
				return KeysLoadedMsg{Gen: gen, Snap: keylist.NewSnapshotRows(rows, page.Total, false), Next: page.NextCursor, Took: time.Since(start)}
			}
			return KeysLoadedMsg{Gen: gen, Snap: keylist.NewSnapshotRows(rows, page.Total, true), Took: time.Since(start)}
		}
		rows, total, err := morePages(ctx, st, pageSize, rows, page)
		if err != nil {
			return KeysLoadedMsg{Gen: gen, Err: err}
		}
		return KeysLoadedMsg{Gen: gen, Account: acc, Snap: keylist.NewSnapshotRows(rows, total, true), Took: time.Since(start)}
	}
}

// loadRest reads the pages after the first one (acc is the zero account
// when the first page came without it).
func (m *Model) loadRest(gen int, acc model.Account, have *keylist.Snapshot, next string) tea.Cmd {
	st, ctx, pageSize := m.st, m.ctx, m.opt.PageSize
	return func() tea.Msg {
		start := time.Now()
		rows := make([]keylist.Row, len(have.Rows), max(have.Total, len(have.Rows)))
		copy(rows, have.Rows)
		rows, total, err := morePages(ctx, st, pageSize, rows, storage.KeyPage{NextCursor: next, Total: have.Total})
		if err != nil {
			return KeysLoadedMsg{Gen: gen, Err: err}
		}
		return KeysLoadedMsg{Gen: gen, Account: acc, Snap: keylist.NewSnapshotRows(rows, total, true), Took: time.Since(start)}
	}
}

func morePages(ctx context.Context, st storage.Store, pageSize int, rows []keylist.Row, page storage.KeyPage) ([]keylist.Row, int, error) {
	total := page.Total
	for next := page.NextCursor; next != ""; {
		c, cancel := opCtx(ctx)
		p, err := st.ListKeys(c, storage.ListOptions{IncludeRevoked: true, Sort: storage.SortCreated, Limit: pageSize, Cursor: next})
		cancel()
		if err != nil {
			return nil, 0, err
		}
		for _, k := range p.Keys {
			rows = append(rows, keylist.RowOf(k))
		}
		next, total = p.NextCursor, p.Total
	}
	return rows, total, nil
}

func (m *Model) loadDetail(id string) tea.Cmd {
	st, parent := m.st, m.ctx
	return func() tea.Msg {
		ctx, cancel := opCtx(parent)
		defer cancel()
		k, err := st.GetKey(ctx, id)
		if err != nil {
			return DetailLoadedMsg{ClientID: id, Err: err}
		}
		usage, err := st.Usage(ctx, k.ClientID, detail.Days)
		if err != nil {
			return DetailLoadedMsg{ClientID: id, Err: err}
		}
		audit, err := st.Audit(ctx, storage.AuditFilter{Key: k.ClientID, Limit: 50})
		if err != nil {
			return DetailLoadedMsg{ClientID: id, Err: err}
		}
		return DetailLoadedMsg{ClientID: id, Key: k, Usage: usage, Audit: audit}
	}
}

func (m *Model) loadEditKey(id string) tea.Cmd {
	st, parent := m.st, m.ctx
	return func() tea.Msg {
		ctx, cancel := opCtx(parent)
		defer cancel()
		k, err := st.GetKey(ctx, id)
		return EditKeyLoadedMsg{ClientID: id, Key: k, Err: err}
	}
}

func (m *Model) createKey(spec model.KeySpec) tea.Cmd {
	st, parent := m.st, m.ctx
	return func() tea.Msg {
		ctx, cancel := opCtx(parent)
		defer cancel()
		k, secret, err := st.CreateKey(ctx, spec)
		if err != nil {
			return SubmitFailedMsg{Err: err}
		}
		return KeyCreatedMsg{Key: k, Secret: secret}
	}
}

func (m *Model) editKey(id string, e model.KeyEdit) tea.Cmd {
	st, parent := m.st, m.ctx
	return func() tea.Msg {
		ctx, cancel := opCtx(parent)
		defer cancel()
		k, err := st.EditKey(ctx, id, e)
		if err != nil {
			return SubmitFailedMsg{Err: err}
		}
		return KeyEditedMsg{Key: k}
	}
}

func (m *Model) regenerateKey(id string) tea.Cmd {
	st, parent := m.st, m.ctx
	return func() tea.Msg {
		ctx, cancel := opCtx(parent)
		defer cancel()
		k, secret, err := st.RegenerateKey(ctx, id)
		if err != nil {
			return OpFailedMsg{What: opRegenerate, Err: err}
		}
		return KeyRegeneratedMsg{Key: k, Secret: secret}
	}
}

func (m *Model) revokeKey(id string, keep bool) tea.Cmd {
	st, parent := m.st, m.ctx
	return func() tea.Msg {
		ctx, cancel := opCtx(parent)
		defer cancel()
		k, err := st.RevokeKey(ctx, id, keep)
		if err != nil {
			return OpFailedMsg{What: opRevoke, Err: err}
		}
		return KeyRevokedMsg{Key: k}
	}
}

func (m *Model) releaseKey(id string) tea.Cmd {
	st, parent := m.st, m.ctx
	return func() tea.Msg {
		ctx, cancel := opCtx(parent)
		defer cancel()
		k, err := st.ReleaseKey(ctx, id)
		if err != nil {
			return OpFailedMsg{What: opRelease, Err: err}
		}
		return KeyReleasedMsg{Key: k}
	}
}

// nameChecker answers the wizard's "is this name free?" from the store.
func (m *Model) nameChecker(except string) func(string) error {
	st, ctx := m.st, m.ctx
	return func(name string) error {
		c, cancel := opCtx(ctx)
		defer cancel()
		p, err := st.ListKeys(c, storage.ListOptions{Name: name, Limit: 10})
		if err != nil {
			return err
		}
		for _, k := range p.Keys {
			if k.Active() && k.Name == name && k.ClientID != except {
				return model.ErrDuplicateName
			}
		}
		return nil
	}
}

// The writes an OpFailedMsg names, and what a failure leaves as it was.
const (
	opRegenerate = "regenerate"
	opRevoke     = "revoke"
	opRelease    = "release"
	opSave       = "save"
)

var unchanged = map[string]string{
	opRegenerate: "nothing changed, the old secret still works",
	opRevoke:     "nothing changed, the key still works",
	opRelease:    "nothing changed, the key still holds its allocation",
	opSave:       "nothing changed",
}

// opErrorText says which write failed, why, and what that left: a user
// whose regenerate failed must know whether the old secret still works.
// A call that timed out may have gone through, so it says so instead.
func opErrorText(what string, err error) string {
	reason := err.Error()
	maybe := errors.Is(err, context.DeadlineExceeded) || strings.Contains(reason, "no answer within")
	var down *storage.DatabaseDownError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		reason = fmt.Sprintf("the store did not answer within %s", opTimeout)
	case errors.As(err, &down):
		// Its own text names the database. A refused connection sent
		// nothing; a write the connection was lost under may have
		// committed, which cannot be told from here, so r says.
		after := "it may have gone through; r reloads to check"
		if strings.Contains(down.Cause, "connection refused") {
			if after = unchanged[what]; after == "" {
				after = "nothing changed"
			}
		}
		return fmt.Sprintf("%s failed: %s; %s", what, reason, after)
	case errors.Is(err, storage.ErrUnavailable) && !maybe:
		reason = "cannot reach the server"
	}
	after := unchanged[what]
	if after == "" {
		after = "nothing changed"
	}
	if maybe {
		after = "it may have gone through; r reloads to check"
	}
	return fmt.Sprintf("%s failed: %s; %s", what, reason, after)
}

// errorText is the one status line for a failed call. Store errors are
// written for users already; context errors are said plainly.
func errorText(what string, err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("could not %s: the store did not answer within %s", what, opTimeout)
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("could not %s: cancelled", what)
	}
	return fmt.Sprintf("could not %s: %s", what, err.Error())
}
