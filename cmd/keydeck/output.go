package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/keydeck/keydeck/model"
)

// Time layouts: local time with the UTC offset, so a reader in any zone
// knows what instant is meant.
const (
	timeShort = "2006-01-02 15:04 -07:00"
	timeLong  = "2006-01-02 15:04:05 -07:00"
)

func fmtTime(t time.Time, layout string) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(layout)
}

func fmtTimePtr(t *time.Time, layout, none string) string {
	if t == nil || t.IsZero() {
		return none
	}
	return fmtTime(*t, layout)
}

// usedOf is the "used/allocated" form of a quota.
func usedOf(used, alloc int64) string {
	return strconv.FormatInt(used, 10) + "/" + strconv.FormatInt(alloc, 10)
}

// sanitize makes user input safe to echo in a one-line message.
func sanitize(s string) string { return model.Sanitize(s, 80) }

// table writes aligned columns. Widths are counted in terminal cells, not
// runes (as text/tabwriter does), so a key name with wide (CJK) or
// combining characters does not push the columns after it out of line.
type table struct {
	w    io.Writer
	rows [][]string
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{w: w}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	r := make([]string, len(cells))
	for i, c := range cells {
		// A tab or newline in a cell would break the columns.
		r[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
	}
	t.rows = append(t.rows, r)
}

// flush writes the rows: every cell but a row's last is padded to its
// column's width plus two spaces.
func (t *table) flush() error {
	var widths []int
	for _, r := range t.rows {
		for i := 0; i < len(r)-1; i++ {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], ansi.StringWidth(r[i]))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-ansi.StringWidth(c)+2))
			}
		}
		b.WriteByte('\n')
	}
	t.rows = nil
	_, err := io.WriteString(t.w, b.String())
	return err
}

// fields writes "Label:  value" lines with the values aligned.
func fields(w io.Writer, kv ...string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[i], kv[i+1])
	}
	return tw.Flush()
}

// writeJSON prints v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
