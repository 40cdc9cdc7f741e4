package keylist

import (
	"cmp"
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// Row is one key as the list shows it: compact, so 100,000 of them stay
// small, and without anything secret.
type Row struct {
	Name          string
	ClientID      string
	Perms         model.Permission
	QueryAlloc    int64
	QueryUsed     int64
	MutationAlloc int64
	MutationUsed  int64
	Created       int64 // Unix seconds
	LastUsed      int64 // Unix seconds, 0 for never
	Revoked       bool
	Keeps         bool // revoked and still holding its allocation

	search string // lower-case name, NUL, lower-case Client ID
	nlen   int    // bytes of the lower-case name in search
}

func (r *Row) lowerName() string { return r.search[:r.nlen] }

// Active reports whether the key is usable.
func (r Row) Active() bool { return !r.Revoked }

// Used is queries plus mutations this period.
func (r Row) Used() int64 { return r.QueryUsed + r.MutationUsed }

// RowOf makes a Row from a key.
func RowOf(k model.Key) Row {
	r := Row{
		Name:          k.Name,
		ClientID:      k.ClientID,
		Perms:         k.Permissions,
		QueryAlloc:    k.QueryAlloc,
		QueryUsed:     k.QueryUsed,
		MutationAlloc: k.MutationAlloc,
		MutationUsed:  k.MutationUsed,
		Created:       k.CreatedAt.Unix(),
		Revoked:       !k.Active(),
		Keeps:         k.KeepsAllocation,
	}
	if k.LastUsedAt != nil {
		r.LastUsed = k.LastUsedAt.Unix()
	}
	return r
}

// Snapshot is an immutable set of loaded keys with an ordering per sort. It
// is built off the UI goroutine (in a command) and only read afterwards.
type Snapshot struct {
	Rows []Row
	// Total is how many keys the store has (Rows may hold fewer while the
	// rest are still loading).
	Total int
	// Complete is set when every page has been loaded.
	Complete bool
	// Active and Revoked count the loaded rows.
	Active, Revoked int

	// widths is what the longest values need, for the layout.
	widths dims

	orders map[storage.Sort][]int32
}

// dims is the cells the widest loaded values take: the layout gives a
// column no more than its longest value and switches to exact numbers only
// when the widest of them fits.
type dims struct {
	name, id       int
	qExact, mExact int // "used/alloc" with thousands separators
}

// defaultDims is assumed before any data arrives.
var defaultDims = dims{name: 24, id: 26, qExact: 11, mExact: 11}

// intWidth is len(format.Int(n)) without building the string.
func intWidth(n int64) int {
	w := 0
	if n < 0 {
		w, n = 1, -n
	}
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return w + d + (d-1)/3
}

// NewSnapshot builds a snapshot from keys in the store's created order.
func NewSnapshot(keys []model.Key, total int, complete bool) *Snapshot {
	rows := make([]Row, len(keys))
	for i, k := range keys {
		rows[i] = RowOf(k)
	}
	return NewSnapshotRows(rows, total, complete)
}

// NewSnapshotRows builds a snapshot from rows in created order (newest
// first); it takes ownership of rows.
func NewSnapshotRows(rows []Row, total int, complete bool) *Snapshot {
	s := &Snapshot{Rows: rows, Total: max(total, len(rows)), Complete: complete, orders: map[storage.Sort][]int32{}}
	// The search strings of all rows share one block of memory, in list
	// order, so a filter scans memory front to back.
	var blob strings.Builder
	ends := make([]int, len(rows))
	for i := range rows {
		ln := strings.ToLower(rows[i].Name)
		rows[i].nlen = len(ln)
		blob.WriteString(ln)
		blob.WriteByte(0)
		blob.WriteString(strings.ToLower(rows[i].ClientID))
		ends[i] = blob.Len()
	}
	all := blob.String()
	start := 0
	for i, end := range ends {
		rows[i].search = all[start:end]
		start = end
	}
	s.widths = dims{name: 4, id: 9, qExact: 3, mExact: 3} // at least the titles' room
	for i := range rows {
		r := &rows[i]
		s.widths.name = max(s.widths.name, ansi.StringWidth(r.Name))
		s.widths.id = max(s.widths.id, len(r.ClientID))
		s.widths.qExact = max(s.widths.qExact, intWidth(r.QueryUsed)+1+intWidth(r.QueryAlloc))
		s.widths.mExact = max(s.widths.mExact, intWidth(r.MutationUsed)+1+intWidth(r.MutationAlloc))
	}
	for i := range rows {
		if rows[i].Revoked {
			s.Revoked++
		} else {
			s.Active++
		}
	}
	created := make([]int32, len(rows))
	for i := range created {
		created[i] = int32(i)
	}
	s.orders[storage.SortCreated] = created
	byName := slices.Clone(created)
	slices.SortStableFunc(byName, func(a, b int32) int {
		return strings.Compare(rows[a].lowerName(), rows[b].lowerName())
	})
	s.orders[storage.SortName] = byName
	byUsage := slices.Clone(created)
	slices.SortStableFunc(byUsage, func(a, b int32) int {
		return cmp.Compare(rows[b].Used(), rows[a].Used())
	})
	s.orders[storage.SortUsage] = byUsage
	return s
}

// Order returns the row indices in a sort order.
func (s *Snapshot) Order(by storage.Sort) []int32 {
	if o, ok := s.orders[by]; ok {
		return o
	}
	return s.orders[storage.SortCreated]
}

// Len is how many rows are loaded.
func (s *Snapshot) Len() int {
	if s == nil {
		return 0
	}
	return len(s.Rows)
}

// Remaining is what the key has not used of its allocation of a kind this
// period (what revoking it can give back), by model.Key's rule.
func (r Row) Remaining(kind model.Kind) int64 {
	k := model.Key{QueryAlloc: r.QueryAlloc, QueryUsed: r.QueryUsed, MutationAlloc: r.MutationAlloc, MutationUsed: r.MutationUsed}
	return k.Remaining(kind)
}
