package ssh

// A panic in one session ends that session, never the others or the
// server. Where it can happen, and what catches it:
//
//   - in the handler chain (admitting the session, building its program,
//     reporting how it ended): wish's recover middleware, outermost, logs
//     it; closeOnPanic, just inside it, tells the client;
//   - in the program (the model's Init, Update, View and the commands they
//     return, which Bubble Tea runs on goroutines of its own): guardModel
//     turns it into a normal quit, so Bubble Tea restores the client's
//     terminal, and the session ends with one line (endPanic). Bubble
//     Tea's own catch would print the panic on the server's stderr
//     unredacted and end the session as if the user had quit;
//   - in the session's input decoder (input.go): catchPanic, the same way.
//
// The log gets the panic value with anything shaped like a secret
// redacted, and the stack (which shows no string contents).

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync/atomic"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"

	"github.com/keydeck/keydeck/model"
)

const logPanic = "ssh: a session panicked and was closed; the server goes on"

// panicLogger is recover's logger: one line, secrets redacted.
type panicLogger struct{ log *slog.Logger }

func (l panicLogger) Printf(format string, v ...any) {
	// recover logs "panic: %v\n%s" (value, stack).
	msg := model.RedactSecrets(fmt.Sprintf(format, v...))
	val, stack, _ := strings.Cut(msg, "\n")
	l.log.Error(logPanic, "panic", strings.TrimPrefix(val, "panic: "), "stack", stack)
}

// closeOnPanic tells the client of a session whose handler panicked why it
// ends; the recover middleware around it logs the panic.
func closeOnPanic(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		done := false
		defer func() {
			if !done {
				refuse(sess, msgPanic)
			}
		}()
		next(sess)
		done = true
	}
}

// sessionPanicked logs a panic of ss's program or input and ends ss.
func (s *Server) sessionPanicked(ss *sshSession, r any) {
	s.log.Error(logPanic, "account", ss.account, "fingerprint", ss.fingerprint,
		"panic", model.RedactSecrets(fmt.Sprint(r)), "stack", model.RedactSecrets(string(debug.Stack())))
	ss.end(endPanic)
}

// catchPanic, deferred, hands a panic of the goroutine to onPanic.
func catchPanic(onPanic func(any)) {
	if r := recover(); r != nil {
		onPanic(r)
	}
}

// guardModel wraps m so that a panic in it, or in a command it returns,
// goes to onPanic (once) and quits the program.
func guardModel(m tea.Model, onPanic func(any)) tea.Model {
	return guardedModel{m: m, onPanic: onPanic, dead: new(atomic.Bool)}
}

type guardedModel struct {
	m       tea.Model
	onPanic func(any)
	dead    *atomic.Bool // after a panic the model is not called again
}

func (g guardedModel) fail(r any) {
	if g.dead.CompareAndSwap(false, true) {
		g.onPanic(r)
	}
}

func (g guardedModel) Init() (cmd tea.Cmd) {
	defer func() {
		if r := recover(); r != nil {
			g.fail(r)
			cmd = tea.Quit
		}
	}()
	return g.guard(g.m.Init())
}

func (g guardedModel) Update(msg tea.Msg) (next tea.Model, cmd tea.Cmd) {
	if g.dead.Load() {
		return g, tea.Quit
	}
	defer func() {
		if r := recover(); r != nil {
			g.fail(r)
			next, cmd = g, tea.Quit
		}
	}()
	m, c := g.m.Update(msg)
	g.m = m
	return g, g.guard(c)
}

func (g guardedModel) View() (v tea.View) {
	if g.dead.Load() {
		return tea.View{}
	}
	defer func() {
		if r := recover(); r != nil {
			g.fail(r)
			v = tea.View{}
		}
	}()
	return g.m.View()
}

// guard wraps a command, and the commands of a batch it returns. (The
// commands of a tea.Sequence are out of reach; the tui uses none, and
// Bubble Tea's own catch still keeps the server up.)
func (g guardedModel) guard(c tea.Cmd) tea.Cmd {
	if c == nil {
		return nil
	}
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				g.fail(r)
				msg = tea.QuitMsg{}
			}
		}()
		msg = c()
		if b, ok := msg.(tea.BatchMsg); ok {
			w := make(tea.BatchMsg, len(b))
			for i, c := range b {
				w[i] = g.guard(c)
			}
			msg = w
		}
		return msg
	}
}
