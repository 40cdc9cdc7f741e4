package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
)

// libpq's conventions hold: a Unix socket folder as the host, PGPASSWORD
// and PGPASSFILE for a role that must give a password. .ci/pg-cluster
// sets up both (KEYDECK_TEST_POSTGRES_SOCKET, KEYDECK_TEST_POSTGRES_PWROLE);
// against another server these tests skip.

func TestOpenThroughUnixSocket(t *testing.T) {
	base := os.Getenv("KEYDECK_TEST_POSTGRES_SOCKET")
	if base == "" {
		t.Skip("KEYDECK_TEST_POSTGRES_SOCKET is not set (.ci/pg-cluster sets it)")
	}
	schema := pgtest.SchemaName(t.Name())
	pgtest.Schema(t, t.Name()) // created (and dropped) over TCP
	u := pgtest.WithSchema(t, base, schema)
	ctx := context.Background()
	db, err := postgres.Open(ctx, u, postgres.Options{})
	if err != nil {
		t.Fatalf("open through the socket: %v", err)
	}
	defer db.Close()
	if !strings.HasPrefix(db.Addr(), "/") {
		t.Errorf("Addr %q does not name the socket folder", db.Addr())
	}
	st, err := db.Store(model.DefaultAccount, "test")
	if err != nil {
		t.Fatal(err)
	}
	k, secret, err := st.CreateKey(ctx, model.KeySpec{Name: "sock", Permissions: model.PermRead, QueryAlloc: 1})
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Verify(ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead})
	if err != nil || r.Verdict != model.Allowed {
		t.Fatalf("verify through the socket: %v %v", r.Verdict, err)
	}
}

func TestPasswordFromEnvironmentAndPassfile(t *testing.T) {
	role := os.Getenv("KEYDECK_TEST_POSTGRES_PWROLE")
	user, password, ok := strings.Cut(role, ":")
	if !ok {
		t.Skip("KEYDECK_TEST_POSTGRES_PWROLE is not set (.ci/pg-cluster sets it)")
	}
	admin := pgtest.Base(t)
	schema := pgtest.SchemaName(t.Name())
	pgtest.Schema(t, t.Name())
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `GRANT ALL ON SCHEMA `+schema+` TO `+user); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	au, _ := url.Parse(admin)
	u := pgtest.WithSchema(t, "postgres://"+user+"@"+au.Host+au.Path+"?sslmode=disable", schema)
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))

	t.Setenv("PGPASSWORD", "not-"+password)
	_, err = postgres.Open(ctx, u, postgres.Options{})
	// The server's refusal, as a DatabaseDownError (503 while serving;
	// cmd/keydeck words it "refused the connection" at start).
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("a wrong PGPASSWORD: %v; want the server's refusal", err)
	}
	if strings.Contains(err.Error(), password) {
		t.Fatal("the error quotes the password")
	}

	t.Setenv("PGPASSWORD", password)
	db, err := postgres.Open(ctx, u, postgres.Options{})
	if err != nil {
		t.Fatalf("PGPASSWORD: %v", err)
	}
	db.Close()

	os.Unsetenv("PGPASSWORD")
	pass := filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(pass, []byte(au.Host+":"+strings.TrimPrefix(au.Path, "/")+":"+user+":"+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGPASSFILE", pass)
	db, err = postgres.Open(ctx, u, postgres.Options{})
	if err != nil {
		t.Fatalf("PGPASSFILE: %v", err)
	}
	db.Close()
}

// sslmode is honoured: require against a server without TLS is refused
// in one line, naming the server, never the password.
func TestSSLModeRequire(t *testing.T) {
	base := pgtest.Base(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("postgres", "pw-in-url-42")
	q := u.Query()
	q.Set("sslmode", "require")
	u.RawQuery = q.Encode()
	_, err = postgres.Open(context.Background(), u.String(), postgres.Options{})
	if err == nil {
		t.Skip("this server speaks TLS: sslmode=require is satisfied")
	}
	msg := err.Error()
	if strings.Contains(msg, "pw-in-url-42") || strings.Contains(msg, "\n") || !strings.Contains(msg, u.Host) {
		t.Fatalf("sslmode=require against a server without TLS: %q", msg)
	}
	t.Log(msg)
}
