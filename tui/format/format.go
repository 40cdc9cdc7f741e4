// Package format turns numbers and times into the short text the screens
// show. Pure functions, no state.
package format

import (
	"charm.land/lipgloss/v2"
	"encoding/json"
	"fmt"
	"github.com/charmbracelet/x/ansi"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Int writes n with thousands separators: 1234567 → "1,234,567".
func Int(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if len(s) <= 3 {
		if neg {
			return "-" + s
		}
		return s
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 && !(neg && b.Len() == 1) {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// Compact writes n in at most five characters: 999, 1.2k, 12k, 123k, 1.2M,
// 12G, 1.0T.
func Compact(n int64) string {
	if n < 0 {
		return "-" + Compact(-n)
	}
	if n < 1000 {
		return strconv.FormatInt(n, 10)
	}
	units := []string{"k", "M", "G", "T"}
	v := float64(n)
	for _, u := range units {
		v /= 1000
		if v < 9.95 {
			return strconv.FormatFloat(v, 'f', 1, 64) + u
		}
		if v < 999.5 {
			return strconv.FormatFloat(v, 'f', 0, 64) + u
		}
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + "T"
}

// UsedOf is "used/alloc", compact or exact.
func UsedOf(used, alloc int64, compact bool) string {
	if compact {
		return Compact(used) + "/" + Compact(alloc)
	}
	return Int(used) + "/" + Int(alloc)
}

// Date is a day in loc: "2026-11-26".
func Date(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format(time.DateOnly)
}

// Minute is a local time to the minute with its offset: "2026-11-26 14:03 +01:00".
func Minute(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2006-01-02 15:04 -07:00")
}

// Stamp is a local time to the second with its offset.
func Stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2006-01-02 15:04:05 -07:00")
}

// Ago is a short relative time: "just now", "5m ago", "3h ago", "12d ago".
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h ago"
	default:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d ago"
	}
}

// Wrap word-wraps plain text to width, styles each line and indents it by
// indent spaces.
func Wrap(s string, width, indent int, st lipgloss.Style) string {
	w := max(10, width-indent)
	lines := strings.Split(ansi.Wordwrap(s, w, ""), "\n")
	pad := strings.Repeat(" ", indent)
	for i, l := range lines {
		lines[i] = pad + st.Render(l)
	}
	return strings.Join(lines, "\n")
}

// Indent prefixes every line of s with n spaces.
func Indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// Details turns an audit event's JSON details into "name: value" pairs
// separated by spaces, so they read (and wrap) as text; anything that is
// not a JSON object comes back as it is.
func Details(js string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil || len(m) == 0 {
		return js
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = strings.ReplaceAll(k, "_", " ") + ": " + detailValue(m[k])
	}
	return strings.Join(parts, " · ")
}

func detailValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = detailValue(e)
		}
		return strings.Join(out, ",")
	case map[string]any:
		if from, ok := x["from"]; ok {
			if to, ok := x["to"]; ok {
				return detailValue(from) + " → " + detailValue(to)
			}
		}
		b, _ := json.Marshal(x)
		return string(b)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return "none"
	}
	return fmt.Sprint(v)
}
