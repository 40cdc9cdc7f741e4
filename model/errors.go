package model

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Their text is safe to show to a user; none carries a
// secret.
var (
	ErrNotFound           = errors.New("not found")
	ErrKeyNotFound        = errors.New("no such key")
	ErrAccountNotFound    = errors.New("no such account")
	ErrSSHKeyNotFound     = errors.New("no such SSH key")
	ErrRevoked            = errors.New("the key is revoked")
	ErrNotRevoked         = errors.New("the key is not revoked")
	ErrNothingHeld        = errors.New("the revoked key holds no allocation (it was returned at revoke or already released)")
	ErrDuplicateName      = errors.New("an active key with that name already exists")
	ErrAccountExists      = errors.New("an account with that name already exists")
	ErrSSHKeyExists       = errors.New("that SSH key is already registered")
	ErrInvalidCredentials = errors.New("invalid credentials")
	ErrForbidden          = errors.New("Forbidden (You are not authorized)")
	ErrQuotaExceeded      = errors.New("Quota Exceeded")
	ErrCreditsExhausted   = errors.New("not enough credits")
	ErrMalformedSecret    = errors.New("malformed secret")
	ErrUnauthorized       = errors.New("invalid or missing API token")
)

// ValidationError is bad input in one field.
type ValidationError struct {
	Field string
	Msg   string
}

func (e *ValidationError) Error() string { return e.Msg }

// AllocationError says an allocation or total does not fit: Available is
// what is still unallocated (for a total: what the keys hold).
type AllocationError struct {
	Kind      Kind
	Requested int64
	Available int64
	// Total is set when an account total was being lowered below what is held.
	Total bool
}

func (e *AllocationError) Error() string {
	if e.Total {
		return fmt.Sprintf("the keys hold %s %s units; the %s total cannot be lower than that",
			strconv.FormatInt(e.Available, 10), e.Kind, e.Kind)
	}
	return fmt.Sprintf("%s allocation %d exceeds what is unallocated: %d %s available",
		e.Kind, e.Requested, e.Available, e.Kind)
}

// IsValidation reports whether err is a ValidationError.
func IsValidation(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

// IsAllocation reports whether err is an AllocationError.
func IsAllocation(err error) bool {
	var v *AllocationError
	return errors.As(err, &v)
}

// AmbiguousError is an ID that matched several revoked keys by name and no
// active one.
type AmbiguousError struct {
	Name    string
	Matches []string // Client IDs
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%q names %d revoked keys; use a Client ID: %v", e.Name, len(e.Matches), e.Matches)
}

// NotFoundError names what was looked for. It matches ErrNotFound and its
// Kind (ErrKeyNotFound, ErrAccountNotFound or ErrSSHKeyNotFound) with
// errors.Is.
type NotFoundError struct {
	Kind error
	ID   string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%v: %q", e.Kind, RedactSecrets(Sanitize(e.ID, 80)))
}

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound || target == e.Kind }

// KeyNotFound is the error for an unknown key ID.
func KeyNotFound(id string) error { return &NotFoundError{Kind: ErrKeyNotFound, ID: id} }

// AccountNotFound is the error for an unknown account name.
func AccountNotFound(name string) error { return &NotFoundError{Kind: ErrAccountNotFound, ID: name} }
