package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/tui"
)

// Environment variables the command line reads.
const (
	envDB       = "KEYDECK_DB"
	envRemote   = "KEYDECK_REMOTE"
	envToken    = "KEYDECK_TOKEN"
	envSecret   = "KEYDECK_SECRET"
	envLogLevel = "KEYDECK_LOG_LEVEL"
	envMouse    = "KEYDECK_MOUSE"
)

// app is one invocation of the command line: its standard streams, its
// environment and the global flags. Nothing of it lives in package state.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	// Global flags, as parsed; environment fallbacks are applied where they
	// are read (dbTarget, remoteURL, credential).
	db       string
	account  string
	remote   string
	token    string
	insecure bool
	logLevel string
	mouse    bool

	lines *bufio.Reader // stdin, read line by line (secrets, confirmations)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
}

// rootCmd builds the whole command tree.
func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "keydeck",
		Short: "Self-hosted API-key manager with a keyboard-driven terminal UI",
		Long: `keydeck manages API keys: a public Client ID and a once-shown Client Secret,
read/write/delete permissions, and per-key Query and Mutation quotas carved out
of an account total.

Run keydeck without a command to open the terminal UI.`,
		Args:          noArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, out, err := tuiStreams(cmd)
			if err != nil {
				return err
			}
			return a.withStore(cmd, func(st storage.Store) error {
				return runTUI(cmd, st, tui.Options{Source: a.tuiSource(cmd), Mouse: a.useMouse(cmd)}, in, out)
			})
		},
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	pf := root.PersistentFlags()
	pf.StringVar(&a.db, "db", "", "database file, or a PostgreSQL URL postgres://… (env "+envDB+"; default $XDG_DATA_HOME/keydeck/keydeck.db)")
	pf.StringVar(&a.account, "account", "default", "account whose keys to manage (local mode)")
	pf.StringVar(&a.remote, "remote", "", "URL of a keydeck server to use instead of the local file (env "+envRemote+")")
	pf.StringVar(&a.token, "token", "", "account API token for --remote; - reads it from stdin (env "+envToken+")")
	pf.BoolVar(&a.mouse, "mouse", false, "terminal UI: the wheel scrolls, a click selects (env "+envMouse+"=1); off by default because it stops the terminal selecting text, such as a secret, with the mouse (except on the reveal screen)")
	pf.BoolVar(&a.insecure, "insecure", false, "allow a plain http:// --remote URL that is not loopback")
	pf.StringVar(&a.logLevel, "log-level", "", "diagnostics on stderr: debug, info, warn, error or off (env "+envLogLevel+"; default off, error for serve)")

	root.AddCommand(
		a.keysCmd(),
		a.accountCmd(),
		a.verifyCmd(),
		a.auditCmd(),
		a.backupCmd(),
		a.copyCmd(),
		a.versionCmd(),
		a.serveCmd(),
	)
	// Use lines already show their flags.
	var plain func(*cobra.Command)
	plain = func(c *cobra.Command) {
		c.DisableFlagsInUseLine = true
		for _, s := range c.Commands() {
			plain(s)
		}
	}
	plain(root)
	return root
}

// cmdName is the command's path without "keydeck", for messages.
func cmdName(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// groupCmd is a command that only holds subcommands: without one it prints
// help, with an unknown one it is a usage error.
func groupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q (see %s --help)", sanitize(args[0]), cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	c.AddCommand(subs...)
	return c
}

// Argument checks that report usage errors (exit status 2).

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unknown command %q for %q (see %s --help)", sanitize(args[0]), cmd.CommandPath(), cmd.CommandPath())
	}
	return nil
}

func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return usageErrorf("%s: missing %s (usage: %s)", cmdName(cmd), strings.Join(names[len(args):], " "), cmd.UseLine())
		}
		if len(args) > len(names) {
			return usageErrorf("%s: unexpected argument %q (usage: %s)", cmdName(cmd), sanitize(args[len(names)]), cmd.UseLine())
		}
		return nil
	}
}

func rangeArgs(minN int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < minN {
			return usageErrorf("%s: missing %s (usage: %s)", cmdName(cmd), strings.Join(names[len(args):minN], " "), cmd.UseLine())
		}
		if len(args) > len(names) {
			return usageErrorf("%s: unexpected argument %q (usage: %s)", cmdName(cmd), sanitize(args[len(names)]), cmd.UseLine())
		}
		return nil
	}
}

// actor names the local OS user in audit events: "os:<username>".
func (a *app) actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "os:" + u.Username
	}
	if n := a.getenv("USER"); n != "" {
		return "os:" + n
	}
	return "os:uid-" + strconv.Itoa(os.Getuid())
}

// logger writes diagnostics to stderr at the level of --log-level.
func (a *app) logger(cmd *cobra.Command) (*slog.Logger, error) {
	lvl := a.logLevel
	if !cmd.Flags().Changed("log-level") {
		if v := a.getenv(envLogLevel); v != "" {
			lvl = v
		}
	}
	if lvl == "" && cmd.Name() == "serve" {
		// A server has no one-line error to tell of a failing store.
		lvl = "error"
	}
	var level slog.Level
	switch strings.ToLower(strings.TrimSpace(lvl)) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	case "", "off", "none":
		// Off by default: an error is reported once, as the command's
		// one-line message; the store's own log would repeat it.
		return slog.New(slog.DiscardHandler), nil
	default:
		return nil, usageErrorf("--log-level: unknown level %q (use debug, info, warn, error or off)", sanitize(lvl))
	}
	var out io.Writer = a.stderr
	if secrets := a.dbSecrets(); len(secrets) > 0 {
		out = hidingWriter{a.stderr, secrets}
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})), nil
}

// stdinIsTerminal reports whether a person can answer a question on stdin.
func (a *app) stdinIsTerminal() bool {
	f, ok := a.stdin.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// readLine reads one line from stdin, without its line ending. It gives up
// when ctx ends (Ctrl-C at a prompt), since SIGINT is caught for serve's
// sake and would otherwise leave the read waiting.
func (a *app) readLine(ctx context.Context) (string, error) {
	if a.lines == nil {
		a.lines = bufio.NewReaderSize(a.stdin, 4096)
	}
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := a.lines.ReadString('\n')
		done <- result{line, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if r.err != nil && !(errors.Is(r.err, io.EOF) && r.line != "") {
		if errors.Is(r.err, io.EOF) {
			return "", io.EOF
		}
		return "", fmt.Errorf("reading stdin: %w", r.err)
	}
	return strings.TrimRight(r.line, "\r\n"), nil
}

// credential returns a secret or token given by a flag, by "-" (one line
// of stdin) or by an environment variable, in that order. The value is
// never echoed in any message.
func (a *app) credential(cmd *cobra.Command, flag, value, env string) (string, error) {
	if !cmd.Flags().Changed(flag) {
		value = a.getenv(env)
	}
	if value == "-" {
		line, err := a.readLine(cmd.Context())
		if errors.Is(err, io.EOF) {
			return "", usageErrorf("--%s -: nothing on stdin", flag)
		}
		if err != nil {
			return "", err
		}
		value = line
	}
	return strings.TrimSpace(value), nil
}

// errCancelled is the answer "no" to a confirmation.
var errCancelled = errors.New("cancelled; nothing was changed")

// confirm asks a yes/no question on a terminal. With --yes it does not
// ask; without a terminal it refuses, since nobody can answer.
func (a *app) confirm(ctx context.Context, yes bool, what, question string) error {
	if yes {
		return nil
	}
	if !a.stdinIsTerminal() {
		return usageErrorf("%s needs confirmation and stdin is not a terminal; pass --yes to confirm", what)
	}
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	answer, err := a.readLine(ctx)
	if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
		fmt.Fprintln(a.stderr)
	}
	if errors.Is(err, io.EOF) {
		return errCancelled
	}
	if err != nil {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return errCancelled
}
