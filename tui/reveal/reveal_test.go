package reveal

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/tui/common"
	"github.com/keydeck/keydeck/tui/styles"
)

// The secret is wrapped, never cut, however narrow the screen; failures
// never print it.
func TestSecretIsWrappedNotCut(t *testing.T) {
	secret := "kds_test_" + strings.Repeat("AbCdEfGhIj", 7) // fixture, not a real secret
	c := &common.Common{Styles: styles.New(true, true), Location: time.UTC, Now: time.Now}
	for _, w := range []int{24, 40, 60, 80, 120} {
		m := New(c, model.Key{Name: "k", ClientID: "kdc_7fQ2mXc9LpR4sT1vW8yZ3a"}, secret, false)
		m.SetSize(w, 30)
		v := ansi.Strip(m.View())
		for _, l := range strings.Split(v, "\n") {
			if ansi.StringWidth(l) > w {
				t.Errorf("%d columns: a line is %d wide", w, ansi.StringWidth(l))
			}
		}
		if !strings.Contains(strings.ReplaceAll(v, "\n    ", ""), secret) {
			t.Errorf("%d columns: the secret is not shown whole", w)
		}
		if !strings.Contains(strings.ReplaceAll(v, "\n    ", ""), "kdc_7fQ2mXc9LpR4sT1vW8yZ3a") {
			t.Errorf("%d columns: the Client ID is not shown whole", w)
		}
	}
}
