package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/keydeck/keydeck/model"
)

// Readers see a key's usage as what is folded into its row plus what is
// still pending in pending_usage for the current period. The SQL reads the
// rows (usage from an earlier period reads as zero); what is pending is
// added in Go from one small query (pending_usage holds about a second of
// commits), since joining it in SQL made the planner scan it once per key.

// currentPeriodStart is the SQL for the start (Unix seconds) of the current
// period of account a; a literal, computed here, never taken from input.
func currentPeriodStart(now time.Time) string {
	return fmt.Sprintf("(CASE a.period WHEN 'none' THEN 0 ELSE %d END)", model.PeriodMonthly.Start(now).Unix())
}

// usedSQL is the folded current-period usage of one counter ("query",
// "mutation" or "credits").
func usedSQL(now time.Time, counter string) string {
	return fmt.Sprintf("(CASE WHEN k.period_start = %s THEN k.%s_used ELSE 0 END)", currentPeriodStart(now), counter)
}

// keySelect is SELECT <the columns scanKey reads, then extra> FROM keys k,
// accounts a; the caller adds WHERE.
func keySelect(now time.Time, extra ...string) string {
	cols := `SELECT k.id, a.name, k.name, k.client_id, k.secret_hint, k.secret_rotated_at, k.permissions,
	k.query_alloc, k.mutation_alloc, ` + usedSQL(now, "query") + `, ` + usedSQL(now, "mutation") + `, ` + usedSQL(now, "credits") + `,
	k.created_at, COALESCE(k.last_used_at, 0), k.status, k.revoked_at, k.keeps_allocation, a.period`
	for _, c := range extra {
		cols += ", " + c
	}
	return cols + keyFromSQL
}

const keyFromSQL = ` FROM keys k JOIN accounts a ON a.id = k.account_id `

// holdsQuery sums what an account's keys hold by their folded usage
// (model.Holds) and counts its keys; one argument, the account id.
func holdsQuery(now time.Time) string {
	q, m := usedSQL(now, "query"), usedSQL(now, "mutation")
	return `SELECT
	COALESCE(SUM(CASE WHEN k.status = 'active' OR k.keeps_allocation = 1 THEN max(k.query_alloc, ` + q + `) ELSE ` + q + ` END), 0),
	COALESCE(SUM(CASE WHEN k.status = 'active' OR k.keeps_allocation = 1 THEN max(k.mutation_alloc, ` + m + `) ELSE ` + m + ` END), 0),
	COALESCE(SUM(k.status = 'active'), 0), COALESCE(SUM(k.status = 'revoked'), 0)` + keyFromSQL + `WHERE k.account_id = ?`
}

// pendingKey is what is pending for one key in its current period, with
// what its row says, to recompute what it holds.
type pendingKey struct {
	queries, mutations, credits int64
	lastUsed                    int64 // Unix ms
	status                      model.Status
	keepsAllocation             bool
	queryAlloc, mutationAlloc   int64
	queryFolded, mutationFolded int64 // the row's current-period usage
}

// pendingFor reads what is pending for the current period of one account's
// keys (every account's when accountID is 0).
func pendingFor(ctx context.Context, q queryer, now time.Time, accountID int64) (map[int64]pendingKey, error) {
	rows, err := q.QueryContext(ctx, `SELECT pending.key_id, pending.queries, pending.mutations, pending.credits,
		pending.last_used, k.status, k.keeps_allocation, k.query_alloc, k.mutation_alloc, `+
		usedSQL(now, "query")+`, `+usedSQL(now, "mutation")+`
		FROM (SELECT value->>0 AS key_id, value->>6 AS period_start, SUM(value->>2) AS queries,
			SUM(value->>3) AS mutations, SUM(value->>4) AS credits, MAX(value->>5) AS last_used
			FROM pending_usage, json_each(pending_usage.deltas) GROUP BY 1, 2) pending
		CROSS JOIN keys k ON k.id = pending.key_id JOIN accounts a ON a.id = k.account_id
		WHERE pending.period_start = `+currentPeriodStart(now)+` AND (?1 = 0 OR k.account_id = ?1)`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out map[int64]pendingKey
	for rows.Next() {
		var id int64
		var pk pendingKey
		if err := rows.Scan(&id, &pk.queries, &pk.mutations, &pk.credits, &pk.lastUsed, &pk.status, &pk.keepsAllocation,
			&pk.queryAlloc, &pk.mutationAlloc, &pk.queryFolded, &pk.mutationFolded); err != nil {
			return nil, err
		}
		if out == nil {
			out = map[int64]pendingKey{}
		}
		out[id] = pk
	}
	return out, rows.Err()
}

// addPending adds what is pending to keys read with keySelect.
func addPending(ctx context.Context, q queryer, now time.Time, accountID int64, keys []model.Key) error {
	if len(keys) == 0 {
		return nil
	}
	pending, err := pendingFor(ctx, q, now, accountID)
	if err != nil || len(pending) == 0 {
		return err
	}
	for i := range keys {
		p, ok := pending[keys[i].ID]
		if !ok {
			continue
		}
		keys[i].QueryUsed += p.queries
		keys[i].MutationUsed += p.mutations
		keys[i].CreditsUsed += p.credits
		if p.lastUsed > 0 && (keys[i].LastUsedAt == nil || keys[i].LastUsedAt.UnixMilli() < p.lastUsed) {
			t := fromMs(p.lastUsed)
			keys[i].LastUsedAt = &t
		}
	}
	return nil
}

// heldPending is what pending usage adds to an account's holds.
func heldPending(pending map[int64]pendingKey) (queries, mutations int64) {
	for _, p := range pending {
		queries += model.Holds(p.status, p.keepsAllocation, p.queryAlloc, p.queryFolded+p.queries) -
			model.Holds(p.status, p.keepsAllocation, p.queryAlloc, p.queryFolded)
		mutations += model.Holds(p.status, p.keepsAllocation, p.mutationAlloc, p.mutationFolded+p.mutations) -
			model.Holds(p.status, p.keepsAllocation, p.mutationAlloc, p.mutationFolded)
	}
	return queries, mutations
}

// pendingDays returns one key's pending usage per UTC day.
func pendingDays(ctx context.Context, q queryer, keyID int64) (map[string]model.UsageDay, error) {
	rows, err := q.QueryContext(ctx, `SELECT value->>1, SUM(value->>2), SUM(value->>3), SUM(value->>4)
		FROM pending_usage, json_each(pending_usage.deltas) WHERE value->>0 = ? GROUP BY 1`, keyID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]model.UsageDay{}
	for rows.Next() {
		var u model.UsageDay
		if err := rows.Scan(&u.Day, &u.Queries, &u.Mutations, &u.Credits); err != nil {
			return nil, err
		}
		out[u.Day] = u
	}
	return out, rows.Err()
}
