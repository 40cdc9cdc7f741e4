package server

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/keydeck/keydeck/api"
)

// The hand-written 200 answer of /v1/verify is byte for byte what
// encoding/json writes.
func FuzzAppendVerifyAnswer(f *testing.F) {
	f.Add("kdc_1yICnk16F6gvqaUVjjGpUk", "read", "query", int64(2), int64(1), int64(0), "monthly", int64(2592000), int64(1796083200), true)
	f.Add("a\"b\\c<d>&\x00é\u2028", "write", "mutation", int64(-1), int64(1<<62), int64(7), "none", int64(0), int64(0), false)
	f.Add("\xff\xfe", "", "", int64(0), int64(0), int64(0), "", int64(0), int64(-5), true)
	f.Fuzz(func(t *testing.T, id, op, kind string, limit, remaining, credits int64, period string, secs, resetUnix int64, hasReset bool) {
		v := api.VerifyAnswer{Allowed: true, ClientID: id, Operation: op, Kind: kind, Limit: limit, Remaining: remaining,
			Credits: credits, Period: period, PeriodSeconds: secs}
		if hasReset {
			at := time.Unix(resetUnix%(1<<40), resetUnix%1e9).UTC()
			v.ResetsAt = &at
		}
		want, err := json.Marshal(v)
		if err != nil {
			t.Skip()
		}
		if got := appendVerifyAnswer(nil, v); string(got) != string(want) {
			t.Fatalf("\ngot  %s\nwant %s", got, want)
		}
	})
}
