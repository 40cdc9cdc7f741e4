package sqlite_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/sqlite"
)

// TestReadOnlyDatabase opens a database whose file and folder cannot be
// written. Root ignores file modes, so as root the test runs itself again
// as the unprivileged user nobody.
func TestReadOnlyDatabase(t *testing.T) {
	if p := os.Getenv("KEYDECK_RO_PATH"); p != "" {
		_, err := sqlite.Open(ctx, p, sqlite.Options{})
		if !errors.Is(err, storage.ErrReadOnly) && (err == nil || !strings.Contains(err.Error(), "cannot open")) {
			t.Fatalf("read-only database: %v", err)
		}
		os.Stdout.WriteString("RO-ERROR " + err.Error() + "\n")
		return
	}
	dir, err := os.MkdirTemp("", "keydeck-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700); os.RemoveAll(dir) })
	path := filepath.Join(dir, "k.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	os.Chmod(path, 0o444)
	os.Chmod(dir, 0o555)
	exe := testBinaryCopy(t)
	cmd := exec.Command(exe, "-test.run=^TestReadOnlyDatabase$", "-test.count=1")
	cmd.Env = append(os.Environ(), "KEYDECK_RO_PATH="+path)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "RO-ERROR") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("%s", strings.SplitN(strings.SplitN(string(out), "RO-ERROR ", 2)[1], "\n", 2)[0])
}

// TestReadOnlySideFiles: a database opened while its file was read-only
// leaves a read-only -shm beside it; fixing the database's mode must be
// enough to write again, and a -wal or -shm that keydeck cannot fix is
// named in the message. Runs as nobody (root ignores modes).
func TestReadOnlySideFiles(t *testing.T) {
	if dir := os.Getenv("KEYDECK_RO_SIDE_DIR"); dir != "" {
		readOnlySideFiles(t, dir)
		return
	}
	dir, err := os.MkdirTemp("", "keydeck-ro-side-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	// A -shm the child (nobody) can neither write nor chmod: root's.
	if err := os.WriteFile(filepath.Join(dir, "other.db-shm"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	exe := testBinaryCopy(t)
	cmd := exec.Command(exe, "-test.run=^TestReadOnlySideFiles$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "KEYDECK_RO_SIDE_DIR="+dir)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	} else {
		t.Log("not root: the root-owned -shm case runs as this user and proves less")
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func readOnlySideFiles(t *testing.T, dir string) {
	path := filepath.Join(dir, "k.db")
	create := func(db *sqlite.DB) error {
		st, _ := db.Store("default", "test")
		_, _, err := st.CreateKey(ctx, model.KeySpec{Name: model.NewClientID()[4:20], Permissions: model.PermRead})
		return err
	}
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := create(db); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// The database read-only: refused, naming the database.
	os.Chmod(path, 0o444)
	if db, err = sqlite.Open(ctx, path, sqlite.Options{}); err == nil {
		err = create(db)
		db.Close()
	}
	if !errors.Is(err, storage.ErrReadOnly) || !strings.Contains(err.Error(), path+" cannot be written") {
		t.Fatalf("read-only database: %v", err)
	}
	t.Logf("read-only database: %v", err)
	if fi, err := os.Stat(path + "-shm"); err == nil {
		t.Logf("left behind: k.db-shm, mode %v", fi.Mode().Perm())
	}
	// Its mode fixed, it is writable again, whatever it left behind.
	os.Chmod(path, 0o600)
	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("after fixing the database's mode: %v", err)
	}
	if err := create(db); err != nil {
		t.Fatalf("after fixing the database's mode: %v", err)
	}
	db.Close()
	// A -shm this user cannot fix is named.
	other := filepath.Join(dir, "other.db")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err = sqlite.Open(ctx, other, sqlite.Options{}); err == nil {
		err = create(db)
		db.Close()
	}
	if !errors.Is(err, storage.ErrReadOnly) || !strings.Contains(err.Error(), other+"-shm cannot be written") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("a -shm that cannot be written: %v", err)
	}
	t.Logf("unwritable -shm: %v", err)
}

// testBinaryCopy copies the test binary to a folder anyone can enter (it
// lives in one only root can), for a child run as another user.
func testBinaryCopy(t *testing.T) string {
	t.Helper()
	bin, err := os.MkdirTemp("", "keydeck-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bin) })
	os.Chmod(bin, 0o755)
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(bin, "sqlite.test")
	if err := os.WriteFile(exe, self, 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}
