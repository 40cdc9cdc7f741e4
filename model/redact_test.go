package model

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// secretShapes are the forms a secret or token takes in outside input;
// each must be hidden wholly.
func secretShapes(secret string) map[string]string {
	body := secret[4:]
	pct := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			fmt.Fprintf(&b, "%%%02X", s[i])
		}
		return b.String()
	}
	return map[string]string{
		"as made":               secret,
		"upper case":            strings.ToUpper(secret[:4]) + body,
		"mixed case":            "KdS_" + body,
		"dash":                  "kds-" + body,
		"upper dash":            "KDS-" + body,
		"no prefix":             body,
		"cut short":             secret[:20],
		"prefix fragment":       "kds_" + body[:5],
		"tail":                  body[len(body)-RedactRun:],
		"glued to a word":       "x" + secret,
		"escaped separator":     "kds%5F" + body,
		"escaped dash":          "kds%2d" + body,
		"escaped characters":    pct(secret),
		"escaped half":          body[:20] + pct(body[20:]),
		"in a path":             "/v1/keys/" + secret + "/usage",
		"as a query":            "?secret=" + body + "&x=1",
		"in quotes":             `"` + secret + `"`,
		"after a name":          "name " + secret,
		"token":                 "kdt_" + body,
		"token upper dash":      "KDT-" + body,
		"path-escaped by url":   url.PathEscape("kds_" + body),
		"query-escaped by url":  url.QueryEscape("Kds-" + body),
		"prefix split by slash": "/kds/_" + body,
	}
}

func TestRedactSecretsShapes(t *testing.T) {
	secret := NewSecret()
	body := secret[4:]
	for name, in := range secretShapes(secret) {
		out := RedactSecrets(in)
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s: nothing redacted", name)
		}
		// No 8 characters of the secret are left, in plain or escaped form.
		plain, err := url.PathUnescape(out)
		if err != nil {
			plain = out
		}
		for i := 0; i+8 <= len(body); i++ {
			if strings.Contains(out, body[i:i+8]) || strings.Contains(plain, body[i:i+8]) {
				t.Errorf("%s: %q left in the output", name, body[i:i+8])
				break
			}
		}
	}
}

// Public and ordinary text is kept as it is.
func TestRedactSecretsKeeps(t *testing.T) {
	id := NewClientID()
	for _, s := range []string{
		"", "hello world", "Backend-Server-Key", "no such key: \"kdc_\"",
		id, "/v1/keys/" + id + "/usage", strings.ToUpper(id[:4]) + id[4:],
		strings.Repeat("a", RedactRun-1), "kds", "kdsx", "kdc_" + strings.Repeat("Z", 22),
		"%41%42", "100%", "a%zz",
	} {
		if got := RedactSecrets(s); got != s {
			t.Errorf("%q became %q", s, got)
		}
	}
	if got := RedactSecrets(strings.Repeat("a", RedactRun)); got != "…[redacted]" {
		t.Errorf("a run of %d: %q", RedactRun, got)
	}
	if got := RedactSecrets("key kds_abc here"); got != "key kds…[redacted] here" {
		t.Errorf("prefix: %q", got)
	}
}

func BenchmarkRedactSecretsNothing(b *testing.B) {
	s := "/v1/keys/kdc_fIlQwdNXfHPJpX1MTPAQSj/usage"
	b.ReportAllocs()
	for b.Loop() {
		if RedactSecrets(s) != s {
			b.Fatal("changed")
		}
	}
}

// FuzzRedactSecrets: whatever the input, no long base62 run and no
// prefixed credential is left. go test -fuzz FuzzRedactSecrets ./model
func FuzzRedactSecrets(f *testing.F) {
	for _, s := range secretShapes(NewSecret()) {
		f.Add(s)
	}
	f.Add("%4")
	f.Add("kds%5")
	f.Fuzz(func(t *testing.T, s string) {
		out := RedactSecrets(s)
		if again := RedactSecrets(out); again != out {
			t.Fatalf("%q: redacting twice gives %q, then %q", s, out, again)
		}
	})
}
