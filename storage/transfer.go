package storage

import (
	"context"
	"fmt"
	"iter"
	"strings"
)

// Moving a whole store from one database to another (keydeck copy): the
// source's Dump hands a Source to a function, which gives it to the
// target's Load. The rows are the tables as both schemas define them
// (times Unix milliseconds, period_start Unix seconds), so nothing is
// interpreted on the way: ids, digests and counters arrive as they were,
// and every secret and token keeps working.

// AccountRow is one row of accounts. TokenDigest is nil for an account
// without an API token.
type AccountRow struct {
	ID                        int64
	Name                      string
	QueryTotal, MutationTotal int64
	Credits                   int64
	Period                    string
	CreatedAt                 int64
	TokenDigest               []byte
	TokenHint                 *string
	TokenCreatedAt            *int64
}

// KeyRow is one row of keys, its usage counters with everything pending
// folded in.
type KeyRow struct {
	ID, AccountID                        int64
	Name, ClientID                       string
	SecretDigest                         []byte
	SecretHint                           string
	SecretRotatedAt                      int64
	Permissions                          int64
	QueryAlloc, MutationAlloc            int64
	QueryUsed, MutationUsed, CreditsUsed int64
	PeriodStart                          int64
	CreatedAt                            int64
	LastUsedAt                           *int64
	Status                               string
	RevokedAt                            *int64
	KeepsAllocation                      bool
}

// UsageRow is one row of usage_days: a key's UTC day.
type UsageRow struct {
	KeyID                                      int64
	Day                                        string
	Queries, Mutations, Credits                int64
	Denied401, Denied403, Denied429, Denied402 int64
}

// AuditRow is one row of audit_events; KeyID is nil for account events.
type AuditRow struct {
	ID, AccountID int64
	KeyID         *int64
	At            int64
	Actor, Action string
	Details       string
}

// SSHKeyRow is one row of ssh_keys.
type SSHKeyRow struct {
	Fingerprint string
	AccountID   int64
	PublicKey   string
	Comment     string
	AddedAt     int64
}

// Source reads a whole store table by table. Each sequence may be ranged
// over once, in the order below (the order foreign keys need), and stops
// at the first error it yields.
type Source interface {
	Accounts() iter.Seq2[AccountRow, error]
	Keys() iter.Seq2[KeyRow, error]
	UsageDays() iter.Seq2[UsageRow, error]
	AuditEvents() iter.Seq2[AuditRow, error]
	SSHKeys() iter.Seq2[SSHKeyRow, error]
}

// Dumper is a store that can be read whole. Dump calls fn with a Source
// reading one consistent state of the store.
type Dumper interface {
	Dump(ctx context.Context, fn func(Source) error) error
}

// Loader is a store that can be filled whole. Load writes every row of
// src in one transaction, all or nothing, into a store that must be empty
// (else a *NotEmptyError) and returns what it wrote.
type Loader interface {
	Load(ctx context.Context, src Source) (Counts, error)
}

// Counts is how many rows of each table a copy wrote.
type Counts struct {
	Accounts    int64 `json:"accounts"`
	Tokens      int64 `json:"tokens"` // accounts with an API token
	Keys        int64 `json:"keys"`
	UsageDays   int64 `json:"usage_days"`
	AuditEvents int64 `json:"audit_events"`
	SSHKeys     int64 `json:"ssh_keys"`
}

// NotEmptyError is Load's refusal of a store that holds data. A store that
// holds only the "default" account its Open created, with that account's
// creation event, counts as empty: Load replaces that account.
type NotEmptyError struct {
	Accounts, Keys, SSHKeys, AuditEvents int64
}

func (e *NotEmptyError) Error() string {
	parts := []string{plural(e.Accounts, "account"), plural(e.Keys, "key")}
	if e.SSHKeys > 0 {
		parts = append(parts, plural(e.SSHKeys, "SSH key"))
	}
	if e.AuditEvents > 0 {
		parts = append(parts, plural(e.AuditEvents, "audit event"))
	}
	list := strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	return "the target already holds " + list + "; copy needs an empty database"
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Occupancy is what a target holds, counted by Load before it writes.
type Occupancy struct {
	Accounts, Keys, SSHKeys, AuditEvents int64
	// OtherAccounts counts the accounts not named "default"; OtherEvents
	// the audit events other than the default account's creation.
	OtherAccounts, OtherEvents int64
}

// Check is nil for an empty target: no keys, no SSH keys, no account but
// "default" and no audit event but its creation, which is what Open makes
// of a new database and Load replaces. Otherwise it is a *NotEmptyError.
func (o Occupancy) Check() error {
	if o.Keys == 0 && o.SSHKeys == 0 && o.OtherAccounts == 0 && o.OtherEvents == 0 {
		return nil
	}
	return &NotEmptyError{Accounts: o.Accounts, Keys: o.Keys, SSHKeys: o.SSHKeys, AuditEvents: o.AuditEvents}
}
