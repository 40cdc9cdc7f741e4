package tmuxtest

import (
	"fmt"
	"strings"
	"testing"
	"time"
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

// PID is the pane's command (here the sh that prints its own $$); Within
// waits with its own deadline and leaves the session's alone.
func TestSessionPIDAndWithin(t *testing.T) {
	s := Start(t, 40, 10, `echo "pid:$$"; sleep 30`, WithTimeout(time.Minute))
	want := fmt.Sprintf("pid:%d", s.PID())
	s.Within(5 * time.Second).WaitFor(want)
	if c := s.Within(2 * time.Second); c.timeout != 2*time.Second || s.timeout != time.Minute {
		t.Fatalf("Within: copy waits %s, original %s; want 2s and 1m", c.timeout, s.timeout)
	}
}

func TestRedactHidesSecrets(t *testing.T) {
	secret := "kds_" + strings.Repeat("aZ9", 16) + "x" // 49 characters, as model.NewSecret makes
	got := Redact("secret: " + secret + " cut: kds_" + strings.Repeat("b", 20) + " id: kdc_0123456789")
	if strings.Contains(got, "aZ9") || strings.Contains(got, "bbbb") || !strings.Contains(got, "kdc_0123456789") {
		t.Fatalf("Redact: %q", got)
	}
}
