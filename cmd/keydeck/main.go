// Command keydeck is a self-hosted API-key manager: a keyboard-driven
// terminal UI, a scriptable command line, an HTTP server and an SSH server
// over one SQLite file.
//
// The command line is thin: it parses flags, calls a storage.Store (or a
// storage.Admin for administration) and prints the answer. Which Store
// implementation is used is decided in one place, store.go.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit statuses. verify adds 3–6 (model.Verdict.ExitCode).
const (
	exitOK    = 0
	exitError = 1 // the command was understood but failed
	exitUsage = 2 // the command line is wrong
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run executes one keydeck command line and returns its exit status. It
// prints errors itself, as one line on stderr.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	a := newApp(stdin, stdout, stderr, getenv)
	root := a.rootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return a.report(err)
}

// usageError is a command line that cannot be understood: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitCodeError carries a specific exit status (verify's 3–6). A nil err
// means nothing more is printed.
type exitCodeError struct {
	code int
	err  error
}

func (e exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e exitCodeError) Unwrap() error { return e.err }

// report prints err as one line on stderr and maps it to an exit status.
func (a *app) report(err error) int {
	if err == nil {
		return exitOK
	}
	code := exitError
	var ue usageError
	var ce exitCodeError
	switch {
	case errors.As(err, &ce):
		code = ce.code
		if ce.err == nil {
			return code
		}
	case errors.As(err, &ue):
		code = exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(a.stderr, "keydeck: interrupted")
		return 130
	}
	fmt.Fprintln(a.stderr, "keydeck: "+oneLine(hideDBSecrets(err.Error(), a.dbSecrets())))
	return code
}

// oneLine folds a message onto a single line.
func oneLine(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}
