package model

import (
	"strings"

	"golang.org/x/crypto/ssh"
)

// ParseAuthorizedKey reads one public key in authorized_keys form
// ("ssh-ed25519 AAAA… comment") and fingerprints it.
func ParseAuthorizedKey(line []byte) (SSHKey, error) {
	pk, comment, _, _, err := ssh.ParseAuthorizedKey(line)
	if err != nil {
		return SSHKey{}, &ValidationError{Field: "public key", Msg: "not an SSH public key (expected a line such as \"ssh-ed25519 AAAA… you@host\")"}
	}
	return SSHKey{
		Fingerprint: ssh.FingerprintSHA256(pk),
		PublicKey:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))),
		Comment:     Sanitize(strings.TrimSpace(comment), 100),
	}, nil
}
