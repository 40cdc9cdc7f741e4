package server

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/keydeck/keydeck/api"
)

// decodeStd is what decodeBody does with encoding/json.
func decodeStd(b []byte) (api.VerifyRequest, bool) {
	var v api.VerifyRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return v, false
	}
	return v, true
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
		t.Fatalf("fast path accepted %q, encoding/json refuses it", b)
	}
	if got != want {
		t.Fatalf("%q: fast path %+v, encoding/json %+v", b, got, want)
	}
}

// FuzzDecodeVerifyFast: whatever the fast path accepts, encoding/json
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
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeStd(body); !ok {
				b.Fatal("refused")
			}
		}
	})
}
