package storage_test

import (
	"strings"
	"testing"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// FuzzDecodeCursor: a ?cursor= from a client never panics; a refusal is
// the one validation error; what encode writes decodes back, and what is
// accepted means what its re-encoding means (base64 and ParseInt take
// more than one spelling of a cursor: harmless, it is the same position).
func FuzzDecodeCursor(f *testing.F) {
	for _, c := range []storage.Cursor{{"1700000000000", 1}, {"Backend-Key", 42}, {"", 0}, {"a\x00b", 1}, {"-5", -1}} {
		for _, s := range []storage.Sort{storage.SortCreated, storage.SortName, storage.SortUsage} {
			f.Add(c.Encode(s), string(s), c.Value, c.ID)
		}
	}
	f.Add("", "", "", int64(0))
	f.Add("!!!", "name", "x", int64(1))
	f.Add("bmFtZQB4AA", "name", "x", int64(1)) // "name\x00x\x00": no id
	f.Add("Y3JlYXRlZAB4ADE", "created", "x", int64(1))
	f.Fuzz(func(t *testing.T, s, sort, value string, id int64) {
		srt := storage.Sort(sort)
		c, err := storage.DecodeCursor(s, srt)
		if err != nil {
			if ve, ok := err.(*model.ValidationError); !ok || ve.Field != "cursor" || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%q: error %v", s, err)
			}
		} else if again, err := storage.DecodeCursor(c.Encode(srt), srt); err != nil || again != c {
			t.Fatalf("%q decodes to %+v, which reads back as %+v, %v", s, c, again, err)
		}
		// A cursor keydeck wrote (the value holds no NUL; numeric sorts
		// write numbers) reads back.
		if strings.Contains(value, "\x00") || strings.Contains(sort, "\x00") {
			return
		}
		want := storage.Cursor{Value: value, ID: id}
		if srt != storage.SortName {
			want.Value = "17"
		}
		if got, err := storage.DecodeCursor(want.Encode(srt), srt); err != nil || got != want {
			t.Fatalf("%+v (%q) reads back as %+v, %v", want, srt, got, err)
		}
	})
}
