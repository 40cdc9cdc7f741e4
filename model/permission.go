package model

import (
	"fmt"
	"strings"
)

// Permission is a set of the three operations a key may perform.
type Permission uint8

const (
	PermRead Permission = 1 << iota
	PermWrite
	PermDelete

	PermAll = PermRead | PermWrite | PermDelete
)

// permNames lists the permissions in display order.
var permNames = []struct {
	p    Permission
	name string
	desc string
}{
	{PermRead, "read", "Fetching media, viewing metadata (GET)"},
	{PermWrite, "write", "Uploading media (POST)"},
	{PermDelete, "delete", "Removing media (DELETE)"},
}

// PermissionInfo describes one permission for help texts and checkboxes.
type PermissionInfo struct {
	Perm        Permission
	Name        string
	Description string
}

// Permissions returns the three permissions in display order.
func Permissions() []PermissionInfo {
	out := make([]PermissionInfo, len(permNames))
	for i, p := range permNames {
		out[i] = PermissionInfo{p.p, p.name, p.desc}
	}
	return out
}

// ParsePermissions reads a comma-separated list such as "read,write".
// Whitespace and case are ignored; the result must not be empty.
func ParsePermissions(s string) (Permission, error) {
	var p Permission
	for _, part := range strings.Split(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		if part == "" {
			continue
		}
		found := false
		for _, n := range permNames {
			if n.name == part {
				p |= n.p
				found = true
			}
		}
		if !found {
			return 0, &ValidationError{Field: "permissions", Msg: fmt.Sprintf("unknown permission %q (use read, write, delete)", Sanitize(part, 20))}
		}
	}
	if p == 0 {
		return 0, &ValidationError{Field: "permissions", Msg: "choose at least one permission (read, write, delete)"}
	}
	return p, nil
}

// Valid reports whether p is a non-empty subset of read, write, delete.
func (p Permission) Valid() bool { return p != 0 && p&^PermAll == 0 }

// Has reports whether every permission in q is in p.
func (p Permission) Has(q Permission) bool { return p&q == q }

// List returns the names of the permissions in p, in display order.
func (p Permission) List() []string {
	out := []string{}
	for _, n := range permNames {
		if p&n.p != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// String returns "read,write" style text.
func (p Permission) String() string { return strings.Join(p.List(), ",") }

// Short returns a fixed-width "RWD" style mark, "-" for a missing one.
func (p Permission) Short() string {
	b := []byte("---")
	for i, c := range []byte("RWD") {
		if p&(1<<i) != 0 {
			b[i] = c
		}
	}
	return string(b)
}
