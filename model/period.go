package model

import (
	"fmt"
	"strings"
	"time"
)

// Period is how often an account's quotas reset.
type Period string

const (
	// PeriodMonthly resets at the start of each calendar month in UTC.
	PeriodMonthly Period = "monthly"
	// PeriodNone never resets.
	PeriodNone Period = "none"
)

// ParsePeriod reads "monthly" or "none".
func ParsePeriod(s string) (Period, error) {
	switch Period(strings.ToLower(strings.TrimSpace(s))) {
	case PeriodMonthly:
		return PeriodMonthly, nil
	case PeriodNone:
		return PeriodNone, nil
	}
	return "", &ValidationError{Field: "period", Msg: fmt.Sprintf("unknown period %q (use monthly or none)", Sanitize(s, 20))}
}

// Start is the start of the period that contains now. For PeriodNone it is
// the Unix epoch: the one period that never ends.
func (p Period) Start(now time.Time) time.Time {
	if p == PeriodNone {
		return time.Unix(0, 0).UTC()
	}
	now = now.UTC()
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// End is when the period that contains now resets; zero for PeriodNone.
func (p Period) End(now time.Time) time.Time {
	if p == PeriodNone {
		return time.Time{}
	}
	return p.Start(now).AddDate(0, 1, 0)
}

// Seconds is the length of the period that contains now, 0 for PeriodNone.
func (p Period) Seconds(now time.Time) int64 {
	if p == PeriodNone {
		return 0
	}
	return int64(p.End(now).Sub(p.Start(now)) / time.Second)
}

// Day is the UTC day label used by usage history, e.g. "2026-11-26".
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }
