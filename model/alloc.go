package model

// The allocation arithmetic and the period roll-over, decided here once for
// every store: a backend reads the rows it needs under its own locks and
// asks these functions, it never re-implements them in SQL.

// CheckNewKey says whether a new key with spec fits in what the account
// does not hold yet (a from Account with its held sums filled in).
func CheckNewKey(a Account, spec KeySpec) error {
	if spec.QueryAlloc > a.QueryAvailable() {
		return &AllocationError{Kind: KindQuery, Requested: spec.QueryAlloc, Available: a.QueryAvailable()}
	}
	if spec.MutationAlloc > a.MutationAvailable() {
		return &AllocationError{Kind: KindMutation, Requested: spec.MutationAlloc, Available: a.MutationAvailable()}
	}
	return nil
}

// FreeFor is what of kind an edit of key k may take: what the account does
// not hold plus what k itself holds now.
func FreeFor(a Account, k Key, kind Kind) int64 {
	return max(0, a.Available(kind)+k.Holds(kind))
}

// CheckAllocEdit says whether key k (usage for the current period) may
// move its allocation of kind to alloc in account a. Lowering is always
// allowed; raising must fit in FreeFor, counting what k already used.
func CheckAllocEdit(a Account, k Key, kind Kind, alloc int64) error {
	if alloc <= k.Alloc(kind) {
		return nil
	}
	if free := FreeFor(a, k, kind); max(alloc, k.Used(kind)) > free {
		return &AllocationError{Kind: kind, Requested: alloc, Available: free}
	}
	return nil
}

// CheckTotal says whether an account total of kind may become total while
// its keys hold held.
func CheckTotal(kind Kind, total, held int64) error {
	if total < held {
		return &AllocationError{Kind: kind, Requested: total, Available: held, Total: true}
	}
	return nil
}

// PeriodUsage is a key's consumption counters and the start (Unix seconds)
// of the period they count.
type PeriodUsage struct {
	Start                   int64
	Query, Mutation, Credit int64
}

// At is u as of the period that starts at start: the counters of an
// earlier period are spent history and count as zero in the new one.
func (u PeriodUsage) At(start int64) PeriodUsage {
	if u.Start != start {
		return PeriodUsage{Start: start}
	}
	return u
}

// Consume adds one allowed operation of kind with its credits.
func (u *PeriodUsage) Consume(kind Kind, credits int64) {
	if kind == KindMutation {
		u.Mutation++
	} else {
		u.Query++
	}
	u.Credit += max(0, credits)
}
