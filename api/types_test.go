package api

import (
	"errors"
	"testing"

	"github.com/keydeck/keydeck/model"
)

// A permission list is names, one each: an empty or comma-joined element
// is refused rather than skipped, as the CLI refuses read,,write.
func TestParsePermissionList(t *testing.T) {
	for _, ok := range [][]string{{"read"}, {"read", "write"}, {"Delete", " read "}} {
		if _, err := ParsePermissionList(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range [][]string{nil, {}, {""}, {"read", ""}, {" ", "write"}, {"read,write"}, {"admin"}} {
		_, err := ParsePermissionList(bad)
		var v *model.ValidationError
		if !errors.As(err, &v) || v.Field != "permissions" {
			t.Errorf("%q: got %v, want a validation error on permissions", bad, err)
		}
	}
}
