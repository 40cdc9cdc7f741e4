package model

// RedactRun is the shortest run of base62 characters RedactSecrets hides
// without a prefix: longer than a Client ID's 22 (public, and useful in
// logs), and under half a secret's 49, so what is left of a cut secret
// still has over 128 unknown bits.
const RedactRun = 24

// RedactSecrets hides anything shaped like a keydeck secret or token in
// text that echoes outside input (a secret pasted where a key ID goes, a
// path, a method):
//
//   - a prefix kds or kdt in any case, then _ or -, and the base62 run
//     after it: "kds…[redacted]";
//   - any run of RedactRun or more base62 characters, prefix or not:
//     "…[redacted]".
//
// Percent-encoded characters (%41, %5F) count as what they encode, so an
// escaped secret in a path is hidden too. Client IDs (kdc_ and 22
// characters) are kept. Text with nothing to hide is returned as it is.
func RedactSecrets(s string) string {
	var b []byte // nil until something is hidden
	done := 0    // s[:done] is in b
	for i := 0; i < len(s); {
		// The run of base62 units at i, remembering its last three.
		j, n := i, 0
		var last [3]byte
		var lastAt [3]int
		for {
			c, w := unitAt(s, j)
			if w == 0 || !isBase62Byte(c) {
				break
			}
			last[0], last[1], last[2] = last[1], last[2], c|0x20
			lastAt[0], lastAt[1], lastAt[2] = lastAt[1], lastAt[2], j
			j += w
			n++
		}
		if n == 0 {
			_, w := unitAt(s, i)
			i += w
			continue
		}
		from, to, keep := -1, j, ""
		if n >= RedactRun {
			from = i
		}
		if c, w := unitAt(s, j); w > 0 && (c == '_' || c == '-') && n >= 3 &&
			last[0] == 'k' && last[1] == 'd' && (last[2] == 's' || last[2] == 't') {
			if from < 0 {
				from, keep = lastAt[0], "kd"+string(last[2])
			}
			to = j + w
			for {
				c, w := unitAt(s, to)
				if w == 0 || !isBase62Byte(c) {
					break
				}
				to += w
			}
		}
		if from >= 0 {
			b = append(b, s[done:from]...)
			b = append(b, keep...)
			b = append(b, "…[redacted]"...)
			done = to
		}
		i = to
	}
	if b == nil {
		return s
	}
	return string(append(b, s[done:]...))
}

// unitAt is the character at s[i] and its width: 1, or 3 for a %XX
// escape (whatever it encodes); 0 at the end.
func unitAt(s string, i int) (byte, int) {
	if i >= len(s) {
		return 0, 0
	}
	if s[i] == '%' && i+2 < len(s) {
		if hi, lo := unhex(s[i+1]), unhex(s[i+2]); hi >= 0 && lo >= 0 {
			return byte(hi<<4 | lo), 3
		}
	}
	return s[i], 1
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

func isBase62Byte(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}
