package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

func (a *app) verifyCmd() *cobra.Command {
	var clientID, secret, op, credits string
	c := &cobra.Command{
		Annotations: map[string]string{annTokenOptional: "yes"},
		Use:         "verify --client-id ID --secret S|- --op read|write|delete [--credits N]",
		Short:       "Check a key's credentials and consume one unit, as the server would",
		Long: `Check a key's credentials for an operation and, when allowed, consume one unit
of its quota (read: Query; write, delete: Mutation) and the given credits.

The secret comes from --secret, from stdin with --secret -, or from
KEYDECK_SECRET, so it need not appear in ps or shell history.

Exit status: 0 allowed, 3 invalid credentials (401), 4 missing permission
(403), 5 quota used up (429), 6 not enough credits (402), 1 any other error,
2 a usage error.`,
		Example: `  printf '%s\n' "$SECRET" | keydeck verify --client-id kdc_… --secret - --op read`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "client-id", "op"); err != nil {
				return err
			}
			operation, err := model.ParseOperation(op)
			if err != nil {
				return usageErrorf("--op: %v", err)
			}
			cost, err := parseQuota("credits", credits)
			if err != nil {
				return err
			}
			s, err := a.credential(cmd, "secret", secret, envSecret)
			if err != nil {
				return err
			}
			if s == "" {
				return usageErrorf("verify: missing the secret: --secret S, --secret - (stdin) or %s", envSecret)
			}
			// A malformed secret or Client ID is refused before any
			// database read.
			if model.CheckSecret(model.SecretPrefix, s) != nil || !model.ValidClientID(clientID) {
				return denied(model.DeniedUnauthorized, model.VerifyResult{})
			}

			var res model.VerifyResult
			err = a.withStore(cmd, func(st storage.Store) (err error) {
				res, err = st.Verify(cmd.Context(), model.VerifyRequest{
					ClientID:     clientID,
					ClientSecret: s,
					Operation:    operation,
					Credits:      cost,
				})
				return err
			})
			if err != nil {
				return err
			}
			if res.Verdict != model.Allowed {
				return denied(res.Verdict, res)
			}
			fmt.Fprintf(a.stdout, "allowed: %s, %d of %d %s units left%s\n",
				operation, res.Remaining, res.Limit, res.Kind, resetText(res))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&clientID, "client-id", "", "the key's Client ID (kdc_…)")
	f.StringVar(&secret, "secret", "", "the key's Client Secret, or - to read it from stdin (env "+envSecret+")")
	f.StringVar(&op, "op", "", "operation: read (Query), write or delete (Mutation)")
	f.StringVar(&credits, "credits", "0", "credits the request costs")
	return c
}

// denied is a verification that was not allowed: its HTTP status and
// reason on stderr, and the exit status of the verdict.
func denied(v model.Verdict, res model.VerifyResult) error {
	msg := fmt.Sprintf("%d %s", api.Status(v), v)
	if v == model.DeniedQuota {
		msg += resetText(res)
	}
	return exitCodeError{code: v.ExitCode(), err: errors.New(msg)}
}

func resetText(res model.VerifyResult) string {
	if res.ResetsAt.IsZero() {
		return " (the period never resets)"
	}
	return " (resets " + fmtTime(res.ResetsAt, timeLong) + ")"
}
