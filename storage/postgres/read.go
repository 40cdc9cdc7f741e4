package postgres

import (
	"fmt"
	"time"

	"github.com/keydeck/keydeck/model"
)

// A key row's usage columns count the period that starts at its
// period_start; the verifier rolls them over when it next writes the row.
// Readers therefore count them only when period_start is the start of the
// account's period now, as SQLite's readers do: a key quiet since last
// month reads as unused without anyone writing it.

// currentPeriodStart is the SQL for the start (Unix seconds) of the current
// period of account a; a literal computed here, never taken from input.
func currentPeriodStart(now time.Time) string {
	return fmt.Sprintf("(CASE a.period WHEN 'none' THEN 0 ELSE %d END)", model.PeriodMonthly.Start(now).Unix())
}

// usedSQL is the current-period usage of one counter ("query", "mutation"
// or "credits") of key k of account a.
func usedSQL(now time.Time, counter string) string {
	return fmt.Sprintf("(CASE WHEN k.period_start = %s THEN k.%s_used ELSE 0 END)", currentPeriodStart(now), counter)
}

// keySelect is SELECT <the columns scanKey reads, then extra> FROM keys k
// JOIN accounts a; the caller adds WHERE.
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

// holdsCols sums what keys k of account a hold (model.Holds: an active key
// or one that kept its allocation holds max(allocation, used), any other
// what it used this period) and counts them by status.
func holdsCols(now time.Time) string {
	q, m := usedSQL(now, "query"), usedSQL(now, "mutation")
	return `COALESCE(SUM(CASE WHEN k.status = 'active' OR k.keeps_allocation THEN GREATEST(k.query_alloc, ` + q + `) ELSE ` + q + ` END), 0)::bigint,
	COALESCE(SUM(CASE WHEN k.status = 'active' OR k.keeps_allocation THEN GREATEST(k.mutation_alloc, ` + m + `) ELSE ` + m + ` END), 0)::bigint,
	count(*) FILTER (WHERE k.status = 'active'), count(*) FILTER (WHERE k.status = 'revoked')`
}

// holdsQuery sums what one account's keys hold; one argument, the
// account id.
func holdsQuery(now time.Time) string {
	return `SELECT ` + holdsCols(now) + keyFromSQL + `WHERE k.account_id = $1`
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMs(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMs(*v)
	return &t
}
