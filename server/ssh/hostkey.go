package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
)

// HostKeyFile is the name of the SSH host key beside the database.
const HostKeyFile = "ssh_host_ed25519_key"

// HostKeyPath is where the SSH host key of the database at dbPath lives:
// next to it, in the data folder.
func HostKeyPath(dbPath string) string {
	return filepath.Join(filepath.Dir(dbPath), HostKeyFile)
}

// LoadHostKey reads the SSH host key at path, generating an Ed25519 key
// there (mode 0600, OpenSSH format) when there is none yet. created says
// whether it was generated now. A key file that others can read is refused,
// as sshd refuses one: the host key is what clients pin.
func LoadHostKey(path string) (signer gossh.Signer, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := generateHostKey(path); err != nil {
			return nil, false, err
		}
		created = true
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("SSH host key: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, false, fmt.Errorf("SSH host key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("SSH host key %s is readable by others (mode %04o); run: chmod 600 %s",
			path, fi.Mode().Perm(), path)
	}
	signer, err = gossh.ParsePrivateKey(data)
	if err != nil {
		var missing *gossh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, false, fmt.Errorf("SSH host key %s is protected by a passphrase; keydeck needs one without", path)
		}
		return nil, false, fmt.Errorf("SSH host key %s: not a private key keydeck can read (%v)", path, err)
	}
	return signer, created, nil
}

// generateHostKey writes a new Ed25519 key to path. It writes a temporary
// file and links it into place, so a crash never leaves half a key and two
// servers starting at once end up with the same one.
func generateHostKey(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("SSH host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "keydeck host key")
	if err != nil {
		return fmt.Errorf("SSH host key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("SSH host key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("SSH host key: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600; say so anyway, whatever the umask.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("SSH host key: %w", err)
	}
	if err := pem.Encode(tmp, block); err != nil {
		tmp.Close()
		return fmt.Errorf("SSH host key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("SSH host key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("SSH host key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("SSH host key: %w", err)
	}
	return nil
}
