package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// TypePrefix starts every problem type.
const TypePrefix = "tag:keydeck.dev,2026:"

// Problem types, by slug. The comment gives the HTTP status.
const (
	TypeBadRequest         = TypePrefix + "bad-request"            // 400: unreadable JSON, unknown or repeated member (with field); a gateway path not in canonical form
	TypeInvalidCredentials = TypePrefix + "invalid-credentials"    // 401: verify/gateway; the same for every reason
	TypeUnauthorized       = TypePrefix + "unauthorized"           // 401: management API token missing or wrong
	TypeCreditsExhausted   = TypePrefix + "credits-exhausted"      // 402
	TypeForbidden          = TypePrefix + "forbidden"              // 403
	TypeNotFound           = TypePrefix + "not-found"              // 404
	TypeNoSuchEndpoint     = TypePrefix + "no-such-endpoint"       // 404: the path is not an endpoint
	TypeMethodNotAllowed   = TypePrefix + "method-not-allowed"     // 405
	TypeAllocationExceeded = TypePrefix + "allocation-exceeded"    // 409, with kind, requested, available
	TypeKeyRevoked         = TypePrefix + "key-revoked"            // 409
	TypeKeyNotRevoked      = TypePrefix + "key-not-revoked"        // 409
	TypeNothingHeld        = TypePrefix + "nothing-held"           // 409
	TypeDuplicateName      = TypePrefix + "duplicate-name"         // 409
	TypeAmbiguous          = TypePrefix + "ambiguous"              // 409, with name, matches
	TypeBodyTooLarge       = TypePrefix + "body-too-large"         // 413
	TypeUnsupportedMedia   = TypePrefix + "unsupported-media-type" // 415: a body that is not declared JSON
	TypeValidation         = TypePrefix + "validation"             // 422, with field
	TypeQuotaExceeded      = TypePrefix + "quota-exceeded"         // 429
	TypeInternal           = TypePrefix + "internal"               // 500
	TypeUpstreamFailed     = TypePrefix + "upstream-unavailable"   // 502 (gateway)
	TypeDatabaseLocked     = TypePrefix + "database-locked"        // 503
	TypeDatabaseReadOnly   = TypePrefix + "database-read-only"     // 503
	TypeDiskFull           = TypePrefix + "disk-full"              // 503, with Retry-After
	TypeUnavailable        = TypePrefix + "unavailable"            // 503: shutting down, store closed or damaged; the database cannot be reached (with Retry-After)
)

// DatabaseUnreachable is the detail of the 503 answered while the
// database (a PostgreSQL server) cannot be reached.
const DatabaseUnreachable = "the database cannot be reached; try again shortly"

// ContentType is the media type of a problem.
const ContentType = "application/problem+json"

// Problem is an RFC 9457 problem details object with keydeck's extension
// members. Extensions are set only where the comment says.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`

	// validation: the field that is wrong; bad-request: the member name
	// that is unknown (a name in another case too) or repeated.
	Field string `json:"field,omitempty"`
	// not-found: what was looked for ("key") and the ID given.
	Resource string `json:"resource,omitempty"`
	ID       string `json:"id,omitempty"`
	// allocation-exceeded: the kind, what was asked and what is available
	// (for a total: what the keys hold); total says an account total was
	// being lowered.
	Kind      string `json:"kind,omitempty"`
	Requested *int64 `json:"requested,omitempty"`
	Available *int64 `json:"available,omitempty"`
	Total     bool   `json:"total,omitempty"`
	// ambiguous: the name and the Client IDs it matches.
	Name    string   `json:"name,omitempty"`
	Matches []string `json:"matches,omitempty"`
	// forbidden, quota-exceeded, credits-exhausted: the key and the quota
	// the request used (kind above), as in a 200 verify answer.
	ClientID  string `json:"client_id,omitempty"`
	Limit     *int64 `json:"limit,omitempty"`
	Remaining *int64 `json:"remaining,omitempty"`
	Period    string `json:"period,omitempty"`
	// PeriodSeconds is the length of the current period (absent for none).
	PeriodSeconds *int64     `json:"period_seconds,omitempty"`
	ResetsAt      *time.Time `json:"resets_at,omitempty"`
	// method-not-allowed: the methods the path takes.
	Allow []string `json:"allow,omitempty"`

	// RetryAfter, in seconds, is sent as the Retry-After header of a
	// condition that passes by itself (a lock, a full disk); 0: none.
	RetryAfter int `json:"-"`
}

// Error makes a Problem usable as an error; the text is the detail.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

// NewProblem builds a problem of a type with a detail; the title is the
// status text.
func NewProblem(status int, typ, detail string) *Problem {
	return &Problem{Type: typ, Title: http.StatusText(status), Status: status, Detail: detail}
}

// InvalidCredentials is the one 401 answer of /v1/verify and the gateway,
// whatever the reason: malformed, unknown, wrong secret or revoked.
func InvalidCredentials() *Problem {
	return NewProblem(http.StatusUnauthorized, TypeInvalidCredentials, model.ErrInvalidCredentials.Error())
}

// FromError maps an error from a store (model sentinels, *model.*Error,
// storage.Err*) to its problem. ok is false for an error it does not know:
// the caller logs it and answers 500 without its text.
func FromError(err error) (p *Problem, ok bool) {
	var (
		verr *model.ValidationError
		aerr *model.AllocationError
		amb  *model.AmbiguousError
		nf   *model.NotFoundError
		prob *Problem
	)
	switch {
	case errors.As(err, &prob):
		return prob, true
	case errors.As(err, &verr):
		p = NewProblem(http.StatusUnprocessableEntity, TypeValidation, verr.Msg)
		p.Field = verr.Field
	case errors.As(err, &aerr):
		p = NewProblem(http.StatusConflict, TypeAllocationExceeded, aerr.Error())
		p.Kind = aerr.Kind.String()
		p.Requested, p.Available, p.Total = ptr(aerr.Requested), ptr(aerr.Available), aerr.Total
	case errors.As(err, &amb):
		p = NewProblem(http.StatusConflict, TypeAmbiguous, amb.Error())
		p.Name, p.Matches = amb.Name, amb.Matches
	case errors.As(err, &nf):
		p = NewProblem(http.StatusNotFound, TypeNotFound, nf.Error())
		p.Resource, p.ID = resourceName(nf.Kind), nf.ID
	case errors.Is(err, model.ErrKeyNotFound), errors.Is(err, model.ErrAccountNotFound),
		errors.Is(err, model.ErrSSHKeyNotFound), errors.Is(err, model.ErrNotFound):
		p = NewProblem(http.StatusNotFound, TypeNotFound, err.Error())
		p.Resource = resourceName(rootNotFound(err))
	case errors.Is(err, model.ErrRevoked):
		p = NewProblem(http.StatusConflict, TypeKeyRevoked, model.ErrRevoked.Error())
	case errors.Is(err, model.ErrNotRevoked):
		p = NewProblem(http.StatusConflict, TypeKeyNotRevoked, model.ErrNotRevoked.Error())
	case errors.Is(err, model.ErrNothingHeld):
		p = NewProblem(http.StatusConflict, TypeNothingHeld, model.ErrNothingHeld.Error())
	case errors.Is(err, model.ErrDuplicateName):
		p = NewProblem(http.StatusConflict, TypeDuplicateName, model.ErrDuplicateName.Error())
	case errors.Is(err, model.ErrUnauthorized):
		p = NewProblem(http.StatusUnauthorized, TypeUnauthorized, model.ErrUnauthorized.Error())
	case errors.Is(err, model.ErrInvalidCredentials), errors.Is(err, model.ErrMalformedSecret):
		p = InvalidCredentials()
	case errors.Is(err, storage.ErrLocked):
		p = NewProblem(http.StatusServiceUnavailable, TypeDatabaseLocked, storage.ErrLocked.Error())
		p.RetryAfter = 1
	case errors.Is(err, storage.ErrReadOnly):
		p = NewProblem(http.StatusServiceUnavailable, TypeDatabaseReadOnly, storage.ErrReadOnly.Error())
	case errors.Is(err, storage.ErrDiskFull):
		// Not err's text: it names a file on the server.
		p = NewProblem(http.StatusServiceUnavailable, TypeDiskFull, "the server's disk is full; try again later")
		p.RetryAfter = 5
	case errors.Is(err, storage.ErrUnavailable):
		// Not err's text: a *storage.DatabaseDownError names the database
		// server's host and port, which are the operator's business. The
		// database usually comes back by itself (a restart, a fail-over).
		p = NewProblem(http.StatusServiceUnavailable, TypeUnavailable, DatabaseUnreachable)
		p.RetryAfter = 1
	case errors.Is(err, storage.ErrClosed):
		p = NewProblem(http.StatusServiceUnavailable, TypeUnavailable, "the server is shutting down")
	default:
		return nil, false
	}
	return p, true
}

// Err turns a problem read from the server back into the error the store
// returned there, so callers can use errors.Is/As as with a local store.
// Types it does not know come back as the *Problem itself.
func (p *Problem) Err() error {
	switch p.Type {
	case TypeValidation:
		return &model.ValidationError{Field: p.Field, Msg: p.Detail}
	case TypeAllocationExceeded:
		e := &model.AllocationError{Kind: KindOf(p.Kind), Total: p.Total}
		if e.Kind == 0 {
			e.Kind = model.KindQuery // a problem that names no kind
		}
		if p.Requested != nil {
			e.Requested = *p.Requested
		}
		if p.Available != nil {
			e.Available = *p.Available
		}
		return e
	case TypeAmbiguous:
		return &model.AmbiguousError{Name: p.Name, Matches: p.Matches}
	case TypeNotFound:
		kind := model.ErrKeyNotFound
		switch p.Resource {
		case "account":
			kind = model.ErrAccountNotFound
		case "ssh_key":
			kind = model.ErrSSHKeyNotFound
		}
		if p.ID != "" {
			return &model.NotFoundError{Kind: kind, ID: p.ID}
		}
		return kind
	case TypeKeyRevoked:
		return model.ErrRevoked
	case TypeKeyNotRevoked:
		return model.ErrNotRevoked
	case TypeNothingHeld:
		return model.ErrNothingHeld
	case TypeDuplicateName:
		return model.ErrDuplicateName
	case TypeUnauthorized:
		return model.ErrUnauthorized
	case TypeInvalidCredentials:
		return model.ErrInvalidCredentials
	case TypeDatabaseLocked:
		return storage.ErrLocked
	case TypeDatabaseReadOnly:
		return storage.ErrReadOnly
	case TypeDiskFull:
		// Its own text: the disk is the server's, not the caller's.
		return condition{p, storage.ErrDiskFull}
	}
	return p
}

// condition is a problem that is also a storage sentinel.
type condition struct {
	*Problem
	is error
}

func (c condition) Is(target error) bool { return target == c.is }

func ptr(v int64) *int64 { return &v }

func resourceName(kind error) string {
	switch kind {
	case model.ErrAccountNotFound:
		return "account"
	case model.ErrSSHKeyNotFound:
		return "ssh_key"
	}
	return "key"
}

// rootNotFound picks the specific not-found sentinel err matches.
func rootNotFound(err error) error {
	for _, k := range []error{model.ErrAccountNotFound, model.ErrSSHKeyNotFound} {
		if errors.Is(err, k) {
			return k
		}
	}
	return model.ErrKeyNotFound
}
