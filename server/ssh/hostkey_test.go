package ssh

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func TestHostKeyGeneratedOnceAndReused(t *testing.T) {
	dir := t.TempDir()
	path := HostKeyPath(filepath.Join(dir, "keydeck.db"))
	if filepath.Dir(path) != dir || filepath.Base(path) != HostKeyFile {
		t.Fatalf("HostKeyPath = %s, want %s beside the database", path, HostKeyFile)
	}
	first, created, err := LoadHostKey(path)
	if err != nil || !created {
		t.Fatalf("first load: created %v, err %v", created, err)
	}
	if first.PublicKey().Type() != gossh.KeyAlgoED25519 {
		t.Errorf("host key type %s, want ed25519", first.PublicKey().Type())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %04o, want 0600", fi.Mode().Perm())
	}
	again, created, err := LoadHostKey(path)
	if err != nil || created {
		t.Fatalf("second load: created %v, err %v", created, err)
	}
	if gossh.FingerprintSHA256(again.PublicKey()) != gossh.FingerprintSHA256(first.PublicKey()) {
		t.Error("the host key changed between starts")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// Two servers starting at once on one data folder end up with one key.
func TestHostKeyConcurrentStarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), HostKeyFile)
	fps := make([]string, 8)
	var wg sync.WaitGroup
	for i := range fps {
		wg.Go(func() {
			s, _, err := LoadHostKey(path)
			if err != nil {
				t.Error(err)
				return
			}
			fps[i] = gossh.FingerprintSHA256(s.PublicKey())
		})
	}
	wg.Wait()
	for _, fp := range fps[1:] {
		if fp != fps[0] {
			t.Fatalf("different host keys: %v", fps)
		}
	}
}

func TestHostKeyRefusals(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open_key")
	if _, _, err := LoadHostKey(open); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadHostKey(open); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable key: err = %v, want a refusal that says chmod 600", err)
	}

	junk := filepath.Join(dir, "junk_key")
	if err := os.WriteFile(junk, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadHostKey(junk); err == nil || !strings.Contains(err.Error(), "not a private key") {
		t.Errorf("a file that is not a key: err = %v", err)
	}

	if _, _, err := LoadHostKey(filepath.Join(junk, "below-a-file")); err == nil {
		t.Error("a path below a regular file was accepted")
	}
}
