package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// Account is GET /v1/account.
func (c *Client) Account(ctx context.Context) (model.Account, error) {
	var a model.Account
	if err := c.call(ctx, http.MethodGet, []string{"v1", "account"}, nil, nil, &a, true); err != nil {
		return model.Account{}, err
	}
	return c.cleanAccount(a)
}

// ListKeys is GET /v1/keys.
func (c *Client) ListKeys(ctx context.Context, opt storage.ListOptions) (storage.KeyPage, error) {
	q := url.Values{}
	if opt.IncludeRevoked {
		q.Set("include_revoked", "true")
	}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("name", opt.Name)
	set("q", opt.Query)
	set("sort", string(opt.Sort))
	set("cursor", opt.Cursor)
	if opt.Limit > 0 {
		q.Set("limit", strconv.Itoa(opt.Limit))
	}
	var p api.KeyPage
	if err := c.call(ctx, http.MethodGet, []string{"v1", "keys"}, q, nil, &p, true); err != nil {
		return storage.KeyPage{}, err
	}
	out := storage.KeyPage{Keys: make([]model.Key, len(p.Keys)), Total: p.Total, NextCursor: model.Printable(p.NextCursor)}
	for i, k := range p.Keys {
		m, err := c.key(k)
		if err != nil {
			return storage.KeyPage{}, err
		}
		out.Keys[i] = m
	}
	return out, nil
}

// GetKey is GET /v1/keys/{id}.
func (c *Client) GetKey(ctx context.Context, id string) (model.Key, error) {
	seg, err := c.segment(ctx, id)
	if err != nil {
		return model.Key{}, err
	}
	return c.keyAnswer(ctx, http.MethodGet, []string{"v1", "keys", seg}, nil)
}

// CreateKey is POST /v1/keys. The spec is checked here first, as the
// store does, because JSON cannot carry every bad name (invalid UTF-8).
func (c *Client) CreateKey(ctx context.Context, spec model.KeySpec) (model.Key, string, error) {
	if err := spec.Validate(); err != nil {
		return model.Key{}, "", err
	}
	req := api.CreateKeyRequest{Name: spec.Name, Permissions: spec.Permissions.List(), QueryAlloc: spec.QueryAlloc, MutationAlloc: spec.MutationAlloc}
	k, secret, err := c.keySecret(ctx, []string{"v1", "keys"}, req)
	return k, secret, namedDuplicate(err, spec.Name)
}

// namedDuplicate adds the name to a duplicate-name answer, as the SQLite
// store's error has it (the problem's detail does not carry it).
func namedDuplicate(err error, name string) error {
	if errors.Is(err, model.ErrDuplicateName) {
		return fmt.Errorf("%w: %q", model.ErrDuplicateName, name)
	}
	return err
}

// EditKey is PATCH /v1/keys/{id}.
func (c *Client) EditKey(ctx context.Context, id string, edit model.KeyEdit) (model.Key, error) {
	if err := edit.Validate(); err != nil {
		return model.Key{}, err
	}
	seg, err := c.segment(ctx, id)
	if err != nil {
		return model.Key{}, err
	}
	k, err := c.keyAnswer(ctx, http.MethodPatch, []string{"v1", "keys", seg}, api.FromEdit(edit))
	if edit.Name != nil {
		err = namedDuplicate(err, *edit.Name)
	}
	return k, err
}

// RegenerateKey is POST /v1/keys/{id}/regenerate.
func (c *Client) RegenerateKey(ctx context.Context, id string) (model.Key, string, error) {
	seg, err := c.segment(ctx, id)
	if err != nil {
		return model.Key{}, "", err
	}
	return c.keySecret(ctx, []string{"v1", "keys", seg, "regenerate"}, nil)
}

// RevokeKey is POST /v1/keys/{id}/revoke.
func (c *Client) RevokeKey(ctx context.Context, id string, keep bool) (model.Key, error) {
	seg, err := c.segment(ctx, id)
	if err != nil {
		return model.Key{}, err
	}
	return c.keyAnswer(ctx, http.MethodPost, []string{"v1", "keys", seg, "revoke"}, api.RevokeRequest{KeepAllocation: keep})
}

// ReleaseKey is POST /v1/keys/{id}/release.
func (c *Client) ReleaseKey(ctx context.Context, id string) (model.Key, error) {
	seg, err := c.segment(ctx, id)
	if err != nil {
		return model.Key{}, err
	}
	return c.keyAnswer(ctx, http.MethodPost, []string{"v1", "keys", seg, "release"}, nil)
}

// Usage is GET /v1/keys/{id}/usage?days=N.
func (c *Client) Usage(ctx context.Context, id string, days int) ([]model.UsageDay, error) {
	seg, err := c.segment(ctx, id)
	if err != nil {
		return nil, err
	}
	var a api.UsageAnswer
	q := url.Values{"days": {strconv.Itoa(days)}}
	if err := c.call(ctx, http.MethodGet, []string{"v1", "keys", seg, "usage"}, q, nil, &a, true); err != nil {
		return nil, err
	}
	for i, d := range a.Days {
		if a.Days[i], err = c.cleanDay(d); err != nil {
			return nil, err
		}
	}
	return a.Days, nil
}

// Audit is GET /v1/audit?key=&limit=.
func (c *Client) Audit(ctx context.Context, f storage.AuditFilter) ([]model.AuditEvent, error) {
	q := url.Values{}
	if f.Key != "" {
		q.Set("key", f.Key)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var a api.AuditAnswer
	if err := c.call(ctx, http.MethodGet, []string{"v1", "audit"}, q, nil, &a, true); err != nil {
		return nil, err
	}
	for i, e := range a.Events {
		var err error
		if a.Events[i], err = c.cleanEvent(e); err != nil {
			return nil, err
		}
	}
	return a.Events, nil
}

// Verify is POST /v1/verify; it needs no token. Denials are verdicts, as
// with the local store; only bad requests and failures are errors.
func (c *Client) Verify(ctx context.Context, req model.VerifyRequest) (model.VerifyResult, error) {
	body := api.VerifyRequest{ClientID: req.ClientID, ClientSecret: req.ClientSecret, Operation: req.Operation.String(), Credits: req.Credits}
	var a api.VerifyAnswer
	err := c.call(ctx, http.MethodPost, []string{"v1", "verify"}, nil, body, &a, false)
	if err == nil {
		if err := c.cleanVerify(a.ClientID, a.Period); err != nil {
			return model.VerifyResult{}, err
		}
		res := model.VerifyResult{
			Verdict:       model.Allowed,
			ClientID:      a.ClientID,
			Kind:          api.KindOf(a.Kind),
			Limit:         a.Limit,
			Remaining:     a.Remaining,
			Period:        model.Period(a.Period),
			PeriodSeconds: a.PeriodSeconds,
		}
		if a.ResetsAt != nil {
			res.ResetsAt = *a.ResetsAt
		}
		return res, nil
	}
	if errors.Is(err, model.ErrInvalidCredentials) {
		return model.VerifyResult{Verdict: model.DeniedUnauthorized}, nil
	}
	var p *api.Problem
	if !errors.As(err, &p) {
		return model.VerifyResult{}, err
	}
	if err := c.cleanVerify(p.ClientID, p.Period); err != nil {
		return model.VerifyResult{}, err
	}
	res := model.VerifyResult{ClientID: p.ClientID, Kind: api.KindOf(p.Kind), Period: model.Period(p.Period)}
	switch p.Type {
	case api.TypeForbidden:
		res.Verdict = model.DeniedForbidden
	case api.TypeQuotaExceeded:
		res.Verdict = model.DeniedQuota
	case api.TypeCreditsExhausted:
		res.Verdict = model.DeniedCredits
	default:
		return model.VerifyResult{}, err
	}
	if p.Limit != nil {
		res.Limit = *p.Limit
	}
	if p.Remaining != nil {
		res.Remaining = *p.Remaining
	}
	if p.PeriodSeconds != nil {
		res.PeriodSeconds = *p.PeriodSeconds
	}
	if p.ResetsAt != nil {
		res.ResetsAt = *p.ResetsAt
	}
	return res, nil
}

func (c *Client) keyAnswer(ctx context.Context, method string, segs []string, body any) (model.Key, error) {
	var a api.KeyAnswer
	if err := c.call(ctx, method, segs, nil, body, &a, true); err != nil {
		return model.Key{}, err
	}
	return c.key(a.Key)
}

func (c *Client) keySecret(ctx context.Context, segs []string, body any) (model.Key, string, error) {
	var a api.KeySecret
	if err := c.call(ctx, http.MethodPost, segs, nil, body, &a, true); err != nil {
		return model.Key{}, "", err
	}
	k, err := c.key(a.Key)
	if err != nil {
		return model.Key{}, "", err
	}
	if err := c.checkSecret(a.ClientSecret); err != nil {
		return model.Key{}, "", err
	}
	return k, a.ClientSecret, nil
}

func (c *Client) key(k api.Key) (model.Key, error) {
	m, err := k.Model()
	if err != nil {
		return model.Key{}, fmt.Errorf("remote: %s sent a key keydeck cannot read (%v)", c.host, err)
	}
	return c.cleanKey(m)
}

// segment is the path segment that names key id. An ID that a server's
// path cleaning would change (a name such as ".." or "a//b") is looked up
// by exact name first, with the store's rule: the active key wins, else
// the one revoked key, else the names are ambiguous.
func (c *Client) segment(ctx context.Context, id string) (string, error) {
	if pathSafe(id) {
		return id, nil
	}
	if id == "" {
		return "", model.KeyNotFound(id)
	}
	var ids []string
	cursor := ""
	for {
		p, err := c.ListKeys(ctx, storage.ListOptions{Name: id, IncludeRevoked: true, Limit: storage.MaxLimit, Cursor: cursor})
		if err != nil {
			return "", err
		}
		for _, k := range p.Keys {
			if k.Active() {
				return k.ClientID, nil
			}
			ids = append(ids, k.ClientID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	switch len(ids) {
	case 0:
		return "", model.KeyNotFound(id)
	case 1:
		return ids[0], nil
	}
	return "", &model.AmbiguousError{Name: id, Matches: ids}
}
