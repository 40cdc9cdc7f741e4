package main

import (
	"errors"
	"testing"

	"github.com/keydeck/keydeck/model"
)

func TestParseWhole(t *testing.T) {
	const rng = "; give a whole number from 0 to 1000000000000"
	for _, c := range []struct {
		in   string
		want int64
		err  string
	}{
		{"0", 0, ""},
		{"42", 42, ""},
		{"1000000000000", 1000000000000, ""},
		{"1000000000001", 0, "--query: too large" + rng},
		{"9223372036854775808", 0, "--query: too large" + rng},
		{"99999999999999999999999", 0, "--query: too large" + rng},
		{"-1", 0, "--query: cannot be negative" + rng},
		{"-0", 0, "--query: cannot be negative" + rng},
		{"-9223372036854775809", 0, "--query: cannot be negative" + rng},
		{"", 0, "--query: empty" + rng},
		// Only plain digits: no sign, space, separator, base or exponent.
		{"+5", 0, `--query: "+5" is not plain digits` + rng},
		{" 5", 0, `--query: " 5" is not plain digits` + rng},
		{"5 ", 0, `--query: "5 " is not plain digits` + rng},
		{" 42 ", 0, `--query: " 42 " is not plain digits` + rng},
		{"-", 0, `--query: "-" is not plain digits` + rng},
		{"--5", 0, `--query: "--5" is not plain digits` + rng},
		{"ten", 0, `--query: "ten" is not plain digits` + rng},
		{"1.5", 0, `--query: "1.5" is not plain digits` + rng},
		{"1e6", 0, `--query: "1e6" is not plain digits` + rng},
		{"1_000", 0, `--query: "1_000" is not plain digits` + rng},
		{"1,000", 0, `--query: "1,000" is not plain digits` + rng},
		{"0x10", 0, `--query: "0x10" is not plain digits` + rng},
		{"0b1", 0, `--query: "0b1" is not plain digits` + rng},
		{"\uff15", 0, "--query: \"\uff15\" is not plain digits" + rng}, // fullwidth 5
		{"\u0665", 0, "--query: \"\u0665\" is not plain digits" + rng}, // Arabic-Indic 5
		{"\x1b[31m", 0, `--query: "?[31m" is not plain digits` + rng},
		// A leading zero reads as octal to some tools: refused, not guessed.
		{"010", 0, `--query: "010" has a leading zero` + rng},
		{"00", 0, `--query: "00" has a leading zero` + rng},
	} {
		got, err := parseQuota("query", c.in)
		if c.err == "" {
			if err != nil || got != c.want {
				t.Errorf("parseQuota(%q) = %d, %v; want %d", c.in, got, err, c.want)
			}
			continue
		}
		var ue usageError
		if err == nil || err.Error() != c.err || !errors.As(err, &ue) {
			t.Errorf("parseQuota(%q) error = %v; want usage error %q", c.in, err, c.err)
		}
	}
	for _, c := range []struct {
		in, err string
	}{
		{"0", "--days: too small; give a whole number from 1 to 366"},
		{"367", "--days: too large; give a whole number from 1 to 366"},
		{"+30", `--days: "+30" is not plain digits; give a whole number from 1 to 366`},
	} {
		if _, err := parseWhole("days", c.in, 1, 366); err == nil || err.Error() != c.err {
			t.Errorf("parseWhole days %q: %v; want %q", c.in, err, c.err)
		}
	}
}

func TestParsePerm(t *testing.T) {
	for _, c := range []struct {
		in   string
		want model.Permission
		err  string
	}{
		{"read", model.PermRead, ""},
		{"read,write,delete", model.PermAll, ""},
		{"read, write", model.PermRead | model.PermWrite, ""},
		{"read,read", model.PermRead, ""}, // a repeat changes nothing
		{"READ", model.PermRead, ""},
		{"read,,write", 0, `--perm: "read,,write" has an empty item; give a comma-separated subset of read, write, delete`},
		{"read,", 0, `--perm: "read," has an empty item; give a comma-separated subset of read, write, delete`},
		{",read", 0, `--perm: ",read" has an empty item; give a comma-separated subset of read, write, delete`},
		{"read, ,write", 0, `--perm: "read, ,write" has an empty item; give a comma-separated subset of read, write, delete`},
		{"", 0, "--perm: choose at least one permission (read, write, delete)"},
		{",", 0, "--perm: choose at least one permission (read, write, delete)"},
		{"read,admin", 0, `--perm: unknown permission "admin" (use read, write, delete)`},
	} {
		got, err := parsePerm(c.in)
		if c.err == "" {
			if err != nil || got != c.want {
				t.Errorf("parsePerm(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
			continue
		}
		var ue usageError
		if err == nil || err.Error() != c.err || !errors.As(err, &ue) {
			t.Errorf("parsePerm(%q) error = %v; want usage error %q", c.in, err, c.err)
		}
	}
}

func TestCheckRemoteURL(t *testing.T) {
	for _, c := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://keys.example.com", false, true},
		{"https://keys.example.com:8443/base", false, true},
		{"http://127.0.0.1:8080", false, true},
		{"http://[::1]:8080", false, true},
		{"http://localhost:8080", false, true},
		{"http://LOCALHOST", false, true},
		{"http://10.0.0.5:8080", false, false},
		{"http://10.0.0.5:8080", true, true},
		{"http://keys.example.com", false, false},
		{"http://keys.example.com", true, true},
		{"http://127.0.0.1.example.com", false, false},
		{"ftp://keys.example.com", true, false},
		{"keys.example.com", false, false},
		{"https://", false, false},
		{"https://u:p@keys.example.com", false, false},
	} {
		_, err := checkRemoteURL(c.url, c.insecure)
		if (err == nil) != c.ok {
			t.Errorf("checkRemoteURL(%q, insecure=%v) error = %v; want ok=%v", c.url, c.insecure, err, c.ok)
		}
		var ue usageError
		if err != nil && !errors.As(err, &ue) {
			t.Errorf("checkRemoteURL(%q): %v is not a usage error", c.url, err)
		}
	}
}
