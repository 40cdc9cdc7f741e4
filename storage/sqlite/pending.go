package sqlite

import (
	"context"
	"strconv"
)

// The pending log: each commit appends one pending_usage row holding its
// batch's units (flush), and the writer folds the log into the key rows and
// usage_days every FlushInterval (foldMemory) or when it reloads (fold).
// Denials skip the log and go straight to usage_days.

// usageKey is one key's UTC day.
type usageKey struct {
	keyID int64
	day   string
}

// usageDelta is what a key's day gained since it was last written.
type usageDelta struct {
	queries, mutations, credits                int64
	denied401, denied403, denied429, denied402 int64
	lastUsed, periodStart                      int64 // Unix ms, Unix s
}

// flush writes what verifications changed into tx: account balances, one
// pending_usage row with this batch's units, and, when asked, the denials
// (straight into usage_days: they never count against a quota).
func (w *writer) flush(ctx context.Context, tx dbtx, denials bool) error {
	for id, a := range w.accounts {
		if !a.dirty {
			continue
		}
		if _, err := w.stmts.updateCredits.ExecContext(ctx, a.credits, id); err != nil {
			return err
		}
		a.dirty = false
	}
	if len(w.usage) > 0 {
		// [[key_id, day, queries, mutations, credits, last_used, period_start], …]
		b := w.buf[:0]
		for k, d := range w.usage {
			b = appendUsage(b, k.keyID, k.day, d.queries, d.mutations, d.credits, d.lastUsed, d.periodStart)
		}
		w.buf = b
		if err := w.insertPending(ctx, "["+string(b)+"]"); err != nil {
			return err
		}
		w.pendingRows++
		for _, d := range w.usage {
			*d = usageDelta{}
			w.spare = append(w.spare, d)
		}
		clear(w.usage)
	}
	if denials && len(w.denials) > 0 {
		var b []byte
		for k, d := range w.denials {
			if k.keyID == 0 {
				continue // unknown Client IDs: counted like the rest, kept nowhere
			}
			b = appendUsage(b, k.keyID, k.day, 0, 0, 0, d.denied401, d.denied403, d.denied429, d.denied402)
		}
		// Cleared by the caller once the commit succeeded.
		if len(b) > 0 {
			if _, err := w.stmts.upsertUsage.ExecContext(ctx, "["+string(b)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

// fold moves everything pending into keys and usage_days, inside the
// writer's transaction. Deltas of an earlier period than a key's row only
// reach the history; deltas of a later period restart the key's counters.
func (w *writer) fold(ctx context.Context, tx dbtx) error {
	rows, err := tx.QueryContext(ctx, `SELECT pending.key_id, pending.day, pending.period_start,
		pending.queries, pending.mutations, pending.credits, pending.last_used,
		k.period_start, k.query_used, k.mutation_used, k.credits_used, COALESCE(k.last_used_at, 0)
		FROM (SELECT value->>0 AS key_id, value->>1 AS day, value->>6 AS period_start, SUM(value->>2) AS queries,
			SUM(value->>3) AS mutations, SUM(value->>4) AS credits, MAX(value->>5) AS last_used
			FROM pending_usage, json_each(pending_usage.deltas) GROUP BY 1, 2, 3) pending
		JOIN keys k ON k.id = pending.key_id ORDER BY pending.key_id, pending.period_start, pending.day`)
	if err != nil {
		return err
	}
	// counters are a key row's: what it says, then what is folded into it.
	type counters struct{ id, periodStart, queries, mutations, credits, lastUsed int64 }
	var keys []*counters
	var usage []byte
	var cur *counters
	for rows.Next() {
		var (
			id    int64
			day   string
			delta counters // this day's pending units
			row   counters // the key's row
		)
		if err := rows.Scan(&id, &day, &delta.periodStart, &delta.queries, &delta.mutations, &delta.credits, &delta.lastUsed,
			&row.periodStart, &row.queries, &row.mutations, &row.credits, &row.lastUsed); err != nil {
			rows.Close()
			return err
		}
		if cur == nil || cur.id != id {
			row.id = id
			cur = &row
			keys = append(keys, cur)
		}
		switch {
		case delta.periodStart > cur.periodStart:
			cur.periodStart, cur.queries, cur.mutations, cur.credits = delta.periodStart, delta.queries, delta.mutations, delta.credits
		case delta.periodStart == cur.periodStart:
			cur.queries, cur.mutations, cur.credits = cur.queries+delta.queries, cur.mutations+delta.mutations, cur.credits+delta.credits
		}
		cur.lastUsed = max(cur.lastUsed, delta.lastUsed)
		usage = appendUsage(usage, id, day, delta.queries, delta.mutations, delta.credits, 0, 0, 0, 0)
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
			b = appendInts(b, k.id, k.queries, k.mutations, k.credits, k.periodStart)
			b = b[:len(b)-1]
			b = append(b, ',')
			if k.lastUsed > 0 {
				b = strconv.AppendInt(b, k.lastUsed, 10)
			} else {
				b = append(b, "null"...)
			}
			b = append(b, ']')
		}
		b = append(b, ']')
		if _, err := w.stmts.updateKeys.ExecContext(ctx, string(b)); err != nil {
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
			b = appendInts(b, k.id, k.queryUsed, k.mutationUsed, k.creditsUsed, k.periodStart, k.lastUsed)
			k.toFold = false
		}
		b = append(b, ']')
		w.buf = b
		if _, err := w.stmts.updateKeys.ExecContext(ctx, string(b)); err != nil {
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
