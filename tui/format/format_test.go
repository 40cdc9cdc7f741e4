package format

import (
	"testing"
	"time"
)

func TestInt(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234", -12: "-12", 100000: "100,000"} {
		if got := Int(in); got != want {
			t.Errorf("Int(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestCompact(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1.0k", 1260: "1.3k", 12000: "12k", 123456: "123k", 999999: "1.0M", 1_200_000: "1.2M", 1_000_000_000_000: "1.0T"} {
		if got := Compact(in); got != want {
			t.Errorf("Compact(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestTimes(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	at := time.Date(2026, 11, 26, 13, 3, 5, 0, time.UTC)
	if got := Minute(at, loc); got != "2026-11-26 14:03 +01:00" {
		t.Errorf("Minute = %q", got)
	}
	if got := Stamp(at, loc); got != "2026-11-26 14:03:05 +01:00" {
		t.Errorf("Stamp = %q", got)
	}
	if got := Ago(at, at.Add(3*time.Hour)); got != "3h ago" {
		t.Errorf("Ago = %q", got)
	}
	if got := Ago(time.Time{}, at); got != "never" {
		t.Errorf("Ago(zero) = %q", got)
	}
}

func TestDetails(t *testing.T) {
	got := Details(`{"name":{"from":"a","to":"b"},"permissions":["read","write"],"query_allocation":2000,"keep_allocation":false}`)
	want := "keep allocation: false · name: a → b · permissions: read,write · query allocation: 2000"
	if got != want {
		t.Fatalf("Details = %q, want %q", got, want)
	}
	if Details("not json") != "not json" {
		t.Fatal("non-JSON details changed")
	}
}
