package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/keydeck/keydeck/model"
)

// mouseModel is a session at 80×24 on 30 keys, with or without --mouse.
func mouseModel(t *testing.T, mouse bool) *Model {
	t.Helper()
	_, st := openStore(t, nil)
	specs := make([]model.KeySpec, 30)
	for i := range specs {
		specs[i] = model.KeySpec{Name: fmt.Sprintf("Mouse-%02d", i), Permissions: model.PermRead, QueryAlloc: 10}
	}
	createKeys(t, st, specs...)
	opt := testOptions(nil)
	opt.Mouse = mouse
	m := newTestModel(t, st, opt, 80, 24)
	run(t, m, m.Init())
	mustShow(t, m, "1–")
	return m
}

// lineOf is the screen line (the mouse's Y) that shows name.
func lineOf(t *testing.T, m *Model, name string) int {
	t.Helper()
	for y, l := range strings.Split(screen(m), "\n") {
		if strings.Contains(l, name) {
			return y
		}
	}
	t.Fatalf("%q is not on the screen:\n%s", name, screen(m))
	return -1
}

// nameAt is the key name on screen line y.
func nameAt(t *testing.T, m *Model, y int) string {
	t.Helper()
	l := strings.Split(screen(m), "\n")[y]
	i := strings.Index(l, "Mouse-")
	if i < 0 {
		t.Fatalf("no key on line %d: %q", y, l)
	}
	return l[i : i+len("Mouse-00")]
}

func selectedName(m *Model) string {
	r, _ := m.List().Selected()
	return r.Name
}

func click(y int) tea.MouseClickMsg {
	return tea.MouseClickMsg{X: 10, Y: y, Button: tea.MouseLeft}
}

func wheel(b tea.MouseButton) tea.MouseWheelMsg { return tea.MouseWheelMsg{X: 10, Y: 8, Button: b} }

func TestMouseModeIsOptIn(t *testing.T) {
	m := mouseModel(t, false)
	if mm := m.View().MouseMode; mm != tea.MouseModeNone {
		t.Fatalf("mouse mode %v without --mouse", mm)
	}
	first := selectedName(m)
	y := lineOf(t, m, first) + 3
	send(t, m, click(y))
	send(t, m, wheel(tea.MouseWheelDown))
	if got := selectedName(m); got != first || m.Screen() != ScreenList {
		t.Fatalf("without --mouse the mouse moved the selection to %q (%v)", got, m.Screen())
	}

	m = mouseModel(t, true)
	if mm := m.View().MouseMode; mm != tea.MouseModeCellMotion {
		t.Fatalf("mouse mode %v with --mouse", mm)
	}
}

func TestMouseClickSelectsThenOpens(t *testing.T) {
	m := mouseModel(t, true)
	first := selectedName(m)
	y := lineOf(t, m, first)
	if y != headerHeight+1 {
		t.Fatalf("the first row is on line %d, want %d (header, column titles)", y, headerHeight+1)
	}
	// The column titles and the header select nothing.
	for _, y := range []int{0, 1, headerHeight} {
		send(t, m, click(y))
		if selectedName(m) != first || m.Screen() != ScreenList {
			t.Fatalf("a click on line %d changed the list", y)
		}
	}
	want := nameAt(t, m, y+4)
	send(t, m, click(y+4))
	if got := selectedName(m); got != want {
		t.Fatalf("a click on %q selected %q", want, got)
	}
	if m.Screen() != ScreenList {
		t.Fatalf("a click on another row opened %v", m.Screen())
	}
	// A right click does nothing; a left click on the selected row opens it.
	send(t, m, tea.MouseClickMsg{X: 10, Y: y, Button: tea.MouseRight})
	if selectedName(m) != want {
		t.Fatal("a right click moved the selection")
	}
	send(t, m, click(y+4))
	if m.Screen() != ScreenDetail || m.Detail().Name() != want {
		t.Fatalf("a click on the selected row opened %v %q", m.Screen(), m.Detail().Name())
	}
	// No clicks in the details: the list under them must not move.
	send(t, m, click(y+1))
	if m.Screen() != ScreenDetail || selectedName(m) != want {
		t.Fatal("a click in the details reached the list")
	}

	// Below the last row, nothing.
	m = mouseModel(t, true)
	press(t, m, "/")
	typeText(t, m, "-07")
	press(t, m, "enter")
	y = lineOf(t, m, "Mouse-07")
	if y != headerHeight+2 {
		t.Fatalf("with a filter the first row is on line %d, want %d", y, headerHeight+2)
	}
	send(t, m, click(y+2))
	if m.Screen() != ScreenList || selectedName(m) != "Mouse-07" {
		t.Fatal("a click below the last row did something")
	}
	send(t, m, click(y))
	if m.Screen() != ScreenDetail {
		t.Fatal("a click on the filtered row did not open it")
	}
}

func TestMouseWheelScrolls(t *testing.T) {
	m := mouseModel(t, true)
	if m.List().Cursor() != 0 {
		t.Fatal("the cursor does not start on the first row")
	}
	for range 25 {
		send(t, m, wheel(tea.MouseWheelDown))
	}
	if c := m.List().Cursor(); c != 25 {
		t.Fatalf("25 notches down put the cursor on %d", c)
	}
	mustShow(t, m, selectedName(m)) // scrolled into view
	mustNotShow(t, m, "1–")
	send(t, m, wheel(tea.MouseWheelUp))
	if c := m.List().Cursor(); c != 24 {
		t.Fatalf("a notch up put the cursor on %d", c)
	}

	// The details scroll too (at 80×12 they do not fit).
	send(t, m, tea.WindowSizeMsg{Width: 80, Height: 14})
	press(t, m, "enter")
	if m.Screen() != ScreenDetail {
		t.Fatal("enter did not open the details")
	}
	before := screen(m)
	send(t, m, wheel(tea.MouseWheelDown))
	if screen(m) == before {
		t.Fatalf("the wheel did not scroll the details:\n%s", before)
	}
	send(t, m, wheel(tea.MouseWheelUp))
	if screen(m) != before {
		t.Fatal("the wheel back up did not scroll back")
	}
}

func TestMouseNeverInADialogAndOffOnTheReveal(t *testing.T) {
	m := mouseModel(t, true)
	first := selectedName(m)
	y := lineOf(t, m, first)
	press(t, m, "R")
	if m.Screen() != ScreenConfirm {
		t.Fatalf("R opened %v", m.Screen())
	}
	send(t, m, click(y+2))
	send(t, m, wheel(tea.MouseWheelDown))
	if m.Screen() != ScreenConfirm || selectedName(m) != first {
		t.Fatal("the mouse reached the list under a dialog")
	}
	if mm := m.View().MouseMode; mm != tea.MouseModeCellMotion {
		t.Fatalf("mouse mode %v on a confirm dialog", mm)
	}
	press(t, m, "tab", "enter")
	if m.Screen() != ScreenReveal {
		t.Fatalf("confirm went to %v (%q)", m.Screen(), m.ErrorText())
	}
	if mm := m.View().MouseMode; mm != tea.MouseModeNone {
		t.Fatalf("mouse mode %v on the reveal: the secret could not be selected", mm)
	}
	send(t, m, click(y))
	send(t, m, wheel(tea.MouseWheelDown))
	if m.Screen() != ScreenReveal {
		t.Fatal("the mouse closed the reveal")
	}
	press(t, m, "tab", "tab", "enter")
	if m.Screen() != ScreenList {
		t.Fatalf("the reveal closed to %v", m.Screen())
	}
	if mm := m.View().MouseMode; mm != tea.MouseModeCellMotion {
		t.Fatalf("mouse mode %v after the reveal", mm)
	}
}
