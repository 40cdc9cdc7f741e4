package tmuxtest

import (
	"strings"
	"testing"
)

func TestSessionTypesWaitsAndResizes(t *testing.T) {
	s := Start(t, 40, 10, `read line; echo "got:$line"; stty size; read more; stty size; sleep 30`,
		WithRedact(func(p string) string { return strings.ReplaceAll(p, "hidden", "[redacted]") }))
	s.Type("hello")
	s.Send("Enter")
	s.WaitFor("got:hello", "10 40")
	s.Resize(60, 12)
	s.Send("Enter")
	pane := s.Wait("the new size", func(p string) bool { return strings.Contains(p, "12 60") })
	if !strings.Contains(pane, "got:hello") {
		t.Fatalf("pane lost its text:\n%s", pane)
	}
}
