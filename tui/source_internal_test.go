package tui

import "testing"

// A source that does not fit the header keeps what tells databases apart:
// host, port, database and schema for a URL, the file name for a path.
func TestShortenSource(t *testing.T) {
	for _, c := range []struct {
		src  string
		n    int
		want string
	}{
		{"postgres://127.0.0.1:46458/postgres?search_path=try1&sslmode=disable", 40, "127.0.0.1:46458/postgres (try1)"},
		{"postgres://db.internal:5432/keydeck?sslmode=require", 30, "db.internal:5432/keydeck"},
		{"postgres://db.internal:5432/keydeck?sslmode=require", 12, "db.internal…"},
		{"https://keys.example.com", 40, "https://keys.example.com"},
		{"/home/ana/.local/share/keydeck/keydeck.db", 15, "…eck/keydeck.db"},
	} {
		if got := shortenSource(c.src, c.n); got != c.want {
			t.Errorf("shortenSource(%q, %d) = %q, want %q", c.src, c.n, got, c.want)
		}
	}
}
