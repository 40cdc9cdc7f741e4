// Package servertest holds what the tests of server and server/ssh share:
// a buffer safe for concurrent writers, and the keydeck binary, built once
// per test process.
package servertest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer safe for a log handler's or a child
// process's writes while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// builtBinary is the binary's path once built; RemoveBinary removes its
// folder.
var builtBinary atomic.Value

var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "keydeck-servertest-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "keydeck")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/keydeck/keydeck/cmd/keydeck").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// Binary is the path of the keydeck binary, built on first use.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	builtBinary.Store(bin)
	return bin
}

// RemoveBinary removes what Binary built; TestMain calls it after m.Run.
func RemoveBinary() {
	if bin, ok := builtBinary.Load().(string); ok {
		os.RemoveAll(filepath.Dir(bin))
	}
}

// WaitFor polls cond every 10ms until it holds, and fails the test with
// what when it has not within d.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
