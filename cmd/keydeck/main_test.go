package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/keydeck/keydeck/storage/postgres/pgtest"
)

// The end-to-end tests run the real keydeck command: testscript.Main makes
// this test binary answer to the name "keydeck" on $PATH, with main's own
// run function.

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"keydeck": func() {
			os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
		},
		"holdlock": holdLockMain,
	})
}

// passEnv are the variables a command started by a script command (capture,
// snapshot) inherits from the script, besides the ones testscript sets up.
var passEnv = []string{"KEYDECK_DB", "KEYDECK_REMOTE", "KEYDECK_TOKEN", "KEYDECK_SECRET", "KEYDECK_LOG_LEVEL", "XDG_DATA_HOME", "TZ", "USER"}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("KEYDECK_DB", filepath.Join(env.WorkDir, "data", "keydeck.db"))
			env.Setenv("XDG_DATA_HOME", filepath.Join(env.WorkDir, "xdg"))
			env.Setenv("USER", "tester")
			env.Setenv("GORACE", childGORACE())
			var names []string
			for _, kv := range env.Vars {
				if k, _, ok := strings.Cut(kv, "="); ok {
					names = append(names, k)
				}
			}
			env.Values[envNamesKey{}] = names
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "postgres":
				return havePostgres()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"capture":    cmdCapture,
			"exits":      cmdExits,
			"snapshot":   cmdSnapshot,
			"unchanged":  cmdUnchanged,
			"writeenv":   cmdWriteEnv,
			"waitfile":   cmdWaitFile,
			"json-shape": cmdJSONShape,
			"freeport":   cmdFreePort,
			"waithttp":   cmdWaitHTTP,
			"pgschema":   cmdPgSchema,
		},
	})
}

type envNamesKey struct{}

// childGORACE keeps the caller's GORACE options and shortens the race
// runtime's one-second sleep at exit, which under -race would otherwise
// dominate every keydeck run a test starts.
func childGORACE() string {
	return strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=50")
}

// keydeckCmd prepares the real keydeck binary with the script's
// environment, for script commands that must not log what it prints.
func keydeckCmd(ts *testscript.TestScript, args ...string) *exec.Cmd {
	bin, err := exec.LookPath("keydeck")
	ts.Check(err)
	c := exec.Command(bin, args...)
	c.Dir = ts.MkAbs(".")
	names, _ := ts.Value(envNamesKey{}).([]string)
	for _, n := range slices.Concat(names, passEnv) {
		if v := ts.Getenv(n); v != "" {
			c.Env = append(c.Env, n+"="+v)
		}
	}
	return c
}

var (
	clientIDRe = regexp.MustCompile(`kdc_[0-9A-Za-z]{22}`)
	secretRe   = regexp.MustCompile(`kd[st]_[0-9A-Za-z]{49}`)
)

// capture NAME args... runs `keydeck args...`, sets $NAME_ID to the first
// Client ID and $NAME_SECRET to the secret or token it printed, and passes
// on stdout and stderr with the secret replaced by <secret>, so no secret
// reaches the test log.
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: capture NAME keydeck-args...")
	}
	var stdout, stderr bytes.Buffer
	c := keydeckCmd(ts, args[1:]...)
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	out := stdout.String()
	if id := clientIDRe.FindString(out); id != "" {
		ts.Setenv(args[0]+"_ID", id)
	}
	secret := secretRe.FindString(out)
	if secret != "" {
		ts.Setenv(args[0]+"_SECRET", secret)
	}
	fmt.Fprint(ts.Stdout(), secretRe.ReplaceAllString(out, "<secret>"))
	fmt.Fprint(ts.Stderr(), secretRe.ReplaceAllString(stderr.String(), "<secret>"))
	switch {
	case neg && err == nil:
		ts.Fatalf("unexpected success")
	case !neg && err != nil:
		ts.Fatalf("keydeck %s: %v", args[1], err)
	case !neg && secret == "":
		ts.Fatalf("keydeck %s printed no secret or token", args[1])
	}
}

// exits N [-stdin FILE] args... runs `keydeck args...` and checks that it
// exits with status N; its output is kept for stdout/stderr checks (with
// any secret replaced by <secret>).
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N [-stdin FILE] keydeck-args...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	args = args[1:]
	var stdin string
	if args[0] == "-stdin" && len(args) > 2 {
		stdin = ts.ReadFile(args[1])
		args = args[2:]
	}
	var stdout, stderr bytes.Buffer
	c := keydeckCmd(ts, args...)
	c.Stdin = strings.NewReader(stdin)
	c.Stdout, c.Stderr = &stdout, &stderr
	err = c.Run()
	fmt.Fprint(ts.Stdout(), secretRe.ReplaceAllString(stdout.String(), "<secret>"))
	fmt.Fprint(ts.Stderr(), secretRe.ReplaceAllString(stderr.String(), "<secret>"))
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else {
		ts.Check(err)
	}
	if got != want {
		ts.Fatalf("keydeck exited with status %d, want %d", got, want)
	}
}

// unchanged FILE checks that a snapshot of the database now equals the one
// in FILE.
func cmdUnchanged(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: unchanged SNAPSHOT")
	}
	now := args[0] + ".now"
	cmdSnapshot(ts, false, []string{now})
	if a, b := ts.ReadFile(args[0]), ts.ReadFile(now); a != b {
		ts.Fatalf("the data changed:\n--- before\n%s\n--- now\n%s", a, b)
	}
}

// snapshot FILE writes every row of every table of $KEYDECK_DB to FILE,
// sorted, so a script can check that a failed command changed nothing (keys,
// accounts, usage, audit log, SSH keys, tokens' digests: everything).
func cmdSnapshot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: snapshot FILE")
	}
	dump, err := dumpDB(ts.Getenv("KEYDECK_DB"))
	if err != nil {
		ts.Fatalf("snapshot: %v", err)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(dump), 0o600))
}

// dumpDB reads every table of the database at path as text.
func dumpDB(path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_query_only=1&_busy_timeout=5000")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var tables []string
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		return "", err
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return "", err
		}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	var out strings.Builder
	for _, t := range tables {
		rows, err := db.Query(`SELECT * FROM "` + strings.ReplaceAll(t, `"`, `""`) + `"`)
		if err != nil {
			return "", err
		}
		cols, err := rows.Columns()
		if err != nil {
			return "", err
		}
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return "", err
			}
			cells := make([]string, len(vals))
			for i, v := range vals {
				switch x := v.(type) {
				case []byte:
					cells[i] = fmt.Sprintf("x'%x'", x)
				case string:
					cells[i] = strconv.Quote(x)
				default:
					cells[i] = fmt.Sprint(x)
				}
			}
			lines = append(lines, strings.Join(cells, " | "))
		}
		if err := rows.Err(); err != nil {
			return "", err
		}
		sort.Strings(lines)
		fmt.Fprintf(&out, "== %s %v (%d rows)\n%s\n", t, cols, len(lines), strings.Join(lines, "\n"))
	}
	return out.String(), nil
}

// writeenv [-crlf] VAR FILE writes $VAR and a newline to FILE without
// logging it (to feed a secret on stdin); -crlf pads it with spaces and
// ends it with CR LF, as pasted from another system.
func cmdWriteEnv(ts *testscript.TestScript, neg bool, args []string) {
	pre, post := "", "\n"
	if len(args) == 3 && args[0] == "-crlf" {
		pre, post = "  ", "  \r\n"
		args = args[1:]
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: writeenv [-crlf] VAR FILE")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(pre+ts.Getenv(args[0])+post), 0o600))
}

// waitfile FILE waits up to 20s for FILE to exist.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear within 20s", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// json-shape FILE prints the shape of the JSON document in FILE (or
// stdout): one line per field, "path type", objects' fields sorted and
// arrays described by their first element.
func cmdJSONShape(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: json-shape FILE")
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile(args[0])))
	dec.UseNumber()
	ts.Check(dec.Decode(&v))
	var lines []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			lines = append(lines, path+" object")
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(path+"."+k, x[k])
			}
		case []any:
			lines = append(lines, path+" array")
			if len(x) > 0 {
				walk(path+"[]", x[0])
			}
		case string:
			lines = append(lines, path+" string")
		case json.Number:
			lines = append(lines, path+" number")
		case bool:
			lines = append(lines, path+" bool")
		case nil:
			lines = append(lines, path+" null")
		}
	}
	walk("", v)
	fmt.Fprintln(ts.Stdout(), strings.Join(lines, "\n"))
}

// freeport VAR sets $VAR to a TCP port on 127.0.0.1 that was free a moment
// ago.
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport VAR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Setenv(args[0], strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	ts.Check(ln.Close())
}

// waithttp URL waits up to 20s for URL to answer 200.
func cmdWaitHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waithttp URL")
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(args[0])
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not answer 200 within 20s (last error: %v)", args[0], err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// havePostgres is the [postgres] condition: a PostgreSQL server for the
// tests (pgtest.Env). Under CI=true its absence fails the script instead
// of skipping it, as pgtest does for Go tests.
func havePostgres() (bool, error) {
	if os.Getenv(pgtest.Env) != "" {
		return true, nil
	}
	if os.Getenv("CI") == "true" {
		return false, fmt.Errorf("%s is not set: CI must run the PostgreSQL scripts (.ci/pg-cluster run -- …)", pgtest.Env)
	}
	return false, nil
}

// pgschema URLVAR PASSVAR creates a fresh PostgreSQL schema for the script
// (dropped when it ends) and sets $URLVAR to its URL, with a password
// parameter whose value is in $PASSVAR (the test server trusts any
// password), so a script can check that it never appears.
func cmdPgSchema(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: pgschema URLVAR PASSVAR")
	}
	base := os.Getenv(pgtest.Env)
	if base == "" {
		ts.Fatalf("%s is not set: guard the script with [!postgres] skip", pgtest.Env)
	}
	dbURL, drop, err := pgtest.Create(base, "script "+ts.MkAbs("."))
	if err != nil {
		ts.Fatalf("pgschema: %v", err)
	}
	ts.Defer(func() {
		if err := drop(); err != nil {
			ts.Logf("pgschema: %v", err)
		}
	})
	u, err := url.Parse(dbURL)
	ts.Check(err)
	pass := "pgPW-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	q := u.Query()
	q.Set("password", pass)
	u.RawQuery = q.Encode()
	ts.Setenv(args[0], u.String())
	ts.Setenv(args[1], pass)
}

// holdlock DB READY holds a write lock on the database until killed (at
// most a minute), creating READY once it has it.
func holdLockMain() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: holdlock DB READY")
		os.Exit(2)
	}
	db, err := sql.Open("sqlite3", "file:"+os.Args[1]+"?_busy_timeout=5000")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("BEGIN IMMEDIATE"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[2], nil, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	time.Sleep(time.Minute)
}
