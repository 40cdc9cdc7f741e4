package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

func (a *app) accountCmd() *cobra.Command {
	c := groupCmd("account", "Administer accounts, their API tokens and SSH keys (local only)",
		a.accountListCmd(),
		a.accountShowCmd(),
		a.accountCreateCmd(),
		a.accountSetCmd(),
		a.accountTokenCmd(),
		a.accountAddSSHKeyCmd(),
		a.accountSSHKeysCmd(),
		a.accountRemoveSSHKeyCmd(),
	)
	c.Long = `Administer accounts: totals, credits, quota period, the account API token
(for --remote and the HTTP API) and the SSH keys that open the account's screen
over SSH. Administration works on the database itself (a file, or PostgreSQL
with --db postgres://…), never through --remote.`
	return c
}

// withAdmin opens the local database for administration, runs f and
// closes it.
func (a *app) withAdmin(cmd *cobra.Command, f func(storage.Admin) error) error {
	adm, err := a.openAdmin(cmd)
	if err != nil {
		return err
	}
	defer func() { _ = adm.Close() }()
	return f(adm)
}

func (a *app) accountListCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [--json]",
		Short: "List accounts",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withAdmin(cmd, func(adm storage.Admin) error {
				accts, err := adm.Accounts(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					if accts == nil {
						accts = []model.Account{}
					}
					return writeJSON(a.stdout, struct {
						Accounts []model.Account `json:"accounts"`
					}{accts})
				}
				t := newTable(a.stdout, "NAME", "QUERY", "MUTATION", "CREDITS", "PERIOD", "KEYS", "CREATED")
				for _, ac := range accts {
					t.row(ac.Name, usedOf(ac.QueryHeld, ac.QueryTotal), usedOf(ac.MutationHeld, ac.MutationTotal),
						itoa(ac.Credits), string(ac.Period),
						fmt.Sprintf("%d active, %d revoked", ac.ActiveKeys, ac.RevokedKeys),
						fmtTime(ac.CreatedAt, timeShort))
				}
				return t.flush()
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (a *app) accountShowCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show [NAME] [--json]",
		Short: "Show an account: totals, what keys hold, credits (NAME defaults to --account)",
		Args:  rangeArgs(0, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := a.account
			if len(args) == 1 {
				name = args[0]
			}
			return a.withAdmin(cmd, func(adm storage.Admin) error {
				ac, err := adm.AccountByName(cmd.Context(), name)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, ac)
				}
				return a.printAccount(ac)
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (a *app) printAccount(ac model.Account) error {
	period := string(ac.Period)
	if ac.ResetsAt != nil {
		period += " (resets " + fmtTime(*ac.ResetsAt, timeLong) + ")"
	} else {
		period += " (never resets)"
	}
	return fields(a.stdout,
		"Account", ac.Name,
		"Query", fmt.Sprintf("%s allocated (%d unallocated)", usedOf(ac.QueryHeld, ac.QueryTotal), ac.QueryAvailable()),
		"Mutation", fmt.Sprintf("%s allocated (%d unallocated)", usedOf(ac.MutationHeld, ac.MutationTotal), ac.MutationAvailable()),
		"Credits", itoa(ac.Credits),
		"Period", period,
		"Keys", fmt.Sprintf("%d active, %d revoked", ac.ActiveKeys, ac.RevokedKeys),
		"Created", fmtTime(ac.CreatedAt, timeLong),
	)
}

// accountFlags are the settings create and set share.
type accountFlags struct {
	queryTotal, mutationTotal, credits, addCredits, period string
}

func (f *accountFlags) register(c *cobra.Command, withAdd bool) {
	fl := c.Flags()
	fl.StringVar(&f.queryTotal, "query-total", "", "the account's Query total")
	fl.StringVar(&f.mutationTotal, "mutation-total", "", "the account's Mutation total")
	fl.StringVar(&f.credits, "credits", "", "set the credit balance")
	if withAdd {
		fl.StringVar(&f.addCredits, "add-credits", "", "add to the credit balance (to lower it, set --credits)")
	}
	fl.StringVar(&f.period, "period", "", "quota period: monthly (calendar month, UTC) or none (never resets)")
}

func (f *accountFlags) update(cmd *cobra.Command) (model.AccountUpdate, error) {
	var u model.AccountUpdate
	var err error
	if u.QueryTotal, err = quotaFlag(cmd, "query-total", f.queryTotal); err != nil {
		return u, err
	}
	if u.MutationTotal, err = quotaFlag(cmd, "mutation-total", f.mutationTotal); err != nil {
		return u, err
	}
	if u.Credits, err = quotaFlag(cmd, "credits", f.credits); err != nil {
		return u, err
	}
	if cmd.Flags().Changed("add-credits") {
		if u.Credits != nil {
			return u, usageErrorf("give --credits or --add-credits, not both")
		}
		// Only additions: a sign on a number flag is refused everywhere,
		// and --credits sets a lower balance exactly.
		if strings.HasPrefix(f.addCredits, "-") && allDigits(f.addCredits[1:]) {
			return u, usageErrorf("--add-credits: cannot be negative; give a whole number from 0 to %d, or set a lower balance with --credits", int64(model.MaxQuota))
		}
		if u.AddCredits, err = quotaFlag(cmd, "add-credits", f.addCredits); err != nil {
			return u, err
		}
	}
	if cmd.Flags().Changed("period") {
		p, err := model.ParsePeriod(f.period)
		if err != nil {
			return u, usageErrorf("--period: %v", err)
		}
		u.Period = &p
	}
	return u, nil
}

func (a *app) accountCreateCmd() *cobra.Command {
	var f accountFlags
	c := &cobra.Command{
		Use:   "create NAME [--query-total Q] [--mutation-total M] [--credits C] [--period monthly|none]",
		Short: "Create an account and print its first API token, once",
		Long: fmt.Sprintf(`Create an account and print its first API token, once (keydeck keeps only a
digest). Unset totals take the defaults: query %d, mutation %d, credits %d,
period monthly.`, model.DefaultQueryTotal, model.DefaultMutationTotal, model.DefaultCredits),
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := f.update(cmd)
			if err != nil {
				return err
			}
			return a.withAdmin(cmd, func(adm storage.Admin) error {
				ac, token, err := adm.CreateAccount(cmd.Context(), a.actor(), args[0], set)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Created account %q (query %d, mutation %d, credits %d, period %s)\n",
					ac.Name, ac.QueryTotal, ac.MutationTotal, ac.Credits, ac.Period)
				a.printToken(token)
				return nil
			})
		},
	}
	f.register(c, false)
	return c
}

// printToken shows a fresh account API token once, with a warning.
func (a *app) printToken(token string) {
	fmt.Fprintln(a.stderr, "Warning: the API token is shown only this once; store it now (keydeck keeps only a digest).")
	_ = fields(a.stdout, "API token", token)
}

func (a *app) accountSetCmd() *cobra.Command {
	var f accountFlags
	c := &cobra.Command{
		Use:   "set NAME [--query-total Q] [--mutation-total M] [--credits C | --add-credits C] [--period monthly|none]",
		Short: "Change an account's totals, credits or period",
		Long: `Change an account's totals, credits or period. A total below what the keys
hold is refused, and the message says how much they hold.`,
		Example: `  keydeck account set default --query-total 60 --mutation-total 40
  keydeck account set default --add-credits 500`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := f.update(cmd)
			if err != nil {
				return err
			}
			if set == (model.AccountUpdate{}) {
				return usageErrorf("account set: nothing to change; give --query-total, --mutation-total, --credits, --add-credits or --period")
			}
			return a.withAdmin(cmd, func(adm storage.Admin) error {
				ac, err := adm.UpdateAccount(cmd.Context(), a.actor(), args[0], set)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Updated account %q\n", ac.Name)
				return a.printAccount(ac)
			})
		},
	}
	f.register(c, true)
	return c
}

func (a *app) accountTokenCmd() *cobra.Command {
	var rotate, yes bool
	c := &cobra.Command{
		Use:   "token NAME --rotate [--yes]",
		Short: "Issue a new account API token (the old one stops working)",
		Long: `Issue a new account API token and print it once. keydeck stores only a digest
of the token, so the current one can never be shown again: --rotate replaces it,
and the previous token stops working immediately.`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !rotate {
				return usageErrorf("account token: the current token cannot be shown again (only its digest is stored); pass --rotate to replace it with a new one")
			}
			return a.withAdmin(cmd, func(adm storage.Admin) error {
				ac, err := adm.AccountByName(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if err := a.confirm(cmd.Context(), yes, "token --rotate",
					fmt.Sprintf("Replace the API token of account %q? The current token stops working immediately.", ac.Name)); err != nil {
					return err
				}
				token, err := adm.RotateToken(cmd.Context(), a.actor(), ac.Name)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "New API token for account %q\n", ac.Name)
				a.printToken(token)
				return nil
			})
		},
	}
	c.Flags().BoolVar(&rotate, "rotate", false, "replace the account's token with a new one")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return c
}

func (a *app) accountAddSSHKeyCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "add-ssh-key NAME PUBKEY_FILE",
		Short:   "Let an SSH public key open the account's screen over SSH (- reads stdin)",
		Example: `  keydeck account add-ssh-key default ~/.ssh/id_ed25519.pub`,
		Args:    exactArgs("NAME", "PUBKEY_FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			line, err := a.readPublicKey(args[1])
			if err != nil {
				return err
			}
			key, err := model.ParseAuthorizedKey(line)
			if err != nil {
				return err
			}
			key.Account = args[0]
			return a.withAdmin(cmd, func(adm storage.Admin) error {
				k, err := adm.AddSSHKey(cmd.Context(), a.actor(), args[0], key)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Added SSH key %s %s to account %q\n", k.Fingerprint, k.Comment, k.Account)
				return nil
			})
		},
	}
}

// readPublicKey returns the one authorized_keys line in file ("-" for
// stdin), skipping blank and # lines.
func (a *app) readPublicKey(file string) ([]byte, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(a.stdin, 64<<10))
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the public key: %w", err)
	}
	if bytes.Contains(data, []byte("PRIVATE KEY")) {
		return nil, fmt.Errorf("%s is a private key; give the public key instead (usually %s.pub)", sanitize(file), sanitize(file))
	}
	var keys [][]byte
	for l := range bytes.SplitSeq(data, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		keys = append(keys, l)
	}
	switch len(keys) {
	case 0:
		return nil, fmt.Errorf("%s holds no public key", sanitize(file))
	case 1:
		return keys[0], nil
	}
	return nil, fmt.Errorf("%s holds %d lines; give one public key per call", sanitize(file), len(keys))
}

func (a *app) accountSSHKeysCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "ssh-keys NAME [--json]",
		Short: "List the SSH keys that open the account's screen",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(cmd, func(adm storage.Admin) error {
				keys, err := adm.SSHKeys(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if asJSON {
					if keys == nil {
						keys = []model.SSHKey{}
					}
					return writeJSON(a.stdout, struct {
						SSHKeys []model.SSHKey `json:"ssh_keys"`
					}{keys})
				}
				if len(keys) == 0 {
					fmt.Fprintf(a.stdout, "Account %q has no SSH keys. Add one with: keydeck account add-ssh-key %s ~/.ssh/id_ed25519.pub\n", args[0], args[0])
					return nil
				}
				t := newTable(a.stdout, "FINGERPRINT", "COMMENT", "ADDED")
				for _, k := range keys {
					t.row(k.Fingerprint, k.Comment, fmtTime(k.AddedAt, timeShort))
				}
				return t.flush()
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (a *app) accountRemoveSSHKeyCmd() *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:   "remove-ssh-key NAME FINGERPRINT [--yes]",
		Short: "Stop an SSH key from opening the account's screen",
		Args:  exactArgs("NAME", "FINGERPRINT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(cmd, func(adm storage.Admin) error {
				keys, err := adm.SSHKeys(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if !slices.ContainsFunc(keys, func(k model.SSHKey) bool { return k.Fingerprint == args[1] }) {
					return &model.NotFoundError{Kind: model.ErrSSHKeyNotFound, ID: args[1]}
				}
				if err := a.confirm(cmd.Context(), yes, "remove-ssh-key",
					fmt.Sprintf("Remove SSH key %s from account %q? Sessions with it will be refused.", sanitize(args[1]), sanitize(args[0]))); err != nil {
					return err
				}
				if err := adm.RemoveSSHKey(cmd.Context(), a.actor(), args[0], args[1]); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Removed SSH key %s from account %q\n", sanitize(args[1]), args[0])
				return nil
			})
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return c
}
