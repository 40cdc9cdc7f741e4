package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The TUI's header names the store: the file with the home folder as ~,
// or the server's URL; never a token.
func TestTUISource(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil || home == "/" {
		t.Skip("no home folder")
	}
	env := map[string]string{"KEYDECK_TOKEN": "kdt_secret-token-never-shown"}
	a := newApp(nil, io.Discard, io.Discard, func(k string) string { return env[k] })
	cmd := a.rootCmd()
	if err := cmd.ParseFlags([]string{"--db", filepath.Join(home, "x", "k.db")}); err != nil {
		t.Fatal(err)
	}
	if got, want := a.tuiSource(cmd), filepath.Join("~", "x", "k.db"); got != want {
		t.Errorf("local source %q, want %q", got, want)
	}

	a = newApp(nil, io.Discard, io.Discard, func(k string) string { return env[k] })
	cmd = a.rootCmd()
	if err := cmd.ParseFlags([]string{"--remote", "https://keys.example.com/", "--token", "kdt_other"}); err != nil {
		t.Fatal(err)
	}
	if got := a.tuiSource(cmd); got != "https://keys.example.com/" && got != "https://keys.example.com" {
		t.Errorf("remote source %q", got)
	}
}

// --mouse is opt-in: off by default, on with the flag or KEYDECK_MOUSE=1,
// and the flag wins over the environment.
func TestTUIMouseFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want bool
	}{
		{nil, "", false},
		{[]string{"--mouse"}, "", true},
		{nil, "1", true},
		{nil, "0", false},
		{[]string{"--mouse=false"}, "1", false},
	} {
		a := newApp(nil, io.Discard, io.Discard, func(k string) string {
			if k == envMouse {
				return c.env
			}
			return ""
		})
		cmd := a.rootCmd()
		if err := cmd.ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		if got := a.useMouse(cmd); got != c.want {
			t.Errorf("%v with %s=%q: mouse %v, want %v", c.args, envMouse, c.env, got, c.want)
		}
	}
}
