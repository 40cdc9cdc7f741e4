package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/keydeck/keydeck/model"
)

// Readers see a key's usage as what is folded into its row plus what is
// still pending in pending_usage for the current period. The SQL reads the
// rows (usage from an earlier period reads as zero); what is pending is
// added in Go from one small query (pending_usage holds about a second of
// commits), since joining it in SQL made the planner scan it once per key.

// curPeriodStart is the SQL for the start (Unix seconds) of the current
// period of account a; a literal, computed here, never taken from input.
func curPeriodStart(now time.Time) string {
	return fmt.Sprintf("(CASE a.period WHEN 'none' THEN 0 ELSE %d END)", model.PeriodMonthly.Start(now).Unix())
}

// usedSQL is the folded current-period usage of one counter ("query",
// "mutation" or "credits").
func usedSQL(now time.Time, counter string) string {
	return fmt.Sprintf("(CASE WHEN k.period_start = %s THEN k.%s_used ELSE 0 END)", curPeriodStart(now), counter)
}

// keySelect is SELECT <the columns scanKey reads> FROM keys k, accounts a;
// the caller adds WHERE.
func keySelect(now time.Time) string {
	return `SELECT k.id, a.name, k.name, k.client_id, k.secret_hint, k.secret_rotated_at, k.permissions,
	k.query_alloc, k.mutation_alloc, ` + usedSQL(now, "query") + `, ` + usedSQL(now, "mutation") + `, ` + usedSQL(now, "credits") + `,
	k.created_at, COALESCE(k.last_used_at, 0), k.status, k.revoked_at, k.keeps_allocation, a.period` + keyFromSQL
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
	q, m, c, lastUsed int64
	status            model.Status
	keeps             bool
	qAlloc, mAlloc    int64
	qBase, mBase      int64
}

// pendingFor reads what is pending for the current period of one account's
// keys (every account's when accountID is 0).
func pendingFor(ctx context.Context, q queryer, now time.Time, accountID int64) (map[int64]pendingKey, error) {
	rows, err := q.QueryContext(ctx, `SELECT p.key_id, p.q, p.m, p.c, p.lu, k.status, k.keeps_allocation, k.query_alloc, k.mutation_alloc, `+
		usedSQL(now, "query")+`, `+usedSQL(now, "mutation")+`
		FROM (SELECT value->>0 AS key_id, value->>6 AS ps, SUM(value->>2) AS q, SUM(value->>3) AS m,
			SUM(value->>4) AS c, MAX(value->>5) AS lu
			FROM pending_usage, json_each(pending_usage.deltas) GROUP BY 1, 2) p
		CROSS JOIN keys k ON k.id = p.key_id JOIN accounts a ON a.id = k.account_id
		WHERE p.ps = `+curPeriodStart(now)+` AND (?1 = 0 OR k.account_id = ?1)`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out map[int64]pendingKey
	for rows.Next() {
		var id int64
		var pk pendingKey
		if err := rows.Scan(&id, &pk.q, &pk.m, &pk.c, &pk.lastUsed, &pk.status, &pk.keeps, &pk.qAlloc, &pk.mAlloc, &pk.qBase, &pk.mBase); err != nil {
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
	pend, err := pendingFor(ctx, q, now, accountID)
	if err != nil || len(pend) == 0 {
		return err
	}
	for i := range keys {
		p, ok := pend[keys[i].ID]
		if !ok {
			continue
		}
		keys[i].QueryUsed += p.q
		keys[i].MutationUsed += p.m
		keys[i].CreditsUsed += p.c
		if p.lastUsed > 0 && (keys[i].LastUsedAt == nil || keys[i].LastUsedAt.UnixMilli() < p.lastUsed) {
			t := fromMs(p.lastUsed)
			keys[i].LastUsedAt = &t
		}
	}
	return nil
}

// heldPending is what pending usage adds to an account's holds.
func heldPending(pend map[int64]pendingKey) (q, m int64) {
	for _, p := range pend {
		q += model.Holds(p.status, p.keeps, p.qAlloc, p.qBase+p.q) - model.Holds(p.status, p.keeps, p.qAlloc, p.qBase)
		m += model.Holds(p.status, p.keeps, p.mAlloc, p.mBase+p.m) - model.Holds(p.status, p.keeps, p.mAlloc, p.mBase)
	}
	return q, m
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

// fold moves everything pending into keys and usage_days, inside the
// writer's transaction. Deltas of an earlier period than a key's row only
// reach the history; deltas of a later period restart the key's counters.
func (w *writer) fold(ctx context.Context, tx dbtx) error {
	rows, err := tx.QueryContext(ctx, `SELECT p.key_id, p.day, p.ps, p.q, p.m, p.c, p.lu,
		k.period_start, k.query_used, k.mutation_used, k.credits_used, COALESCE(k.last_used_at, 0)
		FROM (SELECT value->>0 AS key_id, value->>1 AS day, value->>6 AS ps, SUM(value->>2) AS q,
			SUM(value->>3) AS m, SUM(value->>4) AS c, MAX(value->>5) AS lu
			FROM pending_usage, json_each(pending_usage.deltas) GROUP BY 1, 2, 3) p
		JOIN keys k ON k.id = p.key_id ORDER BY p.key_id, p.ps, p.day`)
	if err != nil {
		return err
	}
	type counters struct{ id, ps, q, m, c, lu int64 }
	var keys []*counters
	var usage []byte
	var cur *counters
	for rows.Next() {
		var (
			id, ps, q, m, c, lu int64
			day                 string
			st                  counters
		)
		if err := rows.Scan(&id, &day, &ps, &q, &m, &c, &lu, &st.ps, &st.q, &st.m, &st.c, &st.lu); err != nil {
			rows.Close()
			return err
		}
		if cur == nil || cur.id != id {
			st.id = id
			cur = &st
			keys = append(keys, cur)
		}
		switch {
		case ps > cur.ps:
			cur.ps, cur.q, cur.m, cur.c = ps, q, m, c
		case ps == cur.ps:
			cur.q, cur.m, cur.c = cur.q+q, cur.m+m, cur.c+c
		}
		cur.lu = max(cur.lu, lu)
		usage = appendUsage(usage, id, day, q, m, c, 0, 0, 0, 0)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(keys) > 0 {
		b := []byte{'['}
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendInts(b, k.id, k.q, k.m, k.c, k.ps)
			b = b[:len(b)-1]
			b = append(b, ',')
			if k.lu > 0 {
				b = strconv.AppendInt(b, k.lu, 10)
			} else {
				b = append(b, "null"...)
			}
			b = append(b, ']')
		}
		b = append(b, ']')
		if _, err := w.stmts.updKey.ExecContext(ctx, string(b)); err != nil {
			return err
		}
		if _, err := w.stmts.upsertUsage.ExecContext(ctx, "["+string(usage)+"]"); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM pending_usage`)
	w.pendingRows = 0
	return err
}

// foldMemory folds this writer's own pending rows from what it kept in
// memory: the absolute counters of the keys they touched and their units
// per day. Valid because no other connection has committed since the
// in-memory copy was loaded (else invalidate would have folded from the
// log and cleared this state), so every pending row is this writer's.
func (w *writer) foldMemory(ctx context.Context, tx dbtx) error {
	if w.pendingRows == 0 {
		return nil
	}
	if len(w.foldKeys) > 0 {
		b := append(w.buf[:0], '[')
		for i, k := range w.foldKeys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendInts(b, k.id, k.qUsed, k.mUsed, k.cUsd, k.periodStart, k.lastUsed)
			k.toFold = false
		}
		b = append(b, ']')
		w.buf = b
		if _, err := w.stmts.updKey.ExecContext(ctx, string(b)); err != nil {
			return err
		}
		var u []byte
		for k, d := range w.foldUsage {
			u = appendUsage(u, k.keyID, k.day, d.queries, d.mutations, d.credits, 0, 0, 0, 0)
		}
		if _, err := w.stmts.upsertUsage.ExecContext(ctx, "["+string(u)+"]"); err != nil {
			return err
		}
	}
	if _, err := w.stmts.clearPending.ExecContext(ctx); err != nil {
		return err
	}
	w.foldKeys = w.foldKeys[:0]
	clear(w.foldUsage)
	w.pendingRows = 0
	return nil
}

// appendInts appends a JSON array of integers.
func appendInts(b []byte, vs ...int64) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return append(b, ']')
}

// appendUsage appends one usage_days row, comma-separated from the last.
func appendUsage(b []byte, keyID int64, day string, vs ...int64) []byte {
	if len(b) > 0 {
		b = append(b, ',')
	}
	b = append(b, '[')
	b = strconv.AppendInt(b, keyID, 10)
	b = append(b, `,"`...)
	b = append(b, day...)
	b = append(b, '"')
	for _, v := range vs {
		b = append(b, ',')
		b = strconv.AppendInt(b, v, 10)
	}
	return append(b, ']')
}
