package model

import "time"

// Verdict is the outcome of a verification.
type Verdict uint8

const (
	Allowed Verdict = iota + 1
	DeniedUnauthorized
	DeniedForbidden
	DeniedQuota
	DeniedCredits
)

// ExitCode maps a verdict to the exit status of `keydeck verify`.
func (v Verdict) ExitCode() int {
	switch v {
	case Allowed:
		return 0
	case DeniedUnauthorized:
		return 3
	case DeniedForbidden:
		return 4
	case DeniedQuota:
		return 5
	case DeniedCredits:
		return 6
	}
	return 1
}

// Err is the user-facing error of a denial, nil when allowed.
func (v Verdict) Err() error {
	switch v {
	case Allowed:
		return nil
	case DeniedUnauthorized:
		return ErrInvalidCredentials
	case DeniedForbidden:
		return ErrForbidden
	case DeniedQuota:
		return ErrQuotaExceeded
	case DeniedCredits:
		return ErrCreditsExhausted
	}
	return ErrInvalidCredentials
}

func (v Verdict) String() string {
	switch v {
	case Allowed:
		return "allowed"
	case DeniedUnauthorized:
		return "invalid credentials"
	case DeniedForbidden:
		return "Forbidden (You are not authorized)"
	case DeniedQuota:
		return "Quota Exceeded"
	case DeniedCredits:
		return "not enough credits"
	}
	return "unknown"
}

// VerifyRequest asks whether a key may perform an operation.
type VerifyRequest struct {
	ClientID     string
	ClientSecret string
	Operation    Operation
	Credits      int64
}

// VerifyResult is the answer. On a 401 nothing about the key is filled in.
type VerifyResult struct {
	Verdict   Verdict
	ClientID  string
	Kind      Kind
	Limit     int64 // allocation of Kind
	Remaining int64 // after this request
	// QueryLimit and MutationLimit are the key's two allocations, for the
	// answers that report both (the local store fills them in).
	QueryLimit, MutationLimit int64
	Period                    Period
	// PeriodSeconds is the length of the current period (0 for none).
	PeriodSeconds int64
	// ResetsAt is when the period resets (zero for none).
	ResetsAt time.Time
}

// KeyState is what a decision is made from: the key's current-period view
// and its account's balance.
type KeyState struct {
	Active         bool
	Permissions    Permission
	QueryAlloc     int64
	MutationAlloc  int64
	QueryUsed      int64 // this period
	MutationUsed   int64 // this period
	AccountCredits int64
}

// Decide applies the verification order to a key whose secret already
// matched: 403 missing permission, 429 allocation used up, 402 not enough
// credits, otherwise allowed. (401 is decided before, by the caller.)
func Decide(st KeyState, op Operation, credits int64) Verdict {
	if !st.Active {
		return DeniedUnauthorized
	}
	if !st.Permissions.Has(op.Permission()) {
		return DeniedForbidden
	}
	alloc, used := st.QueryAlloc, st.QueryUsed
	if op.Kind() == KindMutation {
		alloc, used = st.MutationAlloc, st.MutationUsed
	}
	if used >= alloc {
		return DeniedQuota
	}
	if credits < 0 || credits > st.AccountCredits {
		return DeniedCredits
	}
	return Allowed
}
