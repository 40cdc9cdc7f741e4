package model

import (
	"crypto/ed25519"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

// Fuzz targets for what model parses of outside input: credentials, SSH
// public keys, permission/operation/period names and the sanitiser. The
// seeds run with every go test; make fuzz runs each target for a while.

// fuzzSecret builds a well-formed credential from fuzz bytes, so a failure
// reproduces (NewSecret is random).
func fuzzSecret(prefix string, seed []byte) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := 0; i < secretChars; i++ {
		c := byte(i)
		if len(seed) > 0 {
			c += seed[i%len(seed)] * byte(i+1)
		}
		b.WriteByte(base62[int(c)%62])
	}
	return b.String() + checksum(b.String())
}

var credentialShape = regexp.MustCompile(`^kd[st]_[0-9A-Za-z]{49}$`)

// FuzzCheckSecret: CheckSecret never panics and accepts only the shape;
// a well-formed secret or token passes, and any one changed character
// fails the checksum.
func FuzzCheckSecret(f *testing.F) {
	f.Add("kds_", "", []byte("seed"), 0, byte('x'))
	f.Add("kdt_", NewToken(), []byte{0xff, 0}, 52, byte('0'))
	f.Add("kds_", NewSecret(), []byte{}, 4, byte('A'))
	f.Add("kds_", "kds_"+strings.Repeat("0", 49), []byte{1}, 10, byte('\xff'))
	f.Add("kds_", "KDS_"+strings.Repeat("a", 49), []byte{2}, -1, byte('_'))
	f.Add("kdc_", "kds_é"+strings.Repeat("a", 47), []byte{3}, 1000, byte('é'))
	f.Fuzz(func(t *testing.T, prefix, s string, seed []byte, pos int, c byte) {
		if err := CheckSecret(prefix, s); err == nil {
			if len(s) != SecretLen || !strings.HasPrefix(s, prefix) || !isBase62(s[len(prefix):]) {
				t.Fatalf("accepted a malformed credential (%d bytes)", len(s))
			}
		}
		for _, p := range []string{SecretPrefix, TokenPrefix} {
			good := fuzzSecret(p, seed)
			if !credentialShape.MatchString(good) {
				t.Fatalf("built credential has the wrong shape")
			}
			if err := CheckSecret(p, good); err != nil {
				t.Fatalf("a well-formed credential is refused: %v", err)
			}
			other := TokenPrefix
			if p == TokenPrefix {
				other = SecretPrefix
			}
			if CheckSecret(other, good) == nil {
				t.Fatalf("a %s credential passes as %s", p, other)
			}
			i := len(p) + abs(pos)%(len(good)-len(p))
			if good[i] == c {
				continue
			}
			changed := good[:i] + string([]byte{c}) + good[i+1:]
			if CheckSecret(p, changed) == nil {
				t.Fatalf("a credential with character %d changed passes", i)
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n = -n; n < 0 { // math.MinInt
			return 0
		}
	}
	return n
}

var clientIDShape = regexp.MustCompile(`^kdc_[0-9A-Za-z]{22}$`)

// FuzzValidClientID: ValidClientID agrees with the documented shape.
func FuzzValidClientID(f *testing.F) {
	for _, s := range []string{NewClientID(), "", "kdc_", "kdc_" + strings.Repeat("a", 21), "KDC_" + strings.Repeat("a", 22),
		"kdc_" + strings.Repeat("a", 21) + "é", "kdc_" + strings.Repeat("a", 21) + "\n", "kds_" + strings.Repeat("a", 22)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidClientID(s), clientIDShape.MatchString(s); got != want {
			t.Fatalf("ValidClientID(%q) = %v, want %v", s, got, want)
		}
	})
}

// FuzzParseNames: permission lists, operations and periods (API bodies,
// CLI flags) never panic, and what is accepted prints back to itself.
func FuzzParseNames(f *testing.F) {
	for _, s := range []string{"read", "read,write,delete", " Read , DELETE ", "read,,write", ",", "", "reed", "write\x00",
		"monthly", "none", "NONE", "delete", "readwrite", "read,İ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := ParsePermissions(s); err == nil {
			if p == 0 || p&^PermAll != 0 {
				t.Fatalf("%q: permission %b", s, p)
			}
			if q, err := ParsePermissions(strings.Join(p.List(), ",")); err != nil || q != p {
				t.Fatalf("%q: %v does not parse back (%v, %v)", s, p.List(), q, err)
			}
		} else if strings.Contains(err.Error(), "\n") {
			t.Fatalf("%q: error of more than one line", s)
		}
		if o, err := ParseOperation(s); err == nil {
			if back, err := ParseOperation(o.String()); err != nil || back != o {
				t.Fatalf("%q: operation %v does not parse back", s, o)
			}
		}
		if p, err := ParsePeriod(s); err == nil {
			if back, err := ParsePeriod(string(p)); err != nil || back != p {
				t.Fatalf("%q: period %v does not parse back", s, p)
			}
		}
	})
}

// FuzzParseAuthorizedKey: any input is refused or parsed without panic;
// what is parsed reparses to the same fingerprint, with a printable
// comment; a generated ed25519 key's line always parses, fingerprinted as
// x/crypto/ssh does.
func FuzzParseAuthorizedKey(f *testing.F) {
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	sp, _ := ssh.NewPublicKey(pub)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
	for _, s := range []string{line, line + " you@host", "  " + line + " a b\tc  ", line + " \x1b[31mred\u202e",
		"ssh-ed25519", "ssh-ed25519 AAAA", "# comment", "", "ssh-rsa AAAAB3NzaC1yc2E=", `command="x" ` + line,
		line[:len(line)-2], "-----BEGIN OPENSSH PRIVATE KEY-----"} {
		f.Add([]byte(s), []byte("seed"), "you@host")
	}
	f.Fuzz(func(t *testing.T, in, seed []byte, comment string) {
		if k, err := ParseAuthorizedKey(in); err == nil {
			checkSSHKey(t, k)
			again, err := ParseAuthorizedKey([]byte(k.PublicKey))
			if err != nil || again.Fingerprint != k.Fingerprint || again.PublicKey != k.PublicKey {
				t.Fatalf("%q: the stored form %q does not reparse the same (%v)", in, k.PublicKey, err)
			}
		} else if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error of more than one line: %q", err)
		}
		s := make([]byte, ed25519.SeedSize)
		copy(s, seed)
		pk, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(s).Public())
		if err != nil {
			t.Fatal(err)
		}
		comment = strings.Map(func(r rune) rune { // one line, as ssh-keygen writes it
			if r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, comment)
		l := append(ssh.MarshalAuthorizedKey(pk)[:len(ssh.MarshalAuthorizedKey(pk))-1], ' ')
		l = append(l, comment...)
		k, err := ParseAuthorizedKey(l)
		if err != nil {
			t.Fatalf("a generated key's line %q is refused: %v", l, err)
		}
		checkSSHKey(t, k)
		if want := ssh.FingerprintSHA256(pk); k.Fingerprint != want {
			t.Fatalf("fingerprint %s, want %s", k.Fingerprint, want)
		}
		if k2, _ := ParseAuthorizedKey(l); k2 != k {
			t.Fatalf("parsing twice differs: %+v, %+v", k, k2)
		}
	})
}

func checkSSHKey(t *testing.T, k SSHKey) {
	t.Helper()
	if !strings.HasPrefix(k.Fingerprint, "SHA256:") || strings.ContainsAny(k.PublicKey, "\r\n") {
		t.Fatalf("odd key: %+v", k)
	}
	if Printable(k.Comment) != k.Comment || utf8.RuneCountInString(k.Comment) > 101 {
		t.Fatalf("comment %q is not printable and short", k.Comment)
	}
}

// FuzzPrintable: the sanitiser's output is valid UTF-8 of printable
// characters only (no C0/C1 controls, DEL, newlines, bidi controls), it
// is idempotent, and printable text is kept as it is.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "Backend-Key", "a\x1b[2Jb", "line\nline", "tab\there", "\u202eevil\u2066", "\xff\xfe",
		"\u0085\u009b31m", "\x7f", "日本語 ✓", "\u200b\ufeff", "\U0010FFFF", "\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Printable(s)
		if !utf8.ValidString(out) {
			t.Fatalf("%q: invalid UTF-8 out: %q", s, out)
		}
		for _, r := range out {
			if !unicode.IsPrint(r) || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
				t.Fatalf("%q: %U left in %q", s, r, out)
			}
		}
		if again := Printable(out); again != out {
			t.Fatalf("%q: not idempotent: %q then %q", s, out, again)
		}
		if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) && out != s {
			t.Fatalf("printable %q changed to %q", s, out)
		}
		if c := Sanitize(s, 10); Printable(c) != c || utf8.RuneCountInString(c) > 11 {
			t.Fatalf("%q: Sanitize gives %q", s, c)
		}
	})
}
