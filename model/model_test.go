package model

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSecretFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := NewSecret()
		if len(s) != SecretLen || !strings.HasPrefix(s, SecretPrefix) {
			t.Fatalf("secret of length %d", len(s))
		}
		if err := CheckSecret(SecretPrefix, s); err != nil {
			t.Fatalf("a fresh secret fails its own check")
		}
		if seen[s] {
			t.Fatalf("duplicate secret")
		}
		seen[s] = true
		// Every single-character change is caught by the checksum or the alphabet.
		b := []byte(s)
		i := 4 + len(seen)%(len(s)-4)
		orig := b[i]
		b[i] = base62[(strings.IndexByte(base62, orig)+1)%62]
		if CheckSecret(SecretPrefix, string(b)) == nil {
			t.Fatalf("a changed character passed the checksum")
		}
	}
	tok := NewToken()
	if CheckSecret(SecretPrefix, tok) == nil || CheckSecret(TokenPrefix, tok) != nil {
		t.Fatalf("tokens and secrets are told apart by prefix")
	}
	for _, bad := range []string{"", "kds_", "kds_" + strings.Repeat("A", secretChars+checksumChars-1), NewSecret() + "x",
		strings.Replace(NewSecret(), "kds_", "kdx_", 1), NewSecret()[:20] + "-" + NewSecret()[21:]} {
		if err := CheckSecret(SecretPrefix, bad); !errors.Is(err, ErrMalformedSecret) {
			t.Errorf("malformed secret accepted")
		}
	}
	if !ValidClientID(NewClientID()) || ValidClientID("kdc_short") || ValidClientID(NewSecret()) {
		t.Fatal("client ID shape check")
	}
}

func TestSecretEntropyAlphabet(t *testing.T) {
	// Each of the 62 characters shows up: the generator is not biased to a subset.
	counts := map[byte]int{}
	for range 2000 {
		s := NewSecret()
		for i := 4; i < 4+secretChars; i++ {
			counts[s[i]]++
		}
	}
	if len(counts) != 62 {
		t.Fatalf("%d distinct characters, want 62", len(counts))
	}
	mean := 2000 * secretChars / 62
	for c, n := range counts {
		if n < mean*8/10 || n > mean*12/10 {
			t.Fatalf("character %q appears %d times, mean %d: biased", c, n, mean)
		}
	}
}

func TestDigest(t *testing.T) {
	s := NewSecret()
	if !DigestOf(s).Equal(DigestOf(s)) || DigestOf(s).Equal(DigestOf(NewSecret())) || DummyDigest.Equal(DigestOf(s)) {
		t.Fatal("digest comparison")
	}
	if Hint(s) != s[len(s)-4:] {
		t.Fatal("hint is the last four characters")
	}
}

func TestDecideOrder(t *testing.T) {
	st := KeyState{Active: true, Permissions: PermRead, QueryAlloc: 1, QueryUsed: 1, AccountCredits: 0}
	// Missing permission wins over an exhausted quota.
	if v := Decide(st, OpWrite, 0); v != DeniedForbidden {
		t.Fatalf("got %v", v)
	}
	// Exhausted quota wins over missing credits.
	if v := Decide(st, OpRead, 5); v != DeniedQuota {
		t.Fatalf("got %v", v)
	}
	st.QueryUsed = 0
	if v := Decide(st, OpRead, 5); v != DeniedCredits {
		t.Fatalf("got %v", v)
	}
	if v := Decide(st, OpRead, 0); v != Allowed {
		t.Fatalf("got %v", v)
	}
	st.Active = false
	if v := Decide(st, OpRead, 0); v != DeniedUnauthorized {
		t.Fatalf("revoked: got %v", v)
	}
	for v, want := range map[Verdict]int{Allowed: 0, DeniedUnauthorized: 3, DeniedForbidden: 4, DeniedQuota: 5, DeniedCredits: 6} {
		if v.ExitCode() != want {
			t.Errorf("%v maps to exit status %d", v, v.ExitCode())
		}
	}
}

func TestHolds(t *testing.T) {
	cases := []struct {
		status      Status
		keep        bool
		alloc, used int64
		want        int64
	}{
		{StatusActive, false, 10, 3, 10},
		{StatusActive, false, 10, 12, 12}, // lowered below usage
		{StatusRevoked, false, 10, 3, 3},
		{StatusRevoked, true, 10, 3, 10},
		{StatusRevoked, true, 10, 15, 15},
	}
	for _, c := range cases {
		if got := Holds(c.status, c.keep, c.alloc, c.used); got != c.want {
			t.Errorf("Holds(%v, keep=%v, %d, %d) = %d, want %d", c.status, c.keep, c.alloc, c.used, got, c.want)
		}
	}
}

func TestPeriod(t *testing.T) {
	now := time.Date(2026, 2, 14, 23, 0, 0, 0, time.FixedZone("x", -5*3600)) // Feb 15 04:00 UTC
	if s := PeriodMonthly.Start(now); !s.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("start %v", s)
	}
	if e := PeriodMonthly.End(now); !e.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("end %v", e)
	}
	if PeriodMonthly.Seconds(now) != 28*86400 || PeriodNone.Seconds(now) != 0 || !PeriodNone.End(now).IsZero() {
		t.Fatal("period lengths")
	}
	// The last instant of a UTC month, seen from a zone where it is already next month.
	late := time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC).In(time.FixedZone("y", 9*3600))
	if PeriodMonthly.Start(late).Month() != time.March || Day(late) != "2026-03-31" {
		t.Fatal("periods and days are UTC")
	}
	if _, err := ParsePeriod("weekly"); err == nil {
		t.Fatal("unknown period accepted")
	}
}

func TestNames(t *testing.T) {
	good := map[string]string{"  Backend-Server-Key ": "Backend-Server-Key", strings.Repeat("ß", 64): strings.Repeat("ß", 64), "a b": "a b"}
	for in, want := range good {
		if got, err := NormalizeName(in); err != nil || got != want {
			t.Errorf("NormalizeName(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", " \t ", strings.Repeat("x", 65), NewClientID(), "a\x00b", "a\u200bb", "esc\x1b[31m", "\xff"} {
		if _, err := NormalizeName(bad); !IsValidation(err) {
			t.Errorf("NormalizeName(%q) accepted", bad)
		}
	}
	if Sanitize("a\x1bb\ncd", 3) != "a?b…" {
		t.Fatalf("sanitize: %q", Sanitize("a\x1bb\ncd", 3))
	}
}

// Printable leaves printable text alone and replaces every class of
// character that could move the cursor, recolour or reorder a terminal.
func TestPrintable(t *testing.T) {
	for _, ok := range []string{"", "Backend-Server-Key", "Ключ 鍵 🔑", "a b", "kdc_fIlQwdNXfHPJpX1MTPAQSj"} {
		if got := Printable(ok); got != ok {
			t.Errorf("Printable(%q) = %q; want it unchanged", ok, got)
		}
	}
	for in, want := range map[string]string{
		"a\x00b":                     "a?b",          // C0
		"a\x1b]0;pwned\x07b":         "a?]0;pwned?b", // ESC, BEL: set the title
		"\x1b[2J\x1b[H":              "?[2J?[H",      // clear the screen
		"a\r\nforged":                "a??forged",
		"a\tb":                       "a?b",
		"a\x7fb":                     "a?b",    // DEL
		"a\u009b31mb":                "a?31mb", // C1 CSI
		"a\u0085b":                   "a?b",    // C1 NEL
		"\u202egnp.exe":              "?gnp.exe",
		"a\u202a\u202b\u202c\u202db": "a????b",
		"a\u2066\u2067\u2068\u2069b": "a????b",
		"a\u2028b":                   "a?b",      // line separator
		"a\u200bb":                   "a?b",      // zero width space
		"a\xffb":                     "a\ufffdb", // invalid UTF-8
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestPermissions(t *testing.T) {
	p, err := ParsePermissions(" Read, delete ,")
	if err != nil || p != PermRead|PermDelete || p.String() != "read,delete" || p.Short() != "R-D" {
		t.Fatalf("parse: %v %v", p, err)
	}
	for _, bad := range []string{"", ",", "read,admin", "rw"} {
		if _, err := ParsePermissions(bad); !IsValidation(err) {
			t.Errorf("ParsePermissions(%q) accepted", bad)
		}
	}
	if OpDelete.Kind() != KindMutation || OpRead.Kind() != KindQuery {
		t.Error("kinds")
	}
}

func TestNotFoundRedactsSecrets(t *testing.T) {
	sec, tok := NewSecret(), NewToken()
	for _, id := range []string{sec, tok, "name " + sec, sec[:20]} {
		msg := KeyNotFound(id).Error()
		if strings.Contains(msg, sec[4:20]) || strings.Contains(msg, tok[4:20]) {
			t.Fatalf("a secret pasted as an ID is echoed: %q", RedactSecrets(msg))
		}
	}
	if got := KeyNotFound("Backend-Key").Error(); got != `no such key: "Backend-Key"` {
		t.Fatalf("plain names are kept: %q", got)
	}
}
