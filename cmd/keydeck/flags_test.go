package main

import (
	"errors"
	"testing"
)

func TestParseWhole(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  string
	}{
		{"0", 0, ""},
		{" 42 ", 42, ""},
		{"1000000000000", 1000000000000, ""},
		{"1000000000001", 0, "--query: too large (at most 1000000000000)"},
		{"9223372036854775808", 0, "--query: too large (at most 1000000000000)"},
		{"-1", 0, "--query: cannot be negative"},
		{"-9223372036854775809", 0, "--query: cannot be negative"},
		{"", 0, "--query: empty; give a whole number"},
		{"ten", 0, `--query: not a whole number: "ten"`},
		{"1_000", 0, `--query: not a whole number: "1_000"`},
		{"0x10", 0, `--query: not a whole number: "0x10"`},
		{"\x1b[31m", 0, `--query: not a whole number: "?[31m"`},
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
	if _, err := parseWhole("days", "0", 1, 366); err == nil || err.Error() != "--days: at least 1" {
		t.Errorf("parseWhole days 0: %v", err)
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
