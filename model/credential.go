package model

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"hash/crc32"
	"strings"
)

// Credential prefixes, so scanners can recognise keydeck credentials.
const (
	ClientIDPrefix = "kdc_"
	SecretPrefix   = "kds_"
	TokenPrefix    = "kdt_"
)

const (
	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	// clientIDChars base62 characters carry 130 bits.
	clientIDChars = 22
	// secretChars base62 characters carry 256 bits.
	secretChars = 43
	// checksumChars base62 characters hold a CRC32.
	checksumChars = 6
	// SecretLen is the length of a secret or token, prefix included.
	SecretLen = 4 + secretChars + checksumChars
	// ClientIDLen is the length of a Client ID, prefix included.
	ClientIDLen = 4 + clientIDChars
)

// Digest is the SHA-256 of a secret or token; the only form stored.
type Digest [sha256.Size]byte

// DigestOf hashes a secret or token. A credential-sized input is copied to
// the stack (and wiped after), not to a heap buffer the GC frees later:
// verification is the hot path.
func DigestOf(secret string) Digest {
	var buf [2 * SecretLen]byte
	if len(secret) > len(buf) {
		return sha256.Sum256([]byte(secret))
	}
	n := copy(buf[:], secret)
	d := sha256.Sum256(buf[:n])
	clear(buf[:])
	return d
}

// Equal compares two digests in constant time.
func (d Digest) Equal(o Digest) bool { return subtle.ConstantTimeCompare(d[:], o[:]) == 1 }

// DummyDigest is compared against when a Client ID is unknown, so every 401
// path does the same work.
var DummyDigest = DigestOf(SecretPrefix + strings.Repeat("0", secretChars+checksumChars))

// randomBase62 returns n uniformly random base62 characters from crypto/rand.
func randomBase62(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			panic("keydeck: crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			// 248 = 4*62: reject the top bytes so every character is equally likely.
			if b < 248 && len(out) < n {
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out)
}

func checksum(body string) string {
	var b [checksumChars]byte
	return string(appendChecksum(b[:0], body))
}

// appendChecksum appends the base62 CRC32 (IEEE) of body.
func appendChecksum(dst []byte, body string) []byte {
	// crc32 takes a []byte, and a converted string would be one more
	// allocation per verification; the table loop is as quick for ~50 bytes.
	c32 := ^uint32(0)
	for i := 0; i < len(body); i++ {
		c32 = crc32.IEEETable[byte(c32)^body[i]] ^ (c32 >> 8)
	}
	c := uint64(^c32)
	var b [checksumChars]byte
	for i := checksumChars - 1; i >= 0; i-- {
		b[i] = base62[c%62]
		c /= 62
	}
	return append(dst, b[:]...)
}

// isBase62 reports whether every byte of s is a base62 character.
func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// NewClientID returns a fresh public Client ID, "kdc_" + 22 base62 characters.
func NewClientID() string { return ClientIDPrefix + randomBase62(clientIDChars) }

// NewSecret returns a fresh Client Secret: "kds_", 256 random bits in base62
// and a CRC32 checksum of the rest.
func NewSecret() string { return newWithChecksum(SecretPrefix) }

// NewToken returns a fresh account API token ("kdt_…", same scheme).
func NewToken() string { return newWithChecksum(TokenPrefix) }

func newWithChecksum(prefix string) string {
	body := prefix + randomBase62(secretChars)
	return body + checksum(body)
}

// CheckSecret reports whether s is shaped like a secret with this prefix and
// its checksum matches, without any database read.
func CheckSecret(prefix, s string) error {
	if len(s) != SecretLen || !strings.HasPrefix(s, prefix) {
		return ErrMalformedSecret
	}
	if !isBase62(s[len(prefix):]) {
		return ErrMalformedSecret
	}
	body := s[:len(s)-checksumChars]
	var sum [checksumChars]byte
	if string(appendChecksum(sum[:0], body)) != s[len(s)-checksumChars:] {
		return ErrMalformedSecret
	}
	return nil
}

// ValidClientID reports whether s is shaped like a Client ID.
func ValidClientID(s string) bool {
	if len(s) != ClientIDLen || !strings.HasPrefix(s, ClientIDPrefix) {
		return false
	}
	return isBase62(s[len(ClientIDPrefix):])
}

// Hint is the last four characters of a secret, safe to show in lists.
func Hint(secret string) string {
	if len(secret) < 4 {
		return ""
	}
	return secret[len(secret)-4:]
}
