package model

import (
	"crypto/sha256"
	"hash/crc32"
	"strings"
	"testing"
)

// The table loop is the CRC32 of hash/crc32.
func TestChecksumIsCRC32(t *testing.T) {
	for _, body := range []string{"", "kds_", NewSecret()[:SecretLen-checksumChars], strings.Repeat("z", 300)} {
		c := uint64(crc32.ChecksumIEEE([]byte(body)))
		want := make([]byte, checksumChars)
		for i := checksumChars - 1; i >= 0; i-- {
			want[i] = base62[c%62]
			c /= 62
		}
		if got := checksum(body); got != string(want) {
			t.Fatalf("checksum(%q) = %s, want %s", body, got, want)
		}
	}
}

func TestDigestOfIsSHA256(t *testing.T) {
	for _, s := range []string{"", NewSecret(), strings.Repeat("x", 4*SecretLen)} {
		if DigestOf(s) != sha256.Sum256([]byte(s)) {
			t.Fatalf("DigestOf(%d bytes) differs from SHA-256", len(s))
		}
	}
}
