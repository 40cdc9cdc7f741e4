package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Status of a key.
type Status string

const (
	StatusActive  Status = "active"
	StatusRevoked Status = "revoked"
)

// MaxNameLen is the longest key name, in characters.
const MaxNameLen = 64

// Key is an API key as lists and details show it. It never carries the
// secret; SecretHint is its last four characters.
type Key struct {
	ID            int64      `json:"-"`
	Account       string     `json:"account"`
	Name          string     `json:"name"`
	ClientID      string     `json:"client_id"`
	SecretHint    string     `json:"secret_hint"`
	Permissions   Permission `json:"-"`
	QueryAlloc    int64      `json:"query_allocation"`
	MutationAlloc int64      `json:"mutation_allocation"`
	// Usage in the current period (zero when the period has reset).
	QueryUsed    int64      `json:"query_used"`
	MutationUsed int64      `json:"mutation_used"`
	CreditsUsed  int64      `json:"credits_used"`
	PeriodStart  time.Time  `json:"period_start"`
	CreatedAt    time.Time  `json:"created_at"`
	LastUsedAt   *time.Time `json:"last_used_at"`
	Status       Status     `json:"status"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	// KeepsAllocation is true for a revoked key that still holds its
	// allocation until it is released.
	KeepsAllocation bool `json:"keeps_allocation,omitempty"`
	// SecretRotatedAt is when the secret was last set (create or regenerate).
	SecretRotatedAt time.Time `json:"secret_rotated_at"`
	// ResetsAt is when the current period ends (nil for period none).
	ResetsAt *time.Time `json:"resets_at"`
}

// Active reports whether the key can still be used.
func (k Key) Active() bool { return k.Status == StatusActive }

// CanChange is nil when the key may be edited, regenerated or revoked: it
// must be active. The error is what every store and the CLI say.
func (k Key) CanChange() error {
	if !k.Active() {
		return fmt.Errorf("%w: %q (%s)", ErrRevoked, k.Name, k.ClientID)
	}
	return nil
}

// CanRelease is nil when the key holds an allocation to release: it was
// revoked with keep-allocation and not released since.
func (k Key) CanRelease() error {
	if k.Active() {
		return fmt.Errorf("%w: %q is active (revoke it first)", ErrNotRevoked, k.Name)
	}
	if !k.KeepsAllocation {
		return ErrNothingHeld
	}
	return nil
}

// Alloc is the allocation of one kind.
func (k Key) Alloc(kind Kind) int64 {
	if kind == KindQuery {
		return k.QueryAlloc
	}
	return k.MutationAlloc
}

// Used is the usage of one kind in the current period.
func (k Key) Used(kind Kind) int64 {
	if kind == KindQuery {
		return k.QueryUsed
	}
	return k.MutationUsed
}

// Remaining is how many operations of a kind the key may still perform.
func (k Key) Remaining(kind Kind) int64 { return max(0, k.Alloc(kind)-k.Used(kind)) }

// Holds is how much of the account's total of one kind the key takes up,
// given usage that is already for the current period:
//   - active: max(allocation, used)
//   - revoked, allocation returned: what it used this period
//   - revoked, allocation kept: max(allocation, used) until released
func Holds(status Status, keeps bool, alloc, used int64) int64 {
	if status == StatusActive || keeps {
		return max(alloc, used)
	}
	return used
}

// Holds applies the package-level Holds to this key.
func (k Key) Holds(kind Kind) int64 {
	return Holds(k.Status, k.KeepsAllocation, k.Alloc(kind), k.Used(kind))
}

// KeySpec is what a new key is made from.
type KeySpec struct {
	Name          string     `json:"name"`
	Permissions   Permission `json:"-"`
	QueryAlloc    int64      `json:"query_allocation"`
	MutationAlloc int64      `json:"mutation_allocation"`
}

// Validate normalises the name and checks every field.
func (s *KeySpec) Validate() error {
	n, err := NormalizeName(s.Name)
	if err != nil {
		return err
	}
	s.Name = n
	if !s.Permissions.Valid() {
		return &ValidationError{Field: "permissions", Msg: "choose at least one permission (read, write, delete)"}
	}
	if err := ValidateQuota("query_allocation", s.QueryAlloc); err != nil {
		return err
	}
	return ValidateQuota("mutation_allocation", s.MutationAlloc)
}

// KeyEdit changes a key; nil fields are left alone.
type KeyEdit struct {
	Name          *string
	Permissions   *Permission
	QueryAlloc    *int64
	MutationAlloc *int64
}

// Empty reports whether the edit changes nothing.
func (e KeyEdit) Empty() bool {
	return e.Name == nil && e.Permissions == nil && e.QueryAlloc == nil && e.MutationAlloc == nil
}

// Validate normalises the name and checks every field that is set.
func (e *KeyEdit) Validate() error {
	if e.Name != nil {
		n, err := NormalizeName(*e.Name)
		if err != nil {
			return err
		}
		e.Name = &n
	}
	if e.Permissions != nil && !e.Permissions.Valid() {
		return &ValidationError{Field: "permissions", Msg: "choose at least one permission (read, write, delete)"}
	}
	if e.QueryAlloc != nil {
		if err := ValidateQuota("query_allocation", *e.QueryAlloc); err != nil {
			return err
		}
	}
	if e.MutationAlloc != nil {
		if err := ValidateQuota("mutation_allocation", *e.MutationAlloc); err != nil {
			return err
		}
	}
	return nil
}

// NormalizeName trims a key name and checks it: 1–64 printable characters.
func NormalizeName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", &ValidationError{Field: "name", Msg: "name is not valid UTF-8"}
	}
	n := strings.TrimSpace(name)
	if n == "" {
		return "", &ValidationError{Field: "name", Msg: "name is empty; give the key a name such as Backend-Server-Key"}
	}
	for _, r := range n {
		if !unicode.IsPrint(r) {
			return "", &ValidationError{Field: "name", Msg: "name contains a control or non-printable character"}
		}
	}
	if ValidClientID(n) {
		// IDs resolve as Client IDs first: such a name could never be used.
		return "", &ValidationError{Field: "name", Msg: "a key name cannot have the form of a Client ID (kdc_…)"}
	}
	if c := utf8.RuneCountInString(n); c > MaxNameLen {
		return "", &ValidationError{Field: "name", Msg: "name is too long (" + strconv.Itoa(c) + " characters, at most 64)"}
	}
	return n, nil
}

// ValidateQuota checks a quota figure is between 0 and MaxQuota. field is
// the API name (query_allocation); the message spells it with spaces.
func ValidateQuota(field string, v int64) error {
	label := strings.ReplaceAll(field, "_", " ")
	if v < 0 {
		return &ValidationError{Field: field, Msg: label + " cannot be negative"}
	}
	if v > MaxQuota {
		return &ValidationError{Field: field, Msg: label + " is too large (at most 1000000000000)"}
	}
	return nil
}

// Sanitize makes user input safe to echo in a one-line message: Printable,
// cut to n characters.
func Sanitize(s string, n int) string {
	var b strings.Builder
	i := 0
	for _, r := range s {
		if i == n {
			b.WriteString("…")
			break
		}
		b.WriteRune(printable(r))
		i++
	}
	return b.String()
}

// Printable replaces every character that is not printable with '?', so
// text from elsewhere (user input, a remote server's answers) can reach a
// terminal: C0 and C1 controls, DEL, ESC (and so every escape sequence),
// newlines and tabs, and format characters such as the bidi overrides
// U+202A–U+202E and U+2066–U+2069, which could recolour, retitle, clear,
// hide or forge lines. It is the rule NormalizeName enforces on key names
// (unicode.IsPrint); invalid UTF-8 comes out as U+FFFD.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s // the common case: no copy
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(printable(r))
	}
	return b.String()
}

func printable(r rune) rune {
	if !unicode.IsPrint(r) {
		return '?'
	}
	return r
}
