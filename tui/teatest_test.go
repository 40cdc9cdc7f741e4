package tui

import (
	"bytes"
	"encoding/base64"
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

// wait polls the frame until it contains every want, or fails after 10s
// with the frame (secrets redacted).
func (p *program) wait(t *testing.T, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.tm.Send(probeMsg{})
		time.Sleep(15 * time.Millisecond)
		p.mu.Lock()
		frame := p.last
		p.mu.Unlock()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(frame, w)
		}
		if ok {
			return frame
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed %q; last frame:\n%s", want, redact(frame))
		}
	}
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
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Contains(p.rawOutput(), osc52) {
		if time.Now().After(deadline) {
			t.Fatal("no OSC 52 sequence with the secret reached the terminal")
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	p.wait(t, "its allocation went back to the account", "Query 9,999 of 10,000")
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
