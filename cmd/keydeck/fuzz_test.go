package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// Fuzz targets for what the CLI parses itself: numeric flags, --perm and
// a PUBKEY file. Durations (--ssh-idle-timeout) are pflag's
// time.ParseDuration plus a sign check; there is no parser of ours there.

var plainDigits = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// FuzzParseWhole: every numeric flag takes exactly plain decimal digits
// without a leading zero, in its range, as strconv reads them; a refusal
// is one line naming the flag.
func FuzzParseWhole(f *testing.F) {
	for _, s := range []string{"0", "1", "366", "367", "1000000000000", "1000000000001", "010", "+5", "-5", "-0", " 5", "5 ",
		"1_000", "0x10", "1e3", "", "9223372036854775807", "9223372036854775808", "٣", "５"} {
		f.Add(s)
	}
	ranges := []struct {
		name   string
		lo, hi int64
	}{{"query", 0, model.MaxQuota}, {"days", 1, 366}, {"limit", 1, storage.MaxLimit}, {"ssh-max-sessions", 1, maxSSHSessions}}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range ranges {
			got, err := parseWhole(r.name, s, r.lo, r.hi)
			want, serr := strconv.ParseInt(s, 10, 64)
			ok := plainDigits.MatchString(s) && serr == nil && r.lo <= want && want <= r.hi
			if (err == nil) != ok || ok && got != want {
				t.Fatalf("--%s %q: got %d, %v; strconv says %d, %v", r.name, s, got, err, want, serr)
			}
			if err != nil && (strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "--"+r.name+": ")) {
				t.Fatalf("--%s %q: error %q", r.name, s, err)
			}
		}
	})
}

// FuzzParsePerm: --perm takes what model.ParsePermissions takes, minus
// lists with an empty item, and the result prints back to itself.
func FuzzParsePerm(f *testing.F) {
	for _, s := range []string{"read", "read,write,delete", " read , write ", "read,,write", "read,", ",read", "", " ", "READ",
		"read,read", "reed", "read\nwrite", "read,\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePerm(s)
		mp, merr := model.ParsePermissions(s)
		empty := false
		for _, part := range strings.Split(s, ",") {
			empty = empty || strings.TrimSpace(part) == ""
		}
		if ok := merr == nil && !empty; (err == nil) != ok || ok && p != mp {
			t.Fatalf("%q: %v, %v; model says %v, %v (empty item %v)", s, p, err, mp, merr, empty)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("%q: error of more than one line", s)
		}
		if err == nil {
			if q, err := parsePerm(strings.Join(p.List(), ",")); err != nil || q != p {
				t.Fatalf("%q: %v does not parse back", s, p.List())
			}
		}
	})
}

// FuzzReadPublicKey: a PUBKEY file (here on stdin) is one key line, or a
// one-line error; a private key is never accepted.
func FuzzReadPublicKey(f *testing.F) {
	line := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtqJ7zOtqQtYqOo0CpvDXNlMhV3HQ4wG7YvtxHhYQPv you@host"
	for _, s := range []string{line, line + "\n", "# mine\n\n" + line + "\n\n", line + "\n" + line, "", "\n# only\n",
		"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n", "\r\n" + line + "\r\n", "\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a := newApp(bytes.NewReader(data), &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })
		l, err := a.readPublicKey("-")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		if bytes.Contains(data, []byte("PRIVATE KEY")) {
			t.Fatalf("a private key file was read as a public key")
		}
		if len(l) == 0 || l[0] == '#' || bytes.ContainsAny(l, "\n") || !bytes.Equal(l, bytes.TrimSpace(l)) {
			t.Fatalf("%q: read %q", data, l)
		}
		if k, err := model.ParseAuthorizedKey(l); err == nil && !strings.HasPrefix(k.Fingerprint, "SHA256:") {
			t.Fatalf("%q: fingerprint %q", l, k.Fingerprint)
		}
	})
}
