package server

import (
	"testing"

	"github.com/keydeck/keydeck/api"
)

// decodeStd is what decodeBody does: decodeStrict, encoding/json with
// exact, unrepeated member names.
func decodeStd(b []byte) (api.VerifyRequest, bool) {
	var v api.VerifyRequest
	return v, decodeStrict(b, &v) == nil
}

var verifyDecodeSeeds = []string{
	`{"client_id":"kdc_x","client_secret":"kds_y","operation":"read"}`,
	` { "client_id" : "a" , "client_secret":"b","operation":"write","credits":5 } ` + "\n",
	`{"operation":"delete","credits":0,"client_id":"a","client_secret":"b"}`,
	`{"credits":-7}`,
	`{"credits":-0}`,
	`{}`,
	"\t{\r\n}\n",
	`{"credits":999999999999999999}`,
	`{"credits":9223372036854775807}`,
	`{"credits":9223372036854775808}`,
	`{"credits":1.0}`,
	`{"credits":1e3}`,
	`{"credits":01}`,
	`{"credits":"1"}`,
	`{"credits":-}`,
	`{"client_id":null}`,
	`{"client_id":"a\u0062"}`,
	`{"client_id":"a\"b"}`,
	`{"client_id":"é"}`,
	`{"Client_ID":"a"}`,
	`{"client_id":"a","client_id":"b"}`,
	`{"client_id":"a",}`,
	`{"client_id":"a"}{}`,
	`{"client_id":"a"} x`,
	`{"client_id":"a"`,
	`{"client_id" "a"}`,
	`{"extra":1}`,
	`[]`,
	``,
	`"x"`,
	`{"operation":"READ"}`,
	`{"operation":"write","operation":"read"}`,
	`{"client_id":"a","client_secret":"b","operation":"write","operation":"read"}`,
	`{"credits":1,"credits":2}`,
	`{"Operation":"read"}`,
	`{"OPERATION":"read"}`,
	`{"client_ID":"a"}`,
	`{"operation":"write","Operation":"read"}`,
	"{\"\u017fredits\":1}", // ſ folds to s in encoding/json
	`{"op\u0065ration":"read","operation":"write"}`,
}

// Repeated members and names in another case are refused by both paths:
// the fast one hands them to decodeStrict, which refuses them.
func TestDecodeVerifyRefusesRepeatsAndCase(t *testing.T) {
	for _, s := range []string{
		`{"operation":"write","operation":"read"}`,
		`{"client_id":"a","client_secret":"b","operation":"write","operation":"read"}`,
		`{"credits":1,"credits":2}`,
		`{"Operation":"read"}`,
		`{"OPERATION":"read"}`,
		`{"client_ID":"a"}`,
		`{"Client_ID":"a"}`,
		`{"operation":"write","Operation":"read"}`,
		"{\"\u017fredits\":1}",
		`{"op\u0065ration":"read","operation":"write"}`,
	} {
		var v api.VerifyRequest
		if decodeVerifyFast([]byte(s), &v) {
			t.Errorf("fast path accepted %s", s)
		}
		if err := decodeStrict([]byte(s), &v); err == nil || err.field == "" {
			t.Errorf("decodeStrict accepted %s, or named no field: %+v", s, err)
		}
	}
}

func TestDecodeVerifyFastAgreesOnSeeds(t *testing.T) {
	fast := 0
	for _, s := range verifyDecodeSeeds {
		checkVerifyDecode(t, []byte(s))
		var v api.VerifyRequest
		if decodeVerifyFast([]byte(s), &v) {
			fast++
		}
	}
	// The usual bodies do take the fast path.
	if fast < 8 {
		t.Fatalf("only %d seeds took the fast path", fast)
	}
	var v api.VerifyRequest
	if !decodeVerifyFast([]byte(verifyDecodeSeeds[0]), &v) || v.Operation != "read" || v.ClientID != "kdc_x" {
		t.Fatalf("usual body: %+v", v)
	}
}

func checkVerifyDecode(t *testing.T, b []byte) {
	t.Helper()
	var got api.VerifyRequest
	if !decodeVerifyFast(b, &got) {
		return
	}
	want, ok := decodeStd(b)
	if !ok {
		t.Fatalf("fast path accepted %q, decodeStrict refuses it", b)
	}
	if got != want {
		t.Fatalf("%q: fast path %+v, decodeStrict %+v", b, got, want)
	}
}

// FuzzDecodeVerifyFast: whatever the fast path accepts, decodeStrict
// decodes to the same value. go test -fuzz FuzzDecodeVerifyFast ./server
func FuzzDecodeVerifyFast(f *testing.F) {
	for _, s := range verifyDecodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkVerifyDecode(t, b) })
}

func BenchmarkDecodeVerify(b *testing.B) {
	body := []byte(`{"client_id":"kdc_5bTtndOVAAheBfe1EYFQol","client_secret":"kds_3kVv0f8yqJmS1YpQ9n2m7Lx4cT6wZ8aB0dE2gH4jK6nM1","operation":"read"}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v api.VerifyRequest
			if !decodeVerifyFast(body, &v) {
				b.Fatal("slow path")
			}
		}
	})
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeStd(body); !ok {
				b.Fatal("refused")
			}
		}
	})
}
