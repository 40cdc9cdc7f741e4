package api

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keydeck/keydeck/model"
)

// FuzzShowURL: a URL from the command line (--remote, --upstream) is
// shown in one printable, short line without its password, whatever it
// holds; and ParsePermissionList never panics.
func FuzzShowURL(f *testing.F) {
	for _, s := range []string{"https://keys.example.com", "http://user:hunter2pass@host:8080/x", "http://u:p@[::1", "ftp://a@b@c/",
		"http://host/\x1b[2J", "http://%zz@host", "://:pw@", "http://u:p@h/?token=kdt_" + strings.Repeat("a", 49), "\u202e"} {
		f.Add(s, "read,write")
	}
	f.Fuzz(func(t *testing.T, s, perms string) {
		out := ShowURL(s)
		if model.Printable(out) != out || utf8.RuneCountInString(out) > 201 {
			t.Fatalf("%q shown as %q", s, out)
		}
		if u, err := url.Parse(s); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && len(p) >= 4 && strings.Contains(out, p) && !strings.Contains(strings.Replace(s, p, "", 1), p) {
				t.Fatalf("%q shown as %q: the password is in it", s, out)
			}
		}
		if _, err := ParsePermissionList(strings.Split(perms, ";")); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("%q: error of more than one line", perms)
		}
	})
}
