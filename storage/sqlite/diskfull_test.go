package sqlite_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/sqlite"
)

// tinyDisk mounts a tmpfs of size bytes and returns its folder, or skips
// the test when mounting is not permitted (not root, no mount(8), a
// container without the capability).
func tinyDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root; the injected-error tests cover the mapping")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s); the injected-error tests cover the mapping", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file until the disk is full and returns its name.
func fill(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return name
		}
	}
}

// syncBuffer is a log destination the writer and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDiskFull fills the disk under a running store: verifications and
// writes fail with "the disk is full (PATH)", none is answered allowed
// without being committed, the log says so at most once a second, and
// once space returns the store works again by itself with exact quotas.
func TestDiskFull(t *testing.T) {
	dir := tinyDisk(t, "1m")
	path := filepath.Join(dir, "k.db")
	var logs syncBuffer
	db, err := sqlite.Open(ctx, path, sqlite.Options{FlushInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _ := db.Store("default", "test")
	const alloc = 10_000
	k, secret, err := st.CreateKey(ctx, model.KeySpec{Name: "k", Permissions: model.PermAll, QueryAlloc: alloc})
	if err != nil {
		t.Fatal(err)
	}
	filler := fill(t, dir)

	allowed, failed, createFailed := 0, 0, 0
	var lastErr error
	began := time.Now()
	for time.Since(began) < 3*time.Second {
		r, err := db.Verify(ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead})
		switch {
		case err != nil:
			failed++
			lastErr = err
		case r.Verdict == model.Allowed:
			allowed++
		default:
			t.Fatalf("verdict %v", r.Verdict)
		}
		// Writes that need new pages, to be sure the disk runs out.
		_, _, err = st.CreateKey(ctx, model.KeySpec{Name: fmt.Sprintf("%s-%d", strings.Repeat("x", 50), failed+allowed), Permissions: model.PermRead})
		switch {
		case errors.Is(err, storage.ErrDiskFull):
			createFailed++
		case err != nil && !errors.Is(err, model.ErrDuplicateName):
			t.Fatalf("create on a full disk: %v", err)
		}
	}
	t.Logf("disk full: %d verifications allowed, %d failed: %v", allowed, failed, lastErr)
	if failed == 0 {
		t.Fatal("no verification failed on a full disk")
	}
	if !errors.Is(lastErr, storage.ErrDiskFull) || lastErr.Error() != "the disk is full ("+path+")" {
		t.Fatalf("on a full disk: %v, want \"the disk is full (%s)\"", lastErr, path)
	}
	// Some writes can still go through, in WAL space a checkpoint freed.
	if createFailed == 0 {
		t.Fatal("no write failed on a full disk")
	}
	// At most a line a second each from the writer and the checkpointer.
	lines := strings.Split(logs.String(), "\n")
	for _, what := range []string{"write transaction failed", "checkpoint failed"} {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, what) && strings.Contains(l, "disk is full") {
				n++
			}
		}
		if n > 4 || (n == 0 && what == "write transaction failed") {
			t.Errorf("%d lines %q about the full disk in 3 seconds:\n%s", n, what, logs.String())
		}
	}

	// Space returns: the next verification works, with nothing lost.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r, err := db.Verify(ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead})
	if err != nil || r.Verdict != model.Allowed {
		t.Fatalf("after space returned: %v %v", r.Verdict, err)
	}
	allowed++
	if r.Remaining != alloc-int64(allowed) {
		t.Errorf("remaining %d after %d allowed, want %d", r.Remaining, allowed, alloc-int64(allowed))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _ = db.Store("default", "test")
	if got, err := st.GetKey(ctx, k.ClientID); err != nil || got.QueryUsed != int64(allowed) {
		t.Fatalf("reopened: used %d (%v), want the %d allowed", got.QueryUsed, err, allowed)
	}
}
