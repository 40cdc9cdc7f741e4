package main

import (
	"bytes"
	"database/sql"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// keydeckBinary is the real keydeck (this test binary under that name,
// installed on $PATH by testscript.Main).
func keydeckBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("keydeck")
	if err != nil {
		t.Fatalf("keydeck is not on PATH: %v", err)
	}
	return bin
}

// runner runs keydeck with a fixed environment and keeps every byte it
// wrote to stderr (its log) for inspection.
type runner struct {
	t    *testing.T
	bin  string
	env  []string
	logs bytes.Buffer
	cred *syscall.Credential
}

// run runs keydeck and returns its stdout and exit status. Output is never
// logged as is: it may hold a secret.
func (r *runner) run(stdin string, args ...string) (string, int) {
	r.t.Helper()
	var stdout, stderr bytes.Buffer
	c := exec.Command(r.bin, args...)
	c.Env = r.env
	c.Stdin = strings.NewReader(stdin)
	c.Stdout, c.Stderr = &stdout, &stderr
	if r.cred != nil {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	}
	err := c.Run()
	r.logs.Write(stderr.Bytes())
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), 0
	case errors.As(err, &ee):
		return stdout.String(), ee.ExitCode()
	}
	r.t.Fatalf("keydeck %s: %v", args[0], err)
	return "", -1
}

// must runs keydeck and fails the test unless it succeeds.
func (r *runner) must(stdin string, args ...string) string {
	r.t.Helper()
	out, code := r.run(stdin, args...)
	if code != 0 {
		r.t.Fatalf("keydeck %s: exit status %d; stderr: %s", strings.Join(args[:min(2, len(args))], " "), code,
			secretRe.ReplaceAllString(r.logs.String(), "<secret>"))
	}
	return out
}

func (r *runner) secretIn(out string) string {
	r.t.Helper()
	s := secretRe.FindString(out)
	if s == "" {
		r.t.Fatal("no secret or token in the output")
	}
	return s
}

// TestNoPlaintextSecretOnDisk creates keys, regenerates one, creates an
// account, rotates its token and makes a backup, with debug logging on;
// then no file in the data folder (database, -wal, -shm, backup) and no
// log line holds any secret or token that was printed.
func TestNoPlaintextSecretOnDisk(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	db := filepath.Join(data, "keydeck.db")
	r := &runner{t: t, bin: keydeckBinary(t), env: []string{
		"KEYDECK_DB=" + db,
		"KEYDECK_LOG_LEVEL=debug",
		"XDG_DATA_HOME=" + filepath.Join(dir, "xdg"),
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
		"GORACE=" + childGORACE(),
	}}

	var secrets []string
	out := r.must("", "keys", "create", "--name", "First-Key", "--perm", "read,write", "--query", "10", "--mutation", "10")
	first, firstID := r.secretIn(out), clientIDRe.FindString(out)
	secrets = append(secrets, first)

	// Hold a read transaction open from here on, so the write-ahead log
	// keeps every page written after this point and the -wal and -shm
	// files stay on disk for the scan.
	holder, err := sql.Open("sqlite3", "file:"+db+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"Second-Key", "Third-Key"} {
		out := r.must("", "keys", "create", "--name", name, "--perm", "read", "--query", "5", "--mutation", "0", "--json")
		secrets = append(secrets, r.secretIn(out))
	}
	// Use the secrets (allowed, then a wrong one) so verification paths
	// and their logs run too.
	r.must(first+"\n", "verify", "--client-id", firstID, "--op", "read", "--secret", "-")
	if _, code := r.run(secrets[1]+"\n", "verify", "--client-id", firstID, "--op", "read", "--secret", "-"); code != 3 {
		t.Fatalf("verify with another key's secret: exit status %d, want 3", code)
	}
	out = r.must("", "keys", "regenerate", "First-Key", "--yes")
	secrets = append(secrets, r.secretIn(out))
	if _, code := r.run(first+"\n", "verify", "--client-id", firstID, "--op", "read", "--secret", "-"); code != 3 {
		t.Fatalf("verify with the old secret: exit status %d, want 3", code)
	}
	out = r.must("", "account", "create", "acme")
	secrets = append(secrets, r.secretIn(out))
	out = r.must("", "account", "token", "acme", "--rotate", "--yes")
	secrets = append(secrets, r.secretIn(out))
	r.must("", "keys", "revoke", "Third-Key", "--yes")
	backup := filepath.Join(data, "backup.db")
	r.must("", "backup", backup)

	if len(secrets) != 6 {
		t.Fatalf("collected %d secrets, want 6", len(secrets))
	}
	if r.logs.Len() == 0 {
		t.Fatal("debug logging wrote nothing; the log check would be empty")
	}

	scan := func(when string, want ...string) {
		t.Helper()
		seen := map[string]bool{}
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			seen[rel] = true
			checkNoSecret(t, when+": "+rel, b, secrets)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !seen[w] {
				t.Errorf("%s: %s was not there to be scanned (have %v)", when, w, seen)
			}
		}
	}
	scan("while a reader holds the WAL", "data/keydeck.db", "data/keydeck.db-wal", "data/keydeck.db-shm", "data/backup.db")
	checkNoSecret(t, "the commands' logs", r.logs.Bytes(), secrets)

	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	r.must("", "keys", "list")
	scan("after the last checkpoint", "data/keydeck.db", "data/backup.db")

	// The files are private to their owner.
	for path, want := range map[string]fs.FileMode{data: 0o700, db: 0o600, backup: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", filepath.Base(path), got, want)
		}
	}
}

// checkNoSecret fails if b holds any of the secrets, whole or without its
// prefix, without ever printing one.
func checkNoSecret(t *testing.T, what string, b []byte, secrets []string) {
	t.Helper()
	for i, s := range secrets {
		if bytes.Contains(b, []byte(s)) || bytes.Contains(b, []byte(s[4:])) {
			t.Errorf("%s holds secret #%d in plain text", what, i+1)
		}
	}
}

// TestReadOnlyDatabase: a database the user cannot write is refused with
// one line and exit status 1, and stays as it was. As root, permissions do
// not bind, so keydeck runs as the unprivileged user nobody.
func TestReadOnlyDatabase(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	db := filepath.Join(data, "keydeck.db")
	bin := keydeckBinary(t)
	asRoot := os.Geteuid() == 0
	if asRoot {
		// nobody must be able to reach the folder and run the binary.
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		copyBin := filepath.Join(dir, "keydeck")
		copyFile(t, bin, copyBin, 0o755)
		bin = copyBin
	}
	r := &runner{t: t, bin: bin, env: []string{
		"KEYDECK_DB=" + db,
		"XDG_DATA_HOME=" + filepath.Join(dir, "xdg"),
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
		"GORACE=" + childGORACE(),
	}}
	r.must("", "keys", "create", "--name", "Kept-Key", "--perm", "read", "--query", "5", "--mutation", "0")
	before := r.must("", "keys", "list", "--all", "--json")
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}

	if asRoot {
		const nobody = 65534
		for _, p := range []string{data, db} {
			if err := os.Chown(p, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
		r.cred = &syscall.Credential{Uid: nobody, Gid: nobody}
	}
	if err := os.Chmod(db, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(data, 0o755) })

	for _, args := range [][]string{
		{"keys", "create", "--name", "New-Key", "--perm", "read", "--query", "1", "--mutation", "0"},
		{"keys", "revoke", "Kept-Key", "--yes"},
		{"account", "set", "default", "--credits", "5"},
	} {
		r.logs.Reset()
		out, code := r.run("", args...)
		msg := r.logs.String()
		if code != 1 || out != "" {
			t.Errorf("keydeck %s %s on a read-only database: exit status %d, stdout %q, stderr %q; want 1, nothing, one line",
				args[0], args[1], code, out, msg)
			continue
		}
		if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "keydeck: ") ||
			!(strings.Contains(msg, "read-only") || strings.Contains(msg, "writable")) {
			t.Errorf("keydeck %s %s on a read-only database: stderr %q, want one line saying it is read-only", args[0], args[1], msg)
		}
	}

	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, after) {
		t.Error("the read-only database file changed")
	}
	// Writable again, it holds what it held.
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := r.must("", "keys", "list", "--all", "--json"); got != before {
		t.Errorf("keys after the refused writes:\n%s\nwant:\n%s", got, before)
	}
}

func copyFile(t *testing.T, from, to string, mode fs.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
