package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
	"github.com/keydeck/keydeck/storage/sqlite"
)

// TestCopyThroughPostgres runs keydeck copy from a SQLite file to
// PostgreSQL and from there to a new file, and uses the last copy: the
// secret verifies, the token and the usage are there. (copy.txtar covers
// SQLite to SQLite and the refusals without a server.)
func TestCopyThroughPostgres(t *testing.T) {
	pgURL := pgtest.Schema(t, t.Name())
	dir := t.TempDir()
	env := map[string]string{envDB: filepath.Join(dir, "src.db"), "XDG_DATA_HOME": dir, "USER": "tester"}
	kd := func(want int, args ...string) (string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] }); code != want {
			t.Fatalf("keydeck %s: exit %d, want %d; stderr: %s", args[0], code, want, secretRe.ReplaceAllString(stderr.String(), "<secret>"))
		}
		return stdout.String(), stderr.String()
	}
	out, _ := kd(0, "account", "create", "acme", "--query-total", "60", "--mutation-total", "40", "--credits", "7")
	token := secretRe.FindString(out)
	out, _ = kd(0, "--account", "acme", "keys", "create", "--name", "Backend", "--perm", "read,write", "--query", "5", "--mutation", "2")
	clientID, secret := clientIDRe.FindString(out), secretRe.FindString(out)
	if token == "" || clientID == "" || secret == "" {
		t.Fatal("no token, Client ID or secret printed")
	}
	env[envSecret] = secret
	kd(0, "verify", "--client-id", clientID, "--op", "write", "--credits", "2")

	password := ""
	if u, err := url.Parse(pgURL); err == nil && u.User != nil {
		password, _ = u.User.Password()
	}
	clean := func(s string) {
		t.Helper()
		if password != "" && strings.Contains(s, password) {
			t.Fatal("the database password was printed")
		}
	}
	out, errOut := kd(0, "copy", "--to", pgURL)
	clean(out + errOut)
	if !strings.Contains(out, " to "+postgres.ShowURL(pgURL)+":\n") || !regexp.MustCompile(`(?m)^  keys: +1$`).MatchString(out) {
		t.Fatalf("copy printed:\n%s", out)
	}
	_, errOut = kd(1, "copy", "--to", pgURL)
	clean(errOut)
	if !strings.Contains(errOut, "the target already holds 2 accounts, 1 key and 3 audit events; copy needs an empty database") {
		t.Fatalf("a second copy: %s", errOut)
	}

	back := filepath.Join(dir, "back.db")
	out, errOut = kd(0, "--db", pgURL, "copy", "--to", back, "--json")
	clean(out + errOut)
	var res struct {
		From string `json:"from"`
		storage.Counts
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if want := (storage.Counts{Accounts: 2, Tokens: 1, Keys: 1, UsageDays: 1, AuditEvents: 3}); res.Counts != want || res.From != postgres.ShowURL(pgURL) {
		t.Fatalf("copy back: %+v from %s, want %+v", res.Counts, res.From, want)
	}

	env[envDB] = back
	out, _ = kd(0, "verify", "--client-id", clientID, "--op", "write")
	if !strings.Contains(out, "0 of 2 mutation units left") {
		t.Fatalf("verify on the copy of the copy: %s", out)
	}
	out, _ = kd(0, "account", "show", "acme")
	if !strings.Contains(out, "Credits:") || !strings.Contains(out, " 5\n") {
		t.Fatalf("acme on the copy of the copy:\n%s", out)
	}
	db, err := sqlite.Open(context.Background(), back, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if a, err := db.AuthenticateToken(context.Background(), token); err != nil || a.Name != "acme" {
		t.Fatalf("the token on the copy of the copy: %q, %v", a.Name, err)
	}
}
