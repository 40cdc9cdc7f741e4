package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage/remote/remotetest"
)

// hostileCLI runs keydeck in-process against a hostile server answering a.
func hostileCLI(t *testing.T, a remotetest.Answers) func(args ...string) (int, string, string) {
	t.Helper()
	ts := httptest.NewServer(remotetest.Handler(a))
	t.Cleanup(ts.Close)
	dir := t.TempDir()
	env := map[string]string{
		envRemote:       ts.URL,
		envToken:        model.NewToken(),
		envDB:           filepath.Join(dir, "unused.db"),
		"XDG_DATA_HOME": dir,
	}
	return func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
		return code, stdout.String(), stderr.String()
	}
}

// mustPrintClean fails if a line of out could act on a terminal.
func mustPrintClean(t *testing.T, what, out string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if r, bad := remotetest.Unsafe(line); bad {
			t.Errorf("%s prints %U in %q", what, r, redact(line))
		}
	}
}

func redact(s string) string { return secretRe.ReplaceAllString(s, "<secret>") }

// Remote mode prints nothing a hostile server put in its answers that
// could act on the terminal: not as text, not as --json, not in errors.
func TestHostileServerCannotReachTheTerminal(t *testing.T) {
	a := remotetest.Default()
	cli := hostileCLI(t, a)
	id := remotetest.ClientID
	for _, args := range [][]string{
		{"keys", "list"},
		{"keys", "list", "--all"},
		{"keys", "show", id},
		{"keys", "usage", id, "--days", "1"},
		{"audit"},
		{"audit", "--key", id},
		{"keys", "create", "--name", "New", "--perm", "read", "--query", "1", "--mutation", "1"},
		{"keys", "regenerate", id, "--yes"},
		{"keys", "edit", id, "--query", "2"},
		{"keys", "revoke", id, "--yes"},
		{"verify", "--client-id", id, "--secret", a.Secret, "--op", "read"},
	} {
		what := strings.Join(args[:min(2, len(args))], " ")
		code, stdout, stderr := cli(args...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", what, code, redact(stderr))
		}
		mustPrintClean(t, what, stdout)
		mustPrintClean(t, what, stderr)
		if what != "verify --client-id" && what != "keys usage" && !strings.Contains(stdout, remotetest.Marker) {
			t.Errorf("%s does not show the (cleaned) text at all:\n%s", what, redact(stdout))
		}
	}

	revoked := remotetest.Default()
	revoked.Key.Status = model.StatusRevoked
	revoked.Key.KeepsAllocation = true
	code, stdout, stderr := hostileCLI(t, revoked)("keys", "release", id, "--yes")
	if code != 0 || !strings.Contains(stdout, remotetest.Marker) {
		t.Errorf("keys release: exit %d: %s", code, redact(stderr))
	}
	mustPrintClean(t, "keys release", stdout)
	mustPrintClean(t, "keys release", stderr)

	// --json: the strings, decoded, are clean too (encoding/json escapes
	// C0 but passes C1 and bidi controls through as they are).
	for _, args := range [][]string{
		{"keys", "list", "--json"},
		{"keys", "show", id, "--json"},
		{"keys", "usage", id, "--json"},
		{"audit", "--json"},
		{"keys", "create", "--name", "New", "--perm", "read", "--query", "1", "--mutation", "1", "--json"},
	} {
		what := strings.Join(args, " ")
		code, stdout, stderr := cli(args...)
		var v any
		if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil {
			t.Errorf("%s: exit %d, %s", what, code, redact(stderr))
			continue
		}
		mustPrintClean(t, what, stdout)
		for _, s := range remotetest.Strings(v) {
			if r, bad := remotetest.Unsafe(s); bad {
				t.Errorf("%s: JSON string %q carries %U", what, redact(s), r)
			}
		}
		if !strings.Contains(stdout, remotetest.Marker) {
			t.Errorf("%s does not show the (cleaned) text at all", what)
		}
	}
}

// A hostile error answer is one clean line on stderr, exit status 1.
func TestHostileServerErrorsAreOneLine(t *testing.T) {
	for _, typ := range []string{api.TypeValidation, api.TypeAmbiguous, api.TypeNotFound, api.TypePrefix + "something-new"} {
		a := remotetest.Default()
		a.Problem = remotetest.HostileProblem(http.StatusConflict, typ)
		cli := hostileCLI(t, a)
		for _, args := range [][]string{
			{"keys", "create", "--name", "New", "--perm", "read", "--query", "1", "--mutation", "1"},
			{"keys", "edit", remotetest.ClientID, "--query", "2"},
			{"keys", "revoke", remotetest.ClientID, "--yes"},
		} {
			code, stdout, stderr := cli(args...)
			what := typ + ": " + strings.Join(args[:2], " ")
			if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "keydeck: ") {
				t.Errorf("%s: exit %d, stdout %q, stderr %q; want one line on stderr, exit 1", what, code, redact(stdout), redact(stderr))
			}
			mustPrintClean(t, what, stderr)
		}
	}
}

// An answer whose Client ID or status is not one is refused in one line.
func TestHostileServerMalformedKey(t *testing.T) {
	a := remotetest.Default()
	a.Key.ClientID = "kdc_\x1b]0;pwned\x07"
	code, stdout, stderr := hostileCLI(t, a)("keys", "list")
	want := "keydeck: remote: "
	if code != 1 || stdout != "" || !strings.HasPrefix(stderr, want) ||
		!strings.Contains(stderr, `sent a malformed key (Client ID "kdc_?]0;pwned?")`) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	mustPrintClean(t, "keys list", stderr)
}
