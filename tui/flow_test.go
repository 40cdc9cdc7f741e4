package tui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/tui/confirm"
	"github.com/keydeck/keydeck/tui/wizard"
)

var bg = context.Background()

func started(t *testing.T, w, h int) (*Model, *[]string) {
	t.Helper()
	_, st := openStore(t, nil)
	var clip []string
	m := newTestModel(t, st, testOptions(&clip), w, h)
	run(t, m, m.Init())
	return m, &clip
}

func TestEmptyStateOffersGenerate(t *testing.T) {
	m, _ := started(t, 80, 24)
	mustShow(t, m, "Settings › API Access › API Keys")
	mustShow(t, m, "account default")
	mustShow(t, m, "You have no API keys yet")
	mustShow(t, m, "Generate API Key")
	mustShow(t, m, "Query 10,000 of 10,000")
	mustShow(t, m, "Credits 1,000")
	press(t, m, "enter")
	if m.Screen() != ScreenWizard {
		t.Fatalf("enter on the empty state opened %v, want the wizard", m.Screen())
	}
	mustShow(t, m, "Key name")
	mustShow(t, m, "Backend-Server-Key, Mobile-App-Key, Video-Pipeline-Key")
}

// wizardTo walks the wizard to the review with the given values.
func wizardTo(t *testing.T, m *Model, name string, write bool, q, mu string) {
	t.Helper()
	press(t, m, "n")
	typeText(t, m, name)
	press(t, m, "enter")
	if m.Screen() != ScreenWizard || m.Wizard().Step() != wizard.StepPermissions {
		t.Fatalf("after the name: screen %v step %v, error %q", m.Screen(), m.Wizard().Step(), m.Wizard().Err())
	}
	if write {
		press(t, m, "down", "space")
	}
	press(t, m, "enter")
	typeText(t, m, q)
	press(t, m, "enter")
	typeText(t, m, mu)
	press(t, m, "enter")
	if m.Wizard().Step() != wizard.StepReview {
		t.Fatalf("wizard at step %v, want review; error %q", m.Wizard().Step(), m.Wizard().Err())
	}
}

func TestCreateRevealCopyDismiss(t *testing.T) {
	m, clip := started(t, 80, 24)
	wizardTo(t, m, "  Backend-Server-Key ", true, "300", "40")
	mustShow(t, m, "Backend-Server-Key")
	mustShow(t, m, "read, write")
	mustShow(t, m, "Create key")
	// Nothing is written before the review is confirmed.
	if p, _ := m.st.ListKeys(bg, listAll); p.Total != 0 {
		t.Fatalf("the wizard wrote %d keys before the review was confirmed", p.Total)
	}
	press(t, m, "enter")
	if m.Screen() != ScreenReveal {
		t.Fatalf("after create: screen %v, error %q / %q", m.Screen(), m.ErrorText(), m.Wizard().Err())
	}
	mustShow(t, m, "shown only once")
	secret := secretRE.FindString(screen(m))
	if secret == "" {
		t.Fatal("the reveal screen shows no secret")
	}
	k, err := m.st.GetKey(bg, "Backend-Server-Key")
	if err != nil {
		t.Fatal(err)
	}
	if k.Permissions != model.PermRead|model.PermWrite || k.QueryAlloc != 300 || k.MutationAlloc != 40 {
		t.Fatalf("created %v q=%d m=%d", k.Permissions, k.QueryAlloc, k.MutationAlloc)
	}
	mustShow(t, m, k.ClientID)
	res, err := m.st.Verify(bg, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead})
	if err != nil || res.Verdict != model.Allowed {
		t.Fatalf("the revealed secret does not verify: %v %v", res.Verdict, err)
	}

	press(t, m, "c")
	if len(*clip) != 1 || (*clip)[0] != secret {
		t.Fatal("c did not put the secret on the local clipboard")
	}
	mustShow(t, m, "Client Secret copied to the clipboard")
	press(t, m, "i")
	if len(*clip) != 2 || (*clip)[1] != k.ClientID {
		t.Fatal("i did not put the Client ID on the local clipboard")
	}
	// Leaving takes the explicit choice: esc, q and ctrl+c only warn.
	press(t, m, "esc", "q", "ctrl+c")
	if m.Screen() != ScreenReveal || m.Quitting() {
		t.Fatalf("the reveal screen was left without confirming (screen %v)", m.Screen())
	}
	mustShow(t, m, "will not be shown again")
	if m.Reveal().Focus() != 2 {
		t.Fatalf("focus %d, want on I have stored it", m.Reveal().Focus())
	}
	press(t, m, "enter")
	if m.Screen() != ScreenList {
		t.Fatalf("after I have stored it: screen %v", m.Screen())
	}
	if m.Reveal().HasSecret() || strings.Contains(m.Render(), secret) {
		t.Fatal("the secret is still held after it was stored")
	}
	if r, ok := m.List().Selected(); !ok || r.ClientID != k.ClientID {
		t.Fatal("the new key is not selected in the list")
	}
	mustShow(t, m, "Backend-Server-Key")
	mustShow(t, m, "Query 9,700 of 10,000")
}

func TestRevealOverSSHUsesOSC52Only(t *testing.T) {
	_, st := openStore(t, nil)
	var clip []string
	opt := testOptions(&clip)
	opt.Clipboard = ClipboardOSC52
	m := newTestModel(t, st, opt, 80, 24)
	run(t, m, m.Init())
	wizardTo(t, m, "ssh-key", false, "1", "0")
	press(t, m, "enter")
	_, cmd := m.Update(keyMsg("c"))
	// The copy command must carry the OSC 52 write; run the rest.
	var sawOSC52 bool
	for _, msg := range drain(cmd) {
		if isTerminalMsg(msg) && strings.Contains(strings.ToLower(typeName(msg)), "clipboard") {
			sawOSC52 = true
			continue
		}
		send(t, m, msg)
	}
	if !sawOSC52 {
		t.Fatal("copy did not send OSC 52")
	}
	if len(clip) != 0 {
		t.Fatal("the local clipboard was written in OSC-52-only mode")
	}
	mustShow(t, m, "sent to your terminal's clipboard with OSC 52")
}

func TestWizardEscBacksOutWithoutWriting(t *testing.T) {
	m, _ := started(t, 80, 24)
	wizardTo(t, m, "Mobile-App-Key", false, "10", "0")
	steps := []wizard.Step{wizard.StepMutation, wizard.StepQuery, wizard.StepPermissions, wizard.StepName}
	for _, want := range steps {
		press(t, m, "esc")
		if m.Screen() != ScreenWizard || m.Wizard().Step() != want {
			t.Fatalf("esc went to %v/%v, want step %v", m.Screen(), m.Wizard().Step(), want)
		}
	}
	if got := m.Wizard().Name(); got != "Mobile-App-Key" {
		t.Fatalf("backing out lost the name: %q", got)
	}
	press(t, m, "esc")
	if m.Screen() != ScreenList {
		t.Fatalf("esc on the first step went to %v", m.Screen())
	}
	if p, _ := m.st.ListKeys(bg, listAll); p.Total != 0 {
		t.Fatal("a cancelled wizard wrote a key")
	}
}

func TestWizardValidationInPlace(t *testing.T) {
	m, _ := started(t, 80, 24)
	createKeys(t, m.st, model.KeySpec{Name: "Taken", Permissions: model.PermRead, QueryAlloc: 9000})
	press(t, m, "r") // the account changed
	press(t, m, "n")
	w := func() *wizard.Model { return m.Wizard() }

	press(t, m, "enter")
	mustShow(t, m, "name is empty")
	typeText(t, m, "   ")
	press(t, m, "enter")
	mustShow(t, m, "name is empty")
	typeText(t, m, strings.Repeat("x", 65))
	press(t, m, "enter")
	mustShow(t, m, "name is too long (65 characters, at most 64)")
	for range 70 {
		press(t, m, "backspace")
	}
	typeText(t, m, "Taken")
	press(t, m, "enter")
	mustShow(t, m, `an active key named "Taken" already exists`)
	if w().Step() != wizard.StepName {
		t.Fatal("a duplicate name was accepted")
	}
	// q and ? are text in the name field
	typeText(t, m, "q?")
	if m.Quitting() || w().Name() != "Takenq?" {
		t.Fatalf("q/? in the name field: quitting=%v name=%q", m.Quitting(), w().Name())
	}
	press(t, m, "enter")
	if w().Step() != wizard.StepPermissions {
		t.Fatalf("a free name was refused: %q", w().Err())
	}
	press(t, m, "space") // untick read: nothing left
	press(t, m, "enter")
	mustShow(t, m, "choose at least one permission")
	press(t, m, "space", "enter")

	// Query: 1,000 available; typing more is explained and blocks.
	mustShow(t, m, "of 1,000 available")
	typeText(t, m, "2500")
	press(t, m, "enter")
	mustShow(t, m, "2,500 is more than the 1,000 available")
	if w().Step() != wizard.StepQuery {
		t.Fatal("an allocation above what is available was accepted")
	}
	press(t, m, "end")
	if w().Query() != 1000 {
		t.Fatalf("end: %d, want 1000", w().Query())
	}
	press(t, m, "left")
	if w().Query() != 990 {
		t.Fatalf("left: %d, want 990", w().Query())
	}
	press(t, m, "shift+left")
	if w().Query() != 900 { // snapped onto the step of 100
		t.Fatalf("shift+left: %d, want 900", w().Query())
	}
	press(t, m, "pgup", "home")
	if w().Query() != 0 {
		t.Fatalf("home: %d, want 0", w().Query())
	}
	press(t, m, "pgup")
	if w().Query() != 100 {
		t.Fatalf("pgup: %d, want 100", w().Query())
	}
	press(t, m, "enter")
	if w().Step() != wizard.StepMutation {
		t.Fatalf("step %v, want mutation", w().Step())
	}
	// The account total moves under the wizard: the store refuses, the
	// wizard returns to the slider, which says it once (the store's
	// message and the slider's own bound check say the same).
	createKeys(t, m.st, model.KeySpec{Name: "Greedy", Permissions: model.PermRead, QueryAlloc: 950})
	press(t, m, "enter", "enter")
	if w().Step() != wizard.StepQuery {
		t.Fatalf("after the allocation error: step %v, screen %v", w().Step(), m.Screen())
	}
	mustShow(t, m, "100 is more than the 50 available")
	if n := strings.Count(m.Render(), "✗"); n != 1 {
		t.Fatalf("%d error marks, want 1:\n%s", n, m.Render())
	}
	if p, _ := m.st.ListKeys(bg, listAll); p.Total != 2 {
		t.Fatalf("%d keys, want the 2 made outside the wizard", p.Total)
	}
}

func TestRegenerateThroughConfirm(t *testing.T) {
	m, _ := started(t, 80, 24)
	k, old, err := m.st.CreateKey(bg, model.KeySpec{Name: "Rotate-Me", Permissions: model.PermRead, QueryAlloc: 10})
	if err != nil {
		t.Fatal(err)
	}
	press(t, m, "r", "R")
	if m.Screen() != ScreenConfirm {
		t.Fatalf("R opened %v", m.Screen())
	}
	mustShow(t, m, "The previous secret becomes invalid immediately")
	mustShow(t, m, "Client ID, quotas and usage stay")
	if m.Confirm().FocusedConfirm() {
		t.Fatal("the dialog starts on the destructive choice")
	}
	press(t, m, "enter") // Cancel
	if m.Screen() != ScreenList {
		t.Fatalf("cancel went to %v", m.Screen())
	}
	if res, _ := m.st.Verify(bg, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: old, Operation: model.OpRead}); res.Verdict != model.Allowed {
		t.Fatal("cancel regenerated the secret")
	}
	press(t, m, "R", "tab", "enter")
	if m.Screen() != ScreenReveal {
		t.Fatalf("confirm went to %v (%q)", m.Screen(), m.ErrorText())
	}
	mustShow(t, m, "New secret generated")
	mustShow(t, m, "previous secret stopped working")
	secret := secretRE.FindString(screen(m))
	if secret == "" || secret == old {
		t.Fatal("no new secret on the screen")
	}
	if res, _ := m.st.Verify(bg, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: old, Operation: model.OpRead}); res.Verdict != model.DeniedUnauthorized {
		t.Fatalf("the old secret still gets %v", res.Verdict)
	}
	if res, _ := m.st.Verify(bg, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead}); res.Verdict != model.Allowed {
		t.Fatalf("the new secret gets %v", res.Verdict)
	}
	press(t, m, "tab", "tab", "enter")
	if m.Screen() != ScreenList || m.Reveal().HasSecret() {
		t.Fatal("the reveal did not close cleanly")
	}
}

func TestRevokeReturnsOrKeepsAllocation(t *testing.T) {
	m, _ := started(t, 100, 30)
	keys := createKeys(t, m.st,
		model.KeySpec{Name: "Keep-Me", Permissions: model.PermRead, QueryAlloc: 1000, MutationAlloc: 100},
		model.KeySpec{Name: "Return-Me", Permissions: model.PermRead, QueryAlloc: 2000, MutationAlloc: 200})
	press(t, m, "r")
	// Return-Me is newest, so first; revoke it with the default (return).
	press(t, m, "x")
	mustShow(t, m, "Revoke “Return-Me”?")
	mustShow(t, m, keys[1].ClientID)
	mustShow(t, m, "[x] Return its unused allocation to the account (2,000 Query,")
	if m.Confirm().FocusedConfirm() || !m.Confirm().Option() {
		t.Fatal("the revoke dialog must start on Cancel with return allocation on")
	}
	press(t, m, "tab", "enter")
	k, _ := m.st.GetKey(bg, keys[1].ClientID)
	if k.Active() || k.KeepsAllocation {
		t.Fatalf("revoke: active=%v keeps=%v", k.Active(), k.KeepsAllocation)
	}
	mustShow(t, m, `Key "Return-Me" revoked; 2,000 Query and 200 Mutation went back to the account.`)
	mustShow(t, m, "Query 9,000 of 10,000")
	mustShow(t, m, "1 revoked hidden")
	if r, _ := m.List().Selected(); m.List().Visible() != 1 || r.Name != "Keep-Me" {
		t.Fatalf("after revoke: %d visible", m.List().Visible())
	}

	// Keep-Me: untick "return allocation".
	press(t, m, "x", "shift+tab", "space")
	if m.Confirm().Option() {
		t.Fatal("space did not untick the option")
	}
	press(t, m, "tab", "tab", "enter")
	k, _ = m.st.GetKey(bg, keys[0].ClientID)
	if k.Active() || !k.KeepsAllocation {
		t.Fatalf("revoke keeping: active=%v keeps=%v", k.Active(), k.KeepsAllocation)
	}
	mustShow(t, m, "keeps holding its allocation")
	mustShow(t, m, "Query 9,000 of 10,000")

	// Show revoked keys, open Keep-Me, release its allocation.
	press(t, m, "v")
	mustShow(t, m, "Keep-Me")
	mustShow(t, m, "revoked")
	for m.List().Cursor() < m.List().Visible()-1 {
		if r, _ := m.List().Selected(); r.Name == "Keep-Me" {
			break
		}
		press(t, m, "down")
	}
	press(t, m, "enter")
	mustShow(t, m, "still held by this revoked key")
	press(t, m, "L")
	mustShow(t, m, "Release the allocation of “Keep-Me”?")
	press(t, m, "tab", "enter")
	mustShow(t, m, "Query 10,000 of 10,000")
	mustShow(t, m, "returned to the account")
}

func TestFilterSortAndToggle(t *testing.T) {
	m, _ := started(t, 100, 30)
	keys := createKeys(t, m.st,
		model.KeySpec{Name: "Backend-Server-Key", Permissions: model.PermRead, QueryAlloc: 1},
		model.KeySpec{Name: "Mobile-App-Key", Permissions: model.PermRead, QueryAlloc: 1},
		model.KeySpec{Name: "Video-Pipeline-Key", Permissions: model.PermRead, QueryAlloc: 1})
	press(t, m, "r")
	if m.List().Visible() != 3 {
		t.Fatalf("%d visible, want 3", m.List().Visible())
	}
	press(t, m, "/")
	if !m.List().Filtering() {
		t.Fatal("/ did not open the filter")
	}
	typeText(t, m, "MOB")
	if m.List().Visible() != 1 {
		t.Fatalf("filter MOB: %d visible", m.List().Visible())
	}
	if r, _ := m.List().Selected(); r.Name != "Mobile-App-Key" {
		t.Fatalf("selected %q", r.Name)
	}
	typeText(t, m, "q") // text, not quit
	if m.Quitting() || m.List().Visible() != 0 {
		t.Fatalf("q in the filter: quitting=%v visible=%d", m.Quitting(), m.List().Visible())
	}
	mustShow(t, m, "No keys match")
	press(t, m, "backspace", "backspace", "backspace", "backspace")
	// by Client ID, in lower case
	typeText(t, m, strings.ToLower(keys[2].ClientID[4:14]))
	if r, _ := m.List().Selected(); m.List().Visible() != 1 || r.Name != "Video-Pipeline-Key" {
		t.Fatalf("filter by Client ID: %d visible", m.List().Visible())
	}
	press(t, m, "enter")
	if m.List().Filtering() || m.List().Query() == "" {
		t.Fatal("enter should keep the filter and leave the field")
	}
	press(t, m, "esc")
	if m.List().Query() != "" || m.List().Visible() != 3 {
		t.Fatal("esc did not clear the filter")
	}
	press(t, m, "s") // by name
	if r, _ := m.List().Selected(); r.Name != "Video-Pipeline-Key" {
		t.Fatalf("sorting moved the selection to %q", r.Name)
	}
	press(t, m, "home")
	if r, _ := m.List().Selected(); r.Name != "Backend-Server-Key" {
		t.Fatalf("first by name: %q", r.Name)
	}
	mustShow(t, m, "sorted by name")
	if _, err := m.st.RevokeKey(bg, keys[0].ClientID, false); err != nil {
		t.Fatal(err)
	}
	send(t, m, RefreshTickMsg{Seq: m.refreshSeq})
	if m.List().Visible() != 2 {
		t.Fatalf("a key revoked elsewhere still listed after refresh (%d)", m.List().Visible())
	}
	press(t, m, "v")
	if m.List().Visible() != 3 {
		t.Fatal("v did not show revoked keys")
	}
}

func TestQuitOnlyFromTheList(t *testing.T) {
	m, _ := started(t, 80, 24)
	press(t, m, "n")
	press(t, m, "ctrl+c") // cancels the wizard, does not quit
	if m.Quitting() || m.Screen() != ScreenList {
		t.Fatalf("ctrl+c in the wizard: quitting=%v screen=%v", m.Quitting(), m.Screen())
	}
	_, cmd := m.Update(keyMsg("q"))
	if cmd == nil {
		t.Fatal("q on the list did nothing")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok || !m.Quitting() {
		t.Fatal("q on the list did not quit")
	}
}

func TestStoreErrorInStatusLine(t *testing.T) {
	db, st := openStore(t, nil)
	m := newTestModel(t, st, testOptions(nil), 80, 24)
	run(t, m, m.Init())
	createKeys(t, st, model.KeySpec{Name: "k", Permissions: model.PermRead})
	press(t, m, "r")
	before := screen(m)
	db.Close()
	press(t, m, "r")
	if !strings.Contains(m.ErrorText(), "could not load the keys") {
		t.Fatalf("error text %q", m.ErrorText())
	}
	mustShow(t, m, "✗ could not load the keys")
	mustShow(t, m, "k") // the list is still there
	if !strings.Contains(before, "k ") {
		t.Fatal("precondition: key listed")
	}
	press(t, m, "esc")
	if m.ErrorText() != "" {
		t.Fatal("esc did not dismiss the error")
	}
	mustNotShow(t, m, "could not load")
}

// TestRevokeDialogOffersWhatIsUnused: a key that has used part of its
// allocation gives back only the rest (it holds what it used until the
// period resets), and the dialog names that figure, not the allocation.
func TestRevokeDialogOffersWhatIsUnused(t *testing.T) {
	m, _ := started(t, 140, 40)
	k, secret, err := m.st.CreateKey(bg, model.KeySpec{Name: "Used-Key", Permissions: model.PermRead | model.PermWrite, QueryAlloc: 100, MutationAlloc: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []model.Operation{model.OpRead, model.OpRead, model.OpRead, model.OpWrite} {
		if res, _ := m.st.Verify(bg, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: op}); res.Verdict != model.Allowed {
			t.Fatalf("%v: %v", op, res.Verdict)
		}
	}
	press(t, m, "r", "x")
	mustShow(t, m, "Return its unused allocation to the account (97 Query, 9")
	press(t, m, "tab", "enter")
	// It says what came back and what stays held.
	if want := `Key "Used-Key" revoked; 97 Query and 9 Mutation went back to the account; the 3 Query and 1 Mutation it used stay held until the period resets.`; m.InfoText() != want {
		t.Fatalf("info %q, want %q", m.InfoText(), want)
	}
	mustShow(t, m, "Query 9,997 of 10,000")
	mustShow(t, m, "Mutation 4,999 of 5,000")
	// Its details show what it used, and nothing left to use.
	press(t, m, "v", "enter")
	mustShow(t, m, "3 / 100 used")
	mustNotShow(t, m, "97 left")
}

// TestDetailsUsageTotalsReadAsEnglish: one query and one mutation are not
// "1 queries · 1 mutations".
func TestDetailsUsageTotalsReadAsEnglish(t *testing.T) {
	m, _ := started(t, 100, 40)
	k, secret, err := m.st.CreateKey(bg, model.KeySpec{Name: "Once", Permissions: model.PermRead | model.PermWrite, QueryAlloc: 5, MutationAlloc: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []model.Operation{model.OpRead, model.OpWrite} {
		m.st.Verify(bg, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: op})
	}
	press(t, m, "r", "enter")
	mustShow(t, m, "1 query · 1 mutation · 0 denied")
}

func TestDetailsEditAndUsage(t *testing.T) {
	m, _ := started(t, 100, 40)
	k, secret, err := m.st.CreateKey(bg, model.KeySpec{Name: "Edit-Me", Permissions: model.PermRead, QueryAlloc: 50, MutationAlloc: 5})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		m.st.Verify(bg, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead})
	}
	press(t, m, "r", "enter")
	if m.Screen() != ScreenDetail || !m.Detail().Loaded() {
		t.Fatalf("enter opened %v (loaded %v, %q)", m.Screen(), m.Detail().Loaded(), m.ErrorText())
	}
	mustShow(t, m, "Settings › API Access › API Keys › Edit-Me")
	mustShow(t, m, k.ClientID)
	mustShow(t, m, "kds_…"+model.Hint(secret))
	mustShow(t, m, "3 / 50 used · 47 left")
	mustShow(t, m, "3 queries · 0 mutations · 0 denied")
	mustShow(t, m, "key.create")
	if strings.Contains(m.Render(), secret) {
		t.Fatal("details show the secret")
	}
	press(t, m, "e")
	if m.Screen() != ScreenWizard || !m.Wizard().Editing() || m.Wizard().Name() != "Edit-Me" {
		t.Fatal("e did not open the edit form on the key")
	}
	for range len("Edit-Me") {
		press(t, m, "backspace")
	}
	typeText(t, m, "Edited")
	press(t, m, "enter", "down", "space", "enter") // + write
	typeText(t, m, "20")
	press(t, m, "enter", "enter")
	mustShow(t, m, "(was Edit-Me)")
	mustShow(t, m, "(was 50)")
	press(t, m, "enter")
	if m.Screen() != ScreenDetail {
		t.Fatalf("after saving: %v (%q / %q)", m.Screen(), m.ErrorText(), m.Wizard().Err())
	}
	got, err := m.st.GetKey(bg, k.ClientID)
	if err != nil || got.Name != "Edited" || got.QueryAlloc != 20 || got.Permissions != model.PermRead|model.PermWrite || got.MutationAlloc != 5 {
		t.Fatalf("edited key: %+v %v", got, err)
	}
	mustShow(t, m, "Saved changes")
	mustShow(t, m, "key.edit")
	press(t, m, "esc")
	if m.Screen() != ScreenList {
		t.Fatal("esc did not go back to the list")
	}
}

func TestEveryFrameFitsTheWindow(t *testing.T) {
	m, _ := started(t, 80, 24)
	createKeys(t, m.st, model.KeySpec{Name: strings.Repeat("W", 64), Permissions: model.PermAll, QueryAlloc: 123456 % 10000})
	press(t, m, "r")
	for _, size := range [][2]int{{80, 24}, {60, 15}, {140, 40}, {200, 50}, {40, 10}} {
		send(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for _, keys := range [][]string{nil, {"enter"}, {"esc", "n"}, {"esc", "?"}, {"?", "x"}, {"esc"}} {
			press(t, m, keys...)
			lines := strings.Split(screen(m), "\n")
			if len(lines) != size[1] {
				t.Errorf("%dx%d on %v: %d lines", size[0], size[1], m.Screen(), len(lines))
			}
			for _, l := range lines {
				if w := len([]rune(l)); w > size[0] {
					t.Errorf("%dx%d on %v: a line of %d cells: %q", size[0], size[1], m.Screen(), w, l)
				}
			}
		}
	}
}

func TestNoColorAndColour(t *testing.T) {
	_, st := openStore(t, nil)
	createKeys(t, st, model.KeySpec{Name: "k", Permissions: model.PermRead, QueryAlloc: 1})
	opt := testOptions(nil)
	m := newTestModel(t, st, opt, 80, 24)
	run(t, m, m.Init())
	if out := m.Render(); strings.Contains(out, "38;5;") || strings.Contains(out, "48;5;") {
		t.Fatal("NO_COLOR: the frame has colours")
	}
	if !strings.Contains(m.Render(), "\x1b[7m") && !strings.Contains(m.Render(), ";7m") {
		t.Fatal("NO_COLOR: the selected row is not shown in reverse video")
	}
	opt.Environ = []string{"TERM=xterm-256color"}
	c := newTestModel(t, st, opt, 80, 24)
	run(t, c, c.Init())
	if !strings.Contains(c.Render(), "38;5;") {
		t.Fatal("with colours on, the frame has none")
	}
	// A light background gets the light theme.
	send(t, c, tea.BackgroundColorMsg{Color: lightGrey{}})
	if c.Styles().IsDark {
		t.Fatal("a light background kept the dark theme")
	}
	if !NoColor([]string{"NO_COLOR=yes"}) || NoColor([]string{"NO_COLOR="}) {
		t.Fatal("NO_COLOR: any non-empty value disables colour, empty does not")
	}
}

type lightGrey struct{}

func (lightGrey) RGBA() (r, g, b, a uint32) { return 0xeeee, 0xeeee, 0xeeee, 0xffff }

func TestHelpToggles(t *testing.T) {
	m, _ := started(t, 100, 30)
	createKeys(t, m.st, model.KeySpec{Name: "k", Permissions: model.PermRead})
	press(t, m, "r")
	mustShow(t, m, "? help")
	mustNotShow(t, m, "regenerate secret")
	press(t, m, "?")
	if !m.HelpShown() {
		t.Fatal("? did not open the full help")
	}
	mustShow(t, m, "regenerate secret")
	mustShow(t, m, "clear filter")
	press(t, m, "?")
	mustNotShow(t, m, "regenerate secret")
}

var errBoom = errors.New("boom")

func TestOpFailureKeepsScreen(t *testing.T) {
	m, _ := started(t, 80, 24)
	send(t, m, OpFailedMsg{What: opRevoke, Err: errBoom})
	mustShow(t, m, "✗ revoke failed: boom; nothing changed, the key still works")
	mustShow(t, m, "You have no API keys yet")
}

// A key list that loads again clears its own load error, and only that:
// a failed operation stays on the status line until dismissed.
func TestReloadClearsOnlyItsOwnError(t *testing.T) {
	m, _ := started(t, 80, 24)
	send(t, m, KeysLoadedMsg{Gen: m.gen, Err: errBoom})
	mustShow(t, m, "✗ could not load the keys: boom")
	press(t, m, "r")
	if m.ErrorText() != "" {
		t.Fatalf("a load that worked left %q", m.ErrorText())
	}
	send(t, m, OpFailedMsg{What: opRevoke, Err: errBoom})
	press(t, m, "r")
	mustShow(t, m, "✗ revoke failed: boom")
}

// Closing the details while a regenerate is on its way: the reveal still
// comes, and closing it lands on the list, not on empty details.
func TestRevealAfterDetailsClosedReturnsToList(t *testing.T) {
	m, _ := started(t, 80, 24)
	if _, _, err := m.st.CreateKey(bg, model.KeySpec{Name: "Rotate-Me", Permissions: model.PermRead, QueryAlloc: 10}); err != nil {
		t.Fatal(err)
	}
	press(t, m, "r", "enter", "R")
	if m.Screen() != ScreenConfirm {
		t.Fatalf("R on the details opened %v", m.Screen())
	}
	// Confirmed; the store has not answered yet when esc closes the details.
	_, regenerate := m.Update(confirm.ResultMsg{Confirmed: true})
	if m.Screen() != ScreenDetail {
		t.Fatalf("the confirm returned to %v", m.Screen())
	}
	press(t, m, "esc")
	run(t, m, regenerate)
	if m.Screen() != ScreenReveal {
		t.Fatalf("the new secret went to %v", m.Screen())
	}
	press(t, m, "tab", "tab", "enter")
	if m.Screen() != ScreenList {
		t.Fatalf("closing the reveal went to %v, not the list", m.Screen())
	}
	mustShow(t, m, "Rotate-Me")
}

// Edit from the list: the form opens at once and fills in when the store
// answers; keys typed before that are kept (they reach the form, not the
// list).
func TestEditFromTheListKeepsTypedAheadKeys(t *testing.T) {
	m, _ := started(t, 80, 24)
	k := createKeys(t, m.st, model.KeySpec{Name: "List-Edit", Permissions: model.PermRead, QueryAlloc: 10})[0]
	press(t, m, "r")
	_, load := m.Update(keyMsg("e"))
	if m.Screen() != ScreenWizard || !m.Wizard().Loading() {
		t.Fatalf("e opened %v (loading %v)", m.Screen(), m.Wizard().Loading())
	}
	mustShow(t, m, "loading the key")
	m.Update(keyMsg("X")) // typed before the key is in
	m.Update(keyMsg("enter"))
	run(t, m, load)
	if w := m.Wizard(); w.Name() != "List-EditX" || w.Step() != wizard.StepPermissions {
		t.Fatalf("after the load: name %q step %v (%q)", w.Name(), w.Step(), w.Err())
	}
	press(t, m, "enter", "enter", "enter", "enter")
	got, err := m.st.GetKey(bg, k.ClientID)
	if err != nil || got.Name != "List-EditX" {
		t.Fatalf("edited key %q %v (%q)", got.Name, err, m.ErrorText())
	}
}

// Keys typed ahead behind the one that ends the form are not lost: they
// reach the screen shown next. Here the form, submitted unchanged, closes
// and the enter typed after reaches the list and opens the key.
func TestTypedAheadKeysAfterTheFormReachTheNextScreen(t *testing.T) {
	m, _ := started(t, 80, 24)
	k := createKeys(t, m.st, model.KeySpec{Name: "Ahead", Permissions: model.PermRead, QueryAlloc: 10})[0]
	press(t, m, "r")
	_, load := m.Update(keyMsg("e"))
	if m.Screen() != ScreenWizard || !m.Wizard().Loading() {
		t.Fatalf("e opened %v", m.Screen())
	}
	for range 5 { // name, permissions, query, mutation, review: unchanged, so it cancels
		m.Update(keyMsg("enter"))
	}
	m.Update(keyMsg("enter")) // for the list: open the key
	run(t, m, load)
	if m.Screen() != ScreenDetail || m.Detail().ClientID() != k.ClientID {
		t.Fatalf("the key typed after the form went to %v", m.Screen())
	}
}
