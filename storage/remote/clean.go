package remote

import (
	"fmt"
	"time"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// A server's answers are untrusted text on their way to a terminal. Local
// mode can print names as they are because they were checked when written
// (model.NormalizeName); a hostile or broken server could send escape
// sequences, newlines or bidi overrides in any string to retitle the
// window, clear the screen, hide text or forge lines. So every string of
// an answer passes model.Printable here, as it is decoded, before the CLI
// prints it (as text or --json) or the TUI draws it; and fields with a
// fixed form (Client IDs, status, period, day, the secret) are checked
// instead: an answer that breaks one is refused in one line rather than
// passed on. Error texts from problem bodies are cut to one short line.

// maxErrorText bounds a string from a problem body that an error quotes.
const maxErrorText = 300

// malformed is the error for an answer that breaks a field's form. what
// is quoted sanitised and short, so the message stays one line.
func (c *Client) malformed(thing, field, what string) error {
	return fmt.Errorf("remote: %s sent a malformed %s (%s %q); is it a keydeck server?", c.host, thing, field, model.Sanitize(what, 40))
}

// cleanKey checks a key's Client ID and status and makes its text
// printable.
func (c *Client) cleanKey(k model.Key) (model.Key, error) {
	if !model.ValidClientID(k.ClientID) {
		return model.Key{}, c.malformed("key", "Client ID", k.ClientID)
	}
	if k.Status != model.StatusActive && k.Status != model.StatusRevoked {
		return model.Key{}, c.malformed("key", "status", string(k.Status))
	}
	k.Account = model.Printable(k.Account)
	k.Name = model.Printable(k.Name)
	k.SecretHint = model.Printable(k.SecretHint)
	return k, nil
}

func (c *Client) cleanAccount(a model.Account) (model.Account, error) {
	if a.Period != model.PeriodMonthly && a.Period != model.PeriodNone {
		return model.Account{}, c.malformed("account", "period", string(a.Period))
	}
	a.Name = model.Printable(a.Name)
	return a, nil
}

// cleanEvent checks an audit event's Client ID (absent for account
// changes) and makes its text printable. Actions are not checked against
// the known list: a newer server may add some.
func (c *Client) cleanEvent(e model.AuditEvent) (model.AuditEvent, error) {
	if e.ClientID != "" && !model.ValidClientID(e.ClientID) {
		return model.AuditEvent{}, c.malformed("audit event", "Client ID", e.ClientID)
	}
	e.Actor = model.Printable(e.Actor)
	e.Action = model.Printable(e.Action)
	e.Account = model.Printable(e.Account)
	e.KeyName = model.Printable(e.KeyName)
	e.Details = model.Printable(e.Details)
	return e, nil
}

func (c *Client) cleanDay(d model.UsageDay) (model.UsageDay, error) {
	if _, err := time.Parse(time.DateOnly, d.Day); err != nil {
		return model.UsageDay{}, c.malformed("usage row", "day", d.Day)
	}
	return d, nil
}

// checkSecret refuses a secret that is not one: it is printed once, so
// junk there would reach the terminal. The value is never quoted.
func (c *Client) checkSecret(s string) error {
	if model.CheckSecret(model.SecretPrefix, s) != nil {
		return fmt.Errorf("remote: %s sent a malformed Client Secret; is it a keydeck server?", c.host)
	}
	return nil
}

// cleanVerify checks what a verify answer says about the key. Both are
// empty in some answers (a denial before the key was known).
func (c *Client) cleanVerify(clientID, period string) error {
	if clientID != "" && !model.ValidClientID(clientID) {
		return c.malformed("verify answer", "Client ID", clientID)
	}
	if period != "" && period != string(model.PeriodMonthly) && period != string(model.PeriodNone) {
		return c.malformed("verify answer", "period", period)
	}
	return nil
}

// cleanProblem makes every string of an error answer printable and short
// before it becomes an error: the detail becomes the message of a
// validation error, the name and matches of an ambiguous one, and so on.
// Type is only compared with the known types, never shown.
func cleanProblem(p *api.Problem) {
	cut := func(s string) string { return model.Sanitize(s, maxErrorText) }
	p.Title = cut(p.Title)
	p.Detail = cut(p.Detail)
	p.Field = cut(p.Field)
	p.Resource = cut(p.Resource)
	p.ID = cut(p.ID)
	p.Kind = cut(p.Kind)
	p.Name = cut(p.Name)
	p.ClientID = cut(p.ClientID)
	p.Period = cut(p.Period)
	for i := range p.Matches {
		p.Matches[i] = cut(p.Matches[i])
	}
	for i := range p.Allow {
		p.Allow[i] = cut(p.Allow[i])
	}
}
