package model

import (
	"fmt"
	"regexp"
	"time"
)

// Defaults for a fresh account, including the "default" one a new install
// creates.
const (
	DefaultAccount       = "default"
	DefaultQueryTotal    = 10000
	DefaultMutationTotal = 5000
	DefaultCredits       = 1000
	// MaxQuota bounds every quota and credit figure so sums never overflow.
	MaxQuota = 1_000_000_000_000
)

// Account is the doc's "user": the owner of the totals the keys share.
type Account struct {
	ID            int64     `json:"-"`
	Name          string    `json:"name"`
	QueryTotal    int64     `json:"query_total"`
	MutationTotal int64     `json:"mutation_total"`
	Credits       int64     `json:"credits"`
	Period        Period    `json:"period"`
	CreatedAt     time.Time `json:"created_at"`

	// Held is what the account's keys hold now (see Key.Holds); filled by
	// reads, ignored on writes.
	QueryHeld    int64 `json:"query_held"`
	MutationHeld int64 `json:"mutation_held"`
	// ActiveKeys and RevokedKeys count the account's keys.
	ActiveKeys  int64 `json:"active_keys"`
	RevokedKeys int64 `json:"revoked_keys"`
	// ResetsAt is when the current period ends (nil for period none).
	ResetsAt *time.Time `json:"resets_at"`
}

// QueryAvailable is the Query quota not held by any key.
func (a Account) QueryAvailable() int64 { return max(0, a.QueryTotal-a.QueryHeld) }

// MutationAvailable is the Mutation quota not held by any key.
func (a Account) MutationAvailable() int64 { return max(0, a.MutationTotal-a.MutationHeld) }

// Available returns the unallocated amount of one kind.
func (a Account) Available(k Kind) int64 {
	if k == KindQuery {
		return a.QueryAvailable()
	}
	return a.MutationAvailable()
}

// AccountUpdate changes an account; nil fields are left alone.
type AccountUpdate struct {
	QueryTotal    *int64
	MutationTotal *int64
	Credits       *int64 // set the balance
	AddCredits    *int64 // add to (or, negative, take from) the balance
	Period        *Period
}

// Stats counts accounts and keys across a database.
type Stats struct {
	Accounts    int64 `json:"accounts"`
	ActiveKeys  int64 `json:"active_keys"`
	RevokedKeys int64 `json:"revoked_keys"`
}

// SSHKey is a public key that opens one account's screen over SSH.
type SSHKey struct {
	Fingerprint string    `json:"fingerprint"` // SHA256:… as ssh-keygen -l prints it
	Account     string    `json:"account"`
	PublicKey   string    `json:"public_key"` // authorized_keys line
	Comment     string    `json:"comment"`
	AddedAt     time.Time `json:"added_at"`
}

// AuditEvent is one append-only entry of the audit log.
type AuditEvent struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Account  string    `json:"account"`
	ClientID string    `json:"client_id,omitempty"`
	KeyName  string    `json:"key_name,omitempty"`
	Details  string    `json:"details,omitempty"`
}

// Audit actions.
const (
	AuditAccountCreate = "account.create"
	AuditAccountSet    = "account.set"
	AuditTokenRotate   = "account.token"
	AuditSSHKeyAdd     = "account.ssh_key_add"
	AuditSSHKeyRemove  = "account.ssh_key_remove"
	AuditKeyCreate     = "key.create"
	AuditKeyEdit       = "key.edit"
	AuditKeyRegenerate = "key.regenerate"
	AuditKeyRevoke     = "key.revoke"
	AuditKeyRelease    = "key.release"
)

// UsageDay is one key's usage on one UTC day.
type UsageDay struct {
	Day       string `json:"day"` // YYYY-MM-DD, UTC
	Queries   int64  `json:"queries"`
	Mutations int64  `json:"mutations"`
	Credits   int64  `json:"credits"`
	Denied401 int64  `json:"denied_401"`
	Denied403 int64  `json:"denied_403"`
	Denied429 int64  `json:"denied_429"`
	Denied402 int64  `json:"denied_402"`
}

// Denied is the sum of all denials that day.
func (u UsageDay) Denied() int64 { return u.Denied401 + u.Denied403 + u.Denied429 + u.Denied402 }

var accountName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateAccountName checks an account name: 1–64 letters, digits, '.',
// '_' or '-', starting with a letter or digit.
func ValidateAccountName(name string) error {
	if !accountName.MatchString(name) {
		return &ValidationError{Field: "account", Msg: fmt.Sprintf("invalid account name %q: use 1–64 letters, digits, '.', '_' or '-'", Sanitize(name, 70))}
	}
	return nil
}

// Validate checks an update's figures before any store reads the account.
func (u AccountUpdate) Validate() error {
	for _, f := range []struct {
		name string
		v    *int64
	}{{"query_total", u.QueryTotal}, {"mutation_total", u.MutationTotal}, {"credits", u.Credits}} {
		if f.v != nil {
			if err := ValidateQuota(f.name, *f.v); err != nil {
				return err
			}
		}
	}
	if u.AddCredits != nil && (*u.AddCredits > MaxQuota || *u.AddCredits < -MaxQuota) {
		return &ValidationError{Field: "credits", Msg: "credits to add are out of range"}
	}
	if u.Credits != nil && u.AddCredits != nil {
		return &ValidationError{Field: "credits", Msg: "give either a credit balance or credits to add, not both"}
	}
	if u.Period != nil {
		if _, err := ParsePeriod(string(*u.Period)); err != nil {
			return err
		}
	}
	return nil
}
