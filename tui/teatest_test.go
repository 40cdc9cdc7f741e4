package tui

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/tui/tmuxtest"
)

// probeMsg makes the program pass through its filter, where the frame is
// read, without changing anything.
type probeMsg struct{}

// program is a whole tea.Program around a root model on a real store, with
// the frame readable between messages.
type program struct {
	tm   *teatest.TestModel
	st   storage.Store
	mu   sync.Mutex
	last string
	raw  bytes.Buffer
	clip []string
}

func startProgram(t *testing.T) *program {
	t.Helper()
	_, st := openStore(t, func() time.Time { return time.Now() })
	p := &program{st: st}
	opt := testOptions(nil)
	opt.Now = time.Now
	opt.Refresh = 150 * time.Millisecond // auto refresh is part of the flow
	opt.WriteClipboard = func(s string) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.clip = append(p.clip, s)
		return nil
	}
	m := New(bg, st, opt)
	filter := func(mod tea.Model, msg tea.Msg) tea.Msg {
		if r, ok := mod.(*Model); ok {
			frame := ansi.Strip(r.Render())
			p.mu.Lock()
			p.last = frame
			p.mu.Unlock()
		}
		if _, ok := msg.(probeMsg); ok {
			return nil
		}
		return msg
	}
	p.tm = teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII), tea.WithFilter(filter)))
	t.Cleanup(func() { p.tm.Quit() })
	return p
}

// frame is the last frame the filter saw, as plain text.
func (p *program) frame() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// noOutput is what teatest.WaitFor is given to read: nothing. The
// conditions read the frame or the terminal output themselves, so a
// failure never prints output that holds a secret.
type noOutput struct{}

func (noOutput) Read([]byte) (int, error) { return 0, io.EOF }

// withFrame adds the last frame, secrets redacted, to WaitFor's failure.
type withFrame struct {
	testing.TB
	p *program
}

func (w withFrame) Fatal(args ...any) {
	w.TB.Helper()
	w.TB.Fatalf("%s\nthe screen never showed it; last frame:\n%s", fmt.Sprint(args...), tmuxtest.Redact(w.p.frame()))
}

// wait waits until the frame contains every want, for up to 10s, and
// returns that frame.
func (p *program) wait(t *testing.T, want ...string) string {
	t.Helper()
	var frame string
	teatest.WaitFor(withFrame{t, p}, noOutput{}, func([]byte) bool {
		frame = p.frame()
		for _, w := range want {
			if !strings.Contains(frame, w) {
				// The filter reads the frame again once the program has
				// handled everything sent before this probe.
				p.tm.Send(probeMsg{})
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	return frame
}

// rawOutput is everything written to the terminal so far.
func (p *program) rawOutput() []byte {
	b, _ := io.ReadAll(p.tm.Output())
	p.raw.Write(b)
	return p.raw.Bytes()
}

func (p *program) keys(keys ...string) {
	for _, k := range keys {
		p.tm.Send(keyMsg(k))
	}
}

func TestProgramCreateRevealCopyDismiss(t *testing.T) {
	p := startProgram(t)
	p.wait(t, "You have no API keys yet")
	p.keys("n")
	p.wait(t, "Key name")
	p.tm.Type("Flow-Key")
	p.keys("enter")
	p.wait(t, "Permissions", "[x] Read")
	p.keys("down", "space", "enter")
	p.wait(t, "Query allocation", "1,000 of 10,000 available")
	p.keys("enter")
	p.wait(t, "Mutation allocation", "500 of 5,000 available")
	p.keys("enter")
	p.wait(t, "Review", "read, write", "Create key")
	p.keys("enter")
	frame := p.wait(t, "New API key created", "shown only once")
	secret := secretRE.FindString(frame)
	k, err := p.st.GetKey(bg, "Flow-Key")
	if err != nil || secret == "" {
		t.Fatalf("key %v, secret on screen %v", err, secret != "")
	}
	if res, _ := p.st.Verify(bg, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpWrite}); res.Verdict != model.Allowed {
		t.Fatalf("the revealed secret gets %v", res.Verdict)
	}
	p.keys("c")
	p.wait(t, "Client Secret copied to the clipboard")
	osc52 := []byte("\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(secret)))
	teatest.WaitFor(t, noOutput{}, func([]byte) bool { return bytes.Contains(p.rawOutput(), osc52) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	p.mu.Lock()
	gotClip := len(p.clip) == 1 && p.clip[0] == secret
	p.mu.Unlock()
	if !gotClip {
		t.Fatal("the local clipboard did not get the secret")
	}
	p.keys("tab", "tab", "enter")
	frame = p.wait(t, "1–1 of 1 key", "Flow-Key")
	if strings.Contains(frame, secret) {
		t.Fatal("the secret is still on screen")
	}
	p.keys("q")
	final := p.tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if final.Reveal().HasSecret() || final.Screen() != ScreenList {
		t.Fatal("after quitting, a model still holds the secret")
	}
}

func TestProgramRegenerateRevokeFilter(t *testing.T) {
	p := startProgram(t)
	k, old, err := p.st.CreateKey(bg, model.KeySpec{Name: "Ops-Key", Permissions: model.PermRead, QueryAlloc: 700, MutationAlloc: 70})
	if err != nil {
		t.Fatal(err)
	}
	createKeys(t, p.st, model.KeySpec{Name: "Other-Key", Permissions: model.PermRead})
	// the auto refresh picks up keys made outside the UI
	p.wait(t, "Ops-Key", "Other-Key", "1–2 of 2 keys")

	// filter
	p.keys("/")
	p.tm.Type("ops")
	p.wait(t, "1–1 of 1 key", "Ops-Key")
	p.keys("enter")

	// regenerate
	p.keys("R")
	p.wait(t, "Regenerate the secret of “Ops-Key”?")
	p.keys("tab", "enter")
	frame := p.wait(t, "New secret generated")
	secret := secretRE.FindString(frame)
	if res, _ := p.st.Verify(bg, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: old, Operation: model.OpRead}); res.Verdict != model.DeniedUnauthorized {
		t.Fatalf("old secret: %v", res.Verdict)
	}
	if res, _ := p.st.Verify(bg, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead}); res.Verdict != model.Allowed {
		t.Fatalf("new secret: %v", res.Verdict)
	}
	p.keys("tab", "tab", "enter")
	p.wait(t, "1–1 of 1 key")

	// revoke, returning the allocation
	p.keys("x")
	p.wait(t, "Revoke “Ops-Key”?", "[x] Return its unused allocation")
	p.keys("tab", "enter")
	p.wait(t, "revoked; ", "Query 9,999 of 10,000")
	got, _ := p.st.GetKey(bg, k.ClientID)
	if got.Active() {
		t.Fatal("the key is still active")
	}
	if res, _ := p.st.Verify(bg, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead}); res.Verdict != model.DeniedUnauthorized {
		t.Fatalf("revoked key: %v", res.Verdict)
	}
}

func TestProgramWizardValidation(t *testing.T) {
	p := startProgram(t)
	createKeys(t, p.st, model.KeySpec{Name: "Dup", Permissions: model.PermRead, QueryAlloc: 9500})
	p.wait(t, "Dup")
	p.keys("n", "enter")
	p.wait(t, "name is empty")
	p.tm.Type("Dup")
	p.keys("enter")
	p.wait(t, `an active key named "Dup" already exists`)
	p.keys("backspace", "backspace", "backspace")
	p.tm.Type("Fresh")
	p.keys("enter")
	p.wait(t, "[x] Read")
	p.keys("space", "enter")
	p.wait(t, "choose at least one permission")
	p.keys("space", "enter")
	p.wait(t, "of 500 available")
	p.tm.Type("501")
	p.keys("enter")
	p.wait(t, "501 is more than the 500 available")
	p.keys("ctrl+c")
	p.wait(t, "1–1 of 1 key")
	if pg, _ := p.st.ListKeys(bg, listAll); pg.Total != 1 {
		t.Fatalf("%d keys after a cancelled wizard", pg.Total)
	}
}
