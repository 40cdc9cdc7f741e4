package api

import (
	"strings"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// Key is a model.Key with its permissions as a list of names
// (["read","write"]). The other field names are the model's json tags.
type Key struct {
	model.Key
	Permissions []string `json:"permissions"`
}

// FromKey converts a key for the wire.
func FromKey(k model.Key) Key { return Key{Key: k, Permissions: k.Permissions.List()} }

// Model converts a key from the wire.
func (k Key) Model() (model.Key, error) {
	m := k.Key
	p, err := model.ParsePermissions(strings.Join(k.Permissions, ","))
	if err != nil {
		return model.Key{}, err
	}
	m.Permissions = p
	return m, nil
}

// KeyPage is a page of keys (GET /v1/keys).
type KeyPage struct {
	Keys       []Key  `json:"keys"`
	Total      int    `json:"total"`
	NextCursor string `json:"next_cursor"`
}

// FromKeyPage converts a page for the wire.
func FromKeyPage(p storage.KeyPage) KeyPage {
	out := KeyPage{Keys: make([]Key, len(p.Keys)), Total: p.Total, NextCursor: p.NextCursor}
	for i, k := range p.Keys {
		out.Keys[i] = FromKey(k)
	}
	return out
}

// CreateKeyRequest is the body of POST /v1/keys.
type CreateKeyRequest struct {
	Name          string   `json:"name"`
	Permissions   []string `json:"permissions"`
	QueryAlloc    int64    `json:"query_allocation"`
	MutationAlloc int64    `json:"mutation_allocation"`
}

// Spec converts the request to a model.KeySpec (not yet validated beyond
// the permission names).
func (r CreateKeyRequest) Spec() (model.KeySpec, error) {
	p, err := ParsePermissionList(r.Permissions)
	if err != nil {
		return model.KeySpec{}, err
	}
	return model.KeySpec{Name: r.Name, Permissions: p, QueryAlloc: r.QueryAlloc, MutationAlloc: r.MutationAlloc}, nil
}

// EditKeyRequest is the body of PATCH /v1/keys/{client_id}; absent fields
// are left alone.
type EditKeyRequest struct {
	Name          *string   `json:"name,omitempty"`
	Permissions   *[]string `json:"permissions,omitempty"`
	QueryAlloc    *int64    `json:"query_allocation,omitempty"`
	MutationAlloc *int64    `json:"mutation_allocation,omitempty"`
}

// Edit converts the request to a model.KeyEdit.
func (r EditKeyRequest) Edit() (model.KeyEdit, error) {
	e := model.KeyEdit{Name: r.Name, QueryAlloc: r.QueryAlloc, MutationAlloc: r.MutationAlloc}
	if r.Permissions != nil {
		p, err := ParsePermissionList(*r.Permissions)
		if err != nil {
			return model.KeyEdit{}, err
		}
		e.Permissions = &p
	}
	return e, nil
}

// FromEdit converts a model.KeyEdit for the wire.
func FromEdit(e model.KeyEdit) EditKeyRequest {
	r := EditKeyRequest{Name: e.Name, QueryAlloc: e.QueryAlloc, MutationAlloc: e.MutationAlloc}
	if e.Permissions != nil {
		l := e.Permissions.List()
		r.Permissions = &l
	}
	return r
}

// ParsePermissionList reads ["read","write"]; an empty list is a
// validation error, as an unknown name is.
func ParsePermissionList(names []string) (model.Permission, error) {
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			return 0, &model.ValidationError{Field: "permissions", Msg: "a permission name is empty (use read, write, delete)"}
		}
		if strings.Contains(n, ",") {
			return 0, &model.ValidationError{Field: "permissions", Msg: "permissions is a list of names such as [\"read\", \"write\"]"}
		}
	}
	return model.ParsePermissions(strings.Join(names, ","))
}

// KeySecret answers POST /v1/keys (201) and POST …/regenerate (200): the
// key and its secret, the only time the secret is sent.
type KeySecret struct {
	Key          Key    `json:"key"`
	ClientSecret string `json:"client_secret"`
}

// RevokeRequest is the optional body of POST /v1/keys/{client_id}/revoke.
type RevokeRequest struct {
	KeepAllocation bool `json:"keep_allocation"`
}

// KeyAnswer wraps a key (GET, PATCH, revoke, release).
type KeyAnswer struct {
	Key Key `json:"key"`
}

// UsageAnswer is GET /v1/keys/{client_id}/usage.
type UsageAnswer struct {
	ClientID string           `json:"client_id"`
	Days     []model.UsageDay `json:"days"`
}

// AuditAnswer is GET /v1/audit.
type AuditAnswer struct {
	Events []model.AuditEvent `json:"events"`
}

// VerifyRequest is the body of POST /v1/verify.
type VerifyRequest struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Operation    string `json:"operation"`
	Credits      int64  `json:"credits,omitempty"`
}

// VerifyAnswer is the 200 answer of POST /v1/verify. Denials are
// problems carrying the same members.
type VerifyAnswer struct {
	Allowed   bool   `json:"allowed"`
	ClientID  string `json:"client_id"`
	Operation string `json:"operation"`
	Kind      string `json:"kind"`
	Limit     int64  `json:"limit"`
	Remaining int64  `json:"remaining"`
	Credits   int64  `json:"credits"`
	Period    string `json:"period"`
	// PeriodSeconds is the length of the current period (0 for none).
	PeriodSeconds int64 `json:"period_seconds"`
	// ResetsAt is absent for period none.
	ResetsAt *time.Time `json:"resets_at,omitempty"`
}

// KindOf reads "query" or "mutation" (0 for anything else).
func KindOf(s string) model.Kind {
	switch s {
	case model.KindQuery.String():
		return model.KindQuery
	case model.KindMutation.String():
		return model.KindMutation
	}
	return 0
}
