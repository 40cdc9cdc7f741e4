package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

func (a *app) keysCmd() *cobra.Command {
	return groupCmd("keys", "Create, inspect, change and revoke API keys",
		a.keysListCmd(),
		a.keysCreateCmd(),
		a.keysShowCmd(),
		a.keysEditCmd(),
		a.keysRegenerateCmd(),
		a.keysRevokeCmd(),
		a.keysReleaseCmd(),
		a.keysUsageCmd(),
	)
}

const idHelp = "ID is a Client ID (kdc_…) or an exact key name; an active key wins over revoked ones with the same name."

func (a *app) keysListCmd() *cobra.Command {
	var all, asJSON bool
	c := &cobra.Command{
		Use:   "list [--all] [--json]",
		Short: "List the account's keys (active ones unless --all)",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var keys []model.Key
			err := a.withStore(cmd, func(st storage.Store) (err error) {
				keys, err = listAll(cmd, st, all)
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				// Not api.KeyPage: the CLI pages through everything, so
				// there is no next_cursor.
				out := struct {
					Keys  []api.Key `json:"keys"`
					Total int       `json:"total"`
				}{Keys: make([]api.Key, 0, len(keys)), Total: len(keys)}
				for _, k := range keys {
					out.Keys = append(out.Keys, api.FromKey(k))
				}
				return writeJSON(a.stdout, out)
			}
			if len(keys) == 0 {
				fmt.Fprintln(a.stdout, "You have no API keys yet. Generate one with:")
				fmt.Fprintln(a.stdout, "  keydeck keys create --name Backend-Server-Key --perm read,write --query 100 --mutation 50")
				return nil
			}
			t := newTable(a.stdout, "NAME", "CLIENT ID", "PERMISSIONS", "QUERY", "MUTATION", "CREDITS", "CREATED", "LAST USED", "STATUS")
			for _, k := range keys {
				t.row(k.Name, k.ClientID, k.Permissions.String(),
					usedOf(k.QueryUsed, k.QueryAlloc), usedOf(k.MutationUsed, k.MutationAlloc),
					strconv.FormatInt(k.CreditsUsed, 10),
					fmtTime(k.CreatedAt, timeShort), fmtTimePtr(k.LastUsedAt, timeShort, "never"),
					statusText(k))
			}
			return t.flush()
		},
	}
	c.Flags().BoolVar(&all, "all", false, "include revoked keys")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (see the README for the shape)")
	return c
}

// listAll pages through every key.
func listAll(cmd *cobra.Command, st storage.Store, all bool) ([]model.Key, error) {
	var keys []model.Key
	opt := storage.ListOptions{IncludeRevoked: all, Sort: storage.SortCreated, Limit: storage.MaxLimit}
	for {
		page, err := st.ListKeys(cmd.Context(), opt)
		if err != nil {
			return nil, err
		}
		keys = append(keys, page.Keys...)
		if page.NextCursor == "" || len(page.Keys) == 0 {
			return keys, nil
		}
		opt.Cursor = page.NextCursor
	}
}

func statusText(k model.Key) string {
	if k.Active() {
		return string(model.StatusActive)
	}
	if k.KeepsAllocation {
		return "revoked (holds allocation)"
	}
	return string(model.StatusRevoked)
}

func (a *app) keysCreateCmd() *cobra.Command {
	var name, perm, query, mutation string
	var asJSON bool
	c := &cobra.Command{
		Use:   "create --name N --perm read,write,delete --query Q --mutation M [--json]",
		Short: "Create a key and print its Client Secret, once",
		Long: `Create a key. The Client Secret is printed once and never again: keydeck
keeps only its SHA-256 digest. The allocations are carved out of what the
account has unallocated.`,
		Example: `  keydeck keys create --name Backend-Server-Key --perm read,write --query 2000 --mutation 500`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "name", "perm", "query", "mutation"); err != nil {
				return err
			}
			spec := model.KeySpec{Name: name}
			var err error
			if spec.Permissions, err = parsePerm(perm); err != nil {
				return err
			}
			if spec.QueryAlloc, err = parseQuota("query", query); err != nil {
				return err
			}
			if spec.MutationAlloc, err = parseQuota("mutation", mutation); err != nil {
				return err
			}
			// Check before the database is even opened.
			if err := spec.Validate(); err != nil {
				return err
			}
			return a.withStore(cmd, func(st storage.Store) error {
				k, secret, err := st.CreateKey(cmd.Context(), spec)
				if err != nil {
					return err
				}
				return a.printSecret(asJSON, "Created key", k, secret)
			})
		},
	}
	f := c.Flags()
	f.StringVar(&name, "name", "", "key name, 1–64 printable characters (e.g. Backend-Server-Key)")
	f.StringVar(&perm, "perm", "", "permissions: a comma-separated subset of read, write, delete")
	f.StringVar(&query, "query", "", "Query allocation (reads)")
	f.StringVar(&mutation, "mutation", "", "Mutation allocation (writes and deletes)")
	f.BoolVar(&asJSON, "json", false, "print JSON {key, client_secret}")
	return c
}

// printSecret shows a fresh secret: on stdout, with the warning that it
// will not be shown again on stderr.
func (a *app) printSecret(asJSON bool, what string, k model.Key, secret string) error {
	fmt.Fprintln(a.stderr, "Warning: the Client Secret is shown only this once; store it now (keydeck keeps only a digest).")
	if asJSON {
		return writeJSON(a.stdout, api.KeySecret{Key: api.FromKey(k), ClientSecret: secret})
	}
	fmt.Fprintf(a.stdout, "%s %q (%s; query %d, mutation %d)\n", what, k.Name, k.Permissions, k.QueryAlloc, k.MutationAlloc)
	return fields(a.stdout,
		"Client ID", k.ClientID,
		"Client Secret", secret,
	)
}

func (a *app) keysShowCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show ID [--json]",
		Short: "Show one key",
		Long:  "Show one key. " + idHelp,
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withKey(cmd, args[0], keyStep{act: func(_ storage.Store, k model.Key) error {
				if asJSON {
					return writeJSON(a.stdout, api.FromKey(k))
				}
				return a.printKey(k)
			}})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (a *app) printKey(k model.Key) error {
	resets := "never (period none)"
	if k.ResetsAt != nil {
		resets = fmtTime(*k.ResetsAt, timeLong)
	}
	kv := []string{
		"Name", k.Name,
		"Client ID", k.ClientID,
		"Client Secret", "…" + k.SecretHint + " (hint; the secret is never shown again)",
		"Permissions", k.Permissions.String(),
		"Query", quotaText(k, model.KindQuery),
		"Mutation", quotaText(k, model.KindMutation),
		"Credits used", strconv.FormatInt(k.CreditsUsed, 10),
		"Status", statusText(k),
		"Created", fmtTime(k.CreatedAt, timeLong),
		"Last used", fmtTimePtr(k.LastUsedAt, timeLong, "never"),
		"Secret set", fmtTime(k.SecretRotatedAt, timeLong),
		"Period resets", resets,
	}
	if k.RevokedAt != nil {
		kv = append(kv, "Revoked", fmtTime(*k.RevokedAt, timeLong))
	}
	return fields(a.stdout, kv...)
}

// quotaText is "used/allocated used (N left)"; a revoked key has nothing
// left to use, whatever its allocation says.
func quotaText(k model.Key, kind model.Kind) string {
	t := usedOf(k.Used(kind), k.Alloc(kind)) + " used"
	if !k.Active() {
		return t
	}
	return fmt.Sprintf("%s (%d left)", t, k.Remaining(kind))
}

func (a *app) keysEditCmd() *cobra.Command {
	var name, perm, query, mutation string
	c := &cobra.Command{
		Use:   "edit ID [--name N] [--perm P] [--query Q] [--mutation M]",
		Short: "Change a key's name, permissions or allocations",
		Long: "Change a key's name, permissions or allocations. Allocations obey the account's\n" +
			"total; lowering one below what the key used this period is allowed and leaves\n" +
			"the key exhausted until the period resets. " + idHelp,
		Example: `  keydeck keys edit Backend-Server-Key --perm read --query 5000`,
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var edit model.KeyEdit
			if cmd.Flags().Changed("name") {
				edit.Name = &name
			}
			if cmd.Flags().Changed("perm") {
				p, err := parsePerm(perm)
				if err != nil {
					return err
				}
				edit.Permissions = &p
			}
			var err error
			if edit.QueryAlloc, err = quotaFlag(cmd, "query", query); err != nil {
				return err
			}
			if edit.MutationAlloc, err = quotaFlag(cmd, "mutation", mutation); err != nil {
				return err
			}
			if edit.Empty() {
				return usageErrorf("keys edit: nothing to change; give --name, --perm, --query or --mutation")
			}
			if err := edit.Validate(); err != nil {
				return err
			}
			// The store resolves the ID and refuses a revoked key itself.
			return a.withStore(cmd, func(st storage.Store) error {
				k, err := st.EditKey(cmd.Context(), args[0], edit)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Updated key %q\n", k.Name)
				return a.printKey(k)
			})
		},
	}
	f := c.Flags()
	f.StringVar(&name, "name", "", "new name")
	f.StringVar(&perm, "perm", "", "new permissions: a comma-separated subset of read, write, delete")
	f.StringVar(&query, "query", "", "new Query allocation")
	f.StringVar(&mutation, "mutation", "", "new Mutation allocation")
	return c
}

func (a *app) keysRegenerateCmd() *cobra.Command {
	var yes, asJSON bool
	c := &cobra.Command{
		Use:   "regenerate ID [--yes] [--json]",
		Short: "Replace a key's secret; the old one stops working at once",
		Long: "Replace a key's Client Secret and print the new one, once. The previous secret\n" +
			"is invalid immediately; the Client ID, allocations, usage and history stay. " + idHelp,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withKey(cmd, args[0], keyStep{
				need: activeKey,
				ask: func(k model.Key) string {
					return fmt.Sprintf("Regenerate the secret of %q (%s)? The previous secret stops working immediately.", k.Name, k.ClientID)
				},
				yes: yes,
				act: func(st storage.Store, k model.Key) error {
					k, secret, err := st.RegenerateKey(cmd.Context(), k.ClientID)
					if err != nil {
						return err
					}
					return a.printSecret(asJSON, "New secret for key", k, secret)
				},
			})
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON {key, client_secret}")
	return c
}

func (a *app) keysRevokeCmd() *cobra.Command {
	var yes, keep bool
	c := &cobra.Command{
		Use:   "revoke ID [--keep-allocation] [--yes]",
		Short: "Revoke a key for good",
		Long: "Revoke a key: its Client ID and secret stop working immediately and for good.\n" +
			"Usage history and audit events are kept. The unused allocation returns to the\n" +
			"account (the key holds what it used until the period resets) unless\n" +
			"--keep-allocation, which holds all of it until `keydeck keys release ID`. " + idHelp,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			alloc := "its unused allocation returns to the account"
			if keep {
				alloc = "its allocation stays held until released"
			}
			return a.withKey(cmd, args[0], keyStep{
				need: activeKey,
				ask: func(k model.Key) string {
					return fmt.Sprintf("Revoke %q (%s)? It stops working for good; %s.", k.Name, k.ClientID, alloc)
				},
				yes: yes,
				act: func(st storage.Store, k model.Key) error {
					k, err := st.RevokeKey(cmd.Context(), k.ClientID, keep)
					if err != nil {
						return err
					}
					if keep {
						fmt.Fprintf(a.stdout, "Revoked key %q (%s); it still holds query %d and mutation %d until `keydeck keys release %s`.\n",
							k.Name, k.ClientID, k.Holds(model.KindQuery), k.Holds(model.KindMutation), k.ClientID)
						return nil
					}
					fmt.Fprintf(a.stdout, "Revoked key %q (%s); its unused allocation is back in the account%s.\n", k.Name, k.ClientID, stillHeld(k))
					return nil
				},
			})
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	c.Flags().BoolVar(&keep, "keep-allocation", false, "keep the allocation held by the revoked key (free it later with keys release)")
	return c
}

func (a *app) keysReleaseCmd() *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:   "release ID [--yes]",
		Short: "Free the allocation a revoked key kept",
		Long:  "Free the allocation that a key revoked with --keep-allocation still holds. " + idHelp,
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withKey(cmd, args[0], keyStep{
				need: holdingKey,
				ask: func(k model.Key) string {
					return fmt.Sprintf("Release the allocation held by revoked key %q (%s)?", k.Name, k.ClientID)
				},
				yes: yes,
				act: func(st storage.Store, k model.Key) error {
					k, err := st.ReleaseKey(cmd.Context(), k.ClientID)
					if err != nil {
						return err
					}
					if held := stillHeld(k); held != "" {
						fmt.Fprintf(a.stdout, "Released the allocation of %q (%s); its unused part is back in the account%s.\n", k.Name, k.ClientID, held)
						return nil
					}
					fmt.Fprintf(a.stdout, "Released the allocation of %q (%s); it is back in the account.\n", k.Name, k.ClientID)
					return nil
				},
			})
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return c
}

func (a *app) keysUsageCmd() *cobra.Command {
	var days string
	var asJSON bool
	c := &cobra.Command{
		Use:   "usage ID [--days 30] [--json]",
		Short: "Show a key's usage per UTC day, denials included",
		Long:  "Show a key's usage per UTC day: queries, mutations, credits and denials (401, 403, 429, 402). " + idHelp,
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := parseWhole("days", days, 1, 366)
			if err != nil {
				return err
			}
			var k model.Key
			var rows []model.UsageDay
			err = a.withKey(cmd, args[0], keyStep{act: func(st storage.Store, found model.Key) (err error) {
				k = found
				rows, err = st.Usage(cmd.Context(), k.ClientID, int(n))
				return err
			}})
			if err != nil {
				return err
			}
			if asJSON {
				if rows == nil {
					rows = []model.UsageDay{}
				}
				return writeJSON(a.stdout, struct {
					ClientID string           `json:"client_id"`
					Name     string           `json:"name"`
					Days     []model.UsageDay `json:"days"`
				}{k.ClientID, k.Name, rows})
			}
			span := "today"
			if n > 1 {
				span = fmt.Sprintf("the last %d days", n)
			}
			fmt.Fprintf(a.stdout, "Usage of %q (%s), %s (UTC days)\n", k.Name, k.ClientID, span)
			t := newTable(a.stdout, "DAY (UTC)", "QUERIES", "MUTATIONS", "CREDITS", "DENIED 401", "403", "429", "402")
			var sum model.UsageDay
			for _, r := range rows {
				t.row(r.Day, itoa(r.Queries), itoa(r.Mutations), itoa(r.Credits),
					itoa(r.Denied401), itoa(r.Denied403), itoa(r.Denied429), itoa(r.Denied402))
				sum.Queries += r.Queries
				sum.Mutations += r.Mutations
				sum.Credits += r.Credits
				sum.Denied401 += r.Denied401
				sum.Denied403 += r.Denied403
				sum.Denied429 += r.Denied429
				sum.Denied402 += r.Denied402
			}
			t.row("total", itoa(sum.Queries), itoa(sum.Mutations), itoa(sum.Credits),
				itoa(sum.Denied401), itoa(sum.Denied403), itoa(sum.Denied429), itoa(sum.Denied402))
			return t.flush()
		},
	}
	c.Flags().StringVar(&days, "days", "30", "how many days, today included (1–366)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// stillHeld says what a revoked key that gave its allocation back still
// holds: the units it used this period, until the period resets. Saying
// "it is back" alone would hide them (the account's unallocated amount
// stays lower by that much).
func stillHeld(k model.Key) string {
	var parts []string
	if n := k.Holds(model.KindQuery); n > 0 {
		parts = append(parts, fmt.Sprintf("%d query", n))
	}
	if n := k.Holds(model.KindMutation); n > 0 {
		parts = append(parts, fmt.Sprintf("%d mutation", n))
	}
	if len(parts) == 0 {
		return ""
	}
	until := "until the period resets"
	if k.ResetsAt == nil {
		until = "(the period never resets)"
	}
	return "; what it used this period (" + strings.Join(parts, ", ") + ") stays held " + until
}
