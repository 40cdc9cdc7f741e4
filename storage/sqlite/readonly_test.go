package sqlite_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

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
	// The test binary lives in a folder only root can enter: copy it out.
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
