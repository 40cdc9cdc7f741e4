package server

import (
	"github.com/keydeck/keydeck/api"
)

// decodeVerifyFast decodes the common form of a verification body, a flat
// object of plain ASCII strings and an integer, without reflection: this
// is the hot path, and encoding/json is the largest part of its CPU. It
// reports false for anything else (escapes, non-ASCII, null, other or
// repeated members, names in another case, floats, overflow, syntax
// errors), and the caller then decodes with decodeStrict, which accepts
// or explains it: a repeated member or a name in another case is refused
// there, so the two paths agree on those too. Whatever it accepts,
// decodeStrict decodes to the same value (FuzzDecodeVerifyFast holds it
// to that).
func decodeVerifyFast(b []byte, dst *api.VerifyRequest) bool {
	var v api.VerifyRequest
	var seen uint8
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			key, j, ok := plainString(b, i)
			if !ok {
				return false
			}
			i = skipWS(b, j)
			if i >= len(b) || b[i] != ':' {
				return false
			}
			i = skipWS(b, i+1)
			var bit uint8
			var str *string
			switch string(key) {
			case "client_id":
				bit, str = 1, &v.ClientID
			case "client_secret":
				bit, str = 2, &v.ClientSecret
			case "operation":
				bit, str = 4, &v.Operation
			case "credits":
				bit = 8
			default:
				return false
			}
			if seen&bit != 0 {
				return false
			}
			seen |= bit
			if str != nil {
				val, j, ok := plainString(b, i)
				if !ok {
					return false
				}
				*str = internOperation(bit, val)
				i = j
			} else {
				n, j, ok := plainInt(b, i)
				if !ok {
					return false
				}
				v.Credits = n
				i = j
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return false
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return false
			}
			i = skipWS(b, i+1)
		}
	}
	if skipWS(b, i) != len(b) {
		return false
	}
	*dst = v
	return true
}

// internOperation returns the usual operation names without allocating.
func internOperation(bit uint8, val []byte) string {
	if bit == 4 {
		switch string(val) {
		case "read":
			return "read"
		case "write":
			return "write"
		case "delete":
			return "delete"
		}
	}
	return string(val)
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string of printable ASCII without escapes at
// b[i:], returning its contents and the index after the closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	start := i + 1
	for j := start; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[start:j], j + 1, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// plainInt reads a JSON integer (no fraction, no exponent, no leading
// zero) that fits an int64.
func plainInt(b []byte, i int) (int64, int, bool) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	var n int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if i-start >= 18 { // 18 digits always fit; longer goes the slow way
			return 0, 0, false
		}
		n = n*10 + int64(b[i]-'0')
		i++
	}
	if i == start || (b[start] == '0' && i-start > 1) {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, 0, false
	}
	if neg {
		n = -n
	}
	return n, i, true
}
