package storage

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/keydeck/keydeck/model"
)

// Cursor is the keyset position after a page of keys: the sort column's
// value and the row id. Every store encodes it the same way, so a cursor
// means the same whichever store made it.
type Cursor struct {
	Value string
	ID    int64
}

// Encode is the cursor as ListOptions.Cursor takes it, for sort s.
func (c Cursor) Encode(s Sort) string {
	return base64.RawURLEncoding.EncodeToString([]byte(string(s) + "\x00" + c.Value + "\x00" + strconv.FormatInt(c.ID, 10)))
}

// DecodeCursor reads a cursor made for sort; anything else, a cursor of
// another sort included, is a validation error.
func DecodeCursor(s string, sort Sort) (Cursor, error) {
	bad := &model.ValidationError{Field: "cursor", Msg: "invalid cursor (start again without one)"}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 || parts[0] != string(sort) {
		return Cursor{}, bad
	}
	id, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return Cursor{}, bad
	}
	if sort != SortName {
		if _, err := strconv.ParseInt(parts[1], 10, 64); err != nil {
			return Cursor{}, bad
		}
	}
	return Cursor{Value: parts[1], ID: id}, nil
}
