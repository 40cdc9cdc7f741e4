package main

import (
	"bytes"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// deadPGURL is a PostgreSQL URL with a password, on a loopback port that
// nothing listens on.
func deadPGURL(t *testing.T) (url, port string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return "postgres://kd:s3cretPW@127.0.0.1:" + port + "/keydeck?sslmode=disable", port
}

// TestDBSelection: --db wins over KEYDECK_DB, either may name a
// PostgreSQL URL (in any case of the scheme), anything else is a file.
func TestDBSelection(t *testing.T) {
	pg, _ := deadPGURL(t)
	file := filepath.Join(t.TempDir(), "k.db")
	for _, c := range []struct {
		name    string
		flag    string // "" for none
		env     string
		want    string
		postgre bool
	}{
		{"flag url", pg, "", pg, true},
		{"flag postgresql", "postgresql://h/db", "", "postgresql://h/db", true},
		{"flag upper case", "PostgreSQL://h/db", "", "PostgreSQL://h/db", true},
		{"env url", "", pg, pg, true},
		{"flag file over env url", file, pg, file, false},
		{"flag url over env file", pg, file, pg, true},
		{"env file", "", file, file, false},
		{"a file named like a scheme", "postgres.db", "", "postgres.db", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}, func(k string) string {
				if k == envDB {
					return c.env
				}
				return ""
			})
			root := a.rootCmd()
			cmd, _, err := root.Find([]string{"keys", "list"})
			if err != nil {
				t.Fatal(err)
			}
			var args []string
			if c.flag != "" {
				args = []string{"--db", c.flag}
			}
			if err := cmd.ParseFlags(args); err != nil {
				t.Fatal(err)
			}
			got, err := a.dbTarget(cmd)
			if err != nil || got != c.want || a.onPostgres(cmd) != c.postgre {
				t.Fatalf("dbTarget = %q, %v; onPostgres %v; want %q, %v", got, err, a.onPostgres(cmd), c.want, c.postgre)
			}
			// The TUI's header names the database without credentials.
			if src := a.tuiSource(cmd); strings.Contains(src, "s3cretPW") || strings.Contains(src, "kd:") || src == "" {
				t.Fatalf("tuiSource = %q", src)
			}
		})
	}
}

// TestPostgresUnreachable: every command that opens the database says in
// one line that PostgreSQL cannot be reached, naming host and port, exits
// 1, and prints the URL's password nowhere, logs included.
func TestPostgresUnreachable(t *testing.T) {
	pg, port := deadPGURL(t)
	verify := []string{"verify", "--client-id", model.NewClientID(), "--secret", model.NewSecret(), "--op", "read"}
	for _, args := range [][]string{
		{"keys", "list"},
		{"keys", "show", "x"},
		{"account", "show", "default"},
		{"audit"},
		verify,
		{"serve", "--http", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1"},
	} {
		for _, via := range []string{"flag", "env"} {
			var stdout, stderr bytes.Buffer
			argv := append([]string{"--log-level", "debug"}, args...)
			env := ""
			if via == "flag" {
				argv = append([]string{"--db", pg}, argv...)
			} else {
				env = pg
			}
			code := run(argv, strings.NewReader(""), &stdout, &stderr, func(k string) string {
				if k == envDB {
					return env
				}
				return ""
			})
			out := stdout.String() + stderr.String()
			want := "keydeck: cannot reach PostgreSQL at 127.0.0.1:" + port + ": "
			if code != exitError || !strings.HasPrefix(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 || stdout.Len() != 0 {
				t.Errorf("%s (%s): exit %d, stdout %q, stderr %q; want exit 1 and one line %q…", strings.Join(args, " "), via, code, stdout.String(), stderr.String(), want)
			}
			if strings.Contains(out, "s3cretPW") || strings.Contains(out, "kd:") {
				t.Errorf("%s (%s): credentials printed: %q", strings.Join(args, " "), via, out)
			}
		}
	}
}

// TestPgUnreachableError: the one-liner is still storage.ErrUnavailable.
func TestPgUnreachableError(t *testing.T) {
	err := error(pgUnreachableError{&storage.DatabaseDownError{Addr: "db:5432", Cause: "timed out"}})
	if err.Error() != "cannot reach PostgreSQL at db:5432: timed out" || !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("%v", err)
	}
	err = pgUnreachableError{&storage.DatabaseDownError{Addr: "db:5432", Cause: `password authentication failed for user "kd"`}}
	if err.Error() != `PostgreSQL at db:5432 refused the connection: password authentication failed for user "kd"` {
		t.Fatalf("%v", err)
	}
}

// TestHideDBSecrets: whatever a driver might quote of the URL, the
// password and user info never reach a message or a log line.
func TestHideDBSecrets(t *testing.T) {
	a := newApp(nil, nil, nil, func(k string) string {
		if k == envDB {
			return "postgresql://envuser:EnvPass%21word@db/x"
		}
		return ""
	})
	a.db = "postgres://kd:s3cretPW@h:5432/db?password=QueryPass&sslmode=require&sslpassword=KeyPhrase"
	msg := "failed: postgres://kd:s3cretPW@h:5432/db?password=QueryPass&sslpassword=KeyPhrase; envuser:EnvPass%21word / EnvPass!word"
	got := hideDBSecrets(msg, a.dbSecrets())
	for _, s := range []string{"s3cretPW", "QueryPass", "KeyPhrase", "EnvPass", "envuser:"} {
		if strings.Contains(got, s) {
			t.Errorf("%q left in %q", s, got)
		}
	}
	var buf bytes.Buffer
	w := hidingWriter{&buf, a.dbSecrets()}
	if n, err := w.Write([]byte("level=ERROR msg=x url=" + a.db + "\n")); err != nil || n == 0 || strings.Contains(buf.String(), "s3cretPW") {
		t.Fatalf("log line %q (%d, %v)", buf.String(), n, err)
	}
	// Neither has a user name alone, nor a SQLite path.
	for _, db := range []string{"postgres://nobody@h/db", "/var/lib/keydeck/k.db", ""} {
		b := newApp(nil, nil, nil, func(string) string { return "" })
		b.db = db
		if s := b.dbSecrets(); len(s) != 0 {
			t.Fatalf("secrets of %q: %q", db, s)
		}
	}
}
