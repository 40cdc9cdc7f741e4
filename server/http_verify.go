package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// verify is POST /v1/verify, the hot path: decode, one Admin.Verify, answer.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	start := requestStart(w)
	buf := bufPool.Get().(*[]byte)
	defer func() {
		// Whatever path returned, no secret goes back to the pool.
		clear((*buf)[:cap(*buf)])
		bufPool.Put(buf)
	}()
	body, ok := s.readBodyInto((*buf)[:0], w, r, verifyMaxBodyBytes)
	if !ok {
		return
	}
	if pc := parkingConn(r.Context()); pc != nil {
		pc.arm() // the body is read to its end: see parkconn.go
		defer pc.disarm()
	}
	var req api.VerifyRequest
	if !decodeVerifyFast(body, &req) {
		slow := new(api.VerifyRequest) // only here does the request escape
		if !s.decodeBody(w, body, slow, false) {
			return
		}
		req = *slow
	}
	// The body holds the secret in plain text: wipe it now that the
	// request has its own copy.
	clear(body)
	op, err := model.ParseOperation(req.Operation)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Credits < 0 {
		s.writeProblem(w, validation("credits", "credits cannot be negative"))
		return
	}
	setClientID(w, req.ClientID)
	res, ok := s.settle(w, r, sourceAPI, start, model.VerifyRequest{ClientID: req.ClientID, ClientSecret: req.ClientSecret, Operation: op, Credits: req.Credits})
	if !ok {
		return
	}
	var at *time.Time
	if t, ok := resetTime(res); ok {
		at = &t
	}
	// The body buffer is done with: the answer is written into it.
	*buf = appendVerifyAnswer((*buf)[:0], api.VerifyAnswer{
		Allowed:       true,
		ClientID:      res.ClientID,
		Operation:     op.String(),
		Kind:          res.Kind.String(),
		Limit:         res.Limit,
		Remaining:     res.Remaining,
		Credits:       req.Credits,
		Period:        string(res.Period),
		PeriodSeconds: res.PeriodSeconds,
		ResetsAt:      at,
	})
	writeBody(w, http.StatusOK, *buf)
}

// bufPool holds request and answer buffers of the verify path.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendVerifyAnswer encodes the 200 answer as encoding/json would (a test
// holds it to that), without reflection: this is the hot path.
func appendVerifyAnswer(b []byte, v api.VerifyAnswer) []byte {
	b = append(b, `{"allowed":`...)
	b = strconv.AppendBool(b, v.Allowed)
	b = append(b, `,"client_id":`...)
	b = appendJSONString(b, v.ClientID)
	b = append(b, `,"operation":`...)
	b = appendJSONString(b, v.Operation)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, v.Kind)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, v.Limit, 10)
	b = append(b, `,"remaining":`...)
	b = strconv.AppendInt(b, v.Remaining, 10)
	b = append(b, `,"credits":`...)
	b = strconv.AppendInt(b, v.Credits, 10)
	b = append(b, `,"period":`...)
	b = appendJSONString(b, v.Period)
	b = append(b, `,"period_seconds":`...)
	b = strconv.AppendInt(b, v.PeriodSeconds, 10)
	if v.ResetsAt != nil {
		b = append(b, `,"resets_at":"`...)
		b = v.ResetsAt.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendJSONString quotes s; anything but plain printable ASCII goes
// through encoding/json, so the result is always what it would write.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			// A clone goes to Marshal: handing it s itself would make s,
			// and so the whole answer with its time, escape to the heap
			// on every call, the usual ASCII ones included.
			q, _ := json.Marshal(strings.Clone(s))
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// settle is what /v1/verify and the gateway share: it asks the store,
// counts the outcome, and answers everything but an allowed verification
// (a store error, a denial). For an allowed one it sets the RateLimit
// fields, leaves the answer to the caller, and returns true. Bad
// credentials come back from the store as a verdict
// (storage.Store.Verify), and nothing about the key leaves on a 401.
func (s *Server) settle(w http.ResponseWriter, r *http.Request, src source, start time.Time, req model.VerifyRequest) (model.VerifyResult, bool) {
	var res model.VerifyResult
	var err error
	if s.storeTimeout > 0 {
		// A database server that stops answering must not hold the
		// request (and the client) past the bound.
		ctx, cancel := context.WithTimeout(r.Context(), s.storeTimeout)
		res, err = s.admin.Verify(ctx, req)
		if err != nil && ctx.Err() == context.DeadlineExceeded && r.Context().Err() == nil {
			r = r.WithContext(ctx)
		}
		cancel()
	} else {
		res, err = s.admin.Verify(r.Context(), req)
	}
	if err != nil {
		s.metrics.verified(src, 0, start)
		s.fail(w, r, err)
		return res, false
	}
	s.metrics.verified(src, res.Verdict, start)
	switch res.Verdict {
	case model.Allowed:
		s.setRateLimit(w.Header(), res)
		return res, true
	case model.DeniedUnauthorized:
		if src == sourceGateway {
			w.Header().Set("WWW-Authenticate", `Basic realm="keydeck", charset="UTF-8"`)
		}
		s.writeProblem(w, api.InvalidCredentials())
		return model.VerifyResult{Verdict: model.DeniedUnauthorized}, false
	default:
		s.writeDenial(w, res, req.Operation)
	}
	return res, false
}

// writeDenial answers a verification of good credentials that was not
// allowed: 403/429/402 with the quota's state.
func (s *Server) writeDenial(w http.ResponseWriter, res model.VerifyResult, op model.Operation) {
	reset, resets := s.setRateLimit(w.Header(), res)
	var p *api.Problem
	switch res.Verdict {
	case model.DeniedForbidden:
		p = api.NewProblem(http.StatusForbidden, api.TypeForbidden,
			"the key lacks the "+op.Permission().String()+" permission this operation needs")
		p.Title = model.ErrForbidden.Error()
	case model.DeniedQuota:
		p = api.NewProblem(http.StatusTooManyRequests, api.TypeQuotaExceeded, quotaDetail(res))
		p.Title = model.ErrQuotaExceeded.Error()
		if resets {
			w.Header().Set("Retry-After", strconv.FormatInt(reset, 10))
		}
	case model.DeniedCredits:
		p = api.NewProblem(http.StatusPaymentRequired, api.TypeCreditsExhausted, "the account does not have enough credits for this request")
	default:
		p = api.NewProblem(http.StatusInternalServerError, api.TypeInternal, "internal error")
	}
	p.ClientID = res.ClientID
	if res.Kind != 0 {
		p.Kind = res.Kind.String()
		p.Limit, p.Remaining = &res.Limit, &res.Remaining
	}
	p.Period = string(res.Period)
	if res.Period != model.PeriodNone && res.PeriodSeconds > 0 {
		p.PeriodSeconds = &res.PeriodSeconds
	}
	p.ResetsAt = resetsAt(res)
	s.writeProblem(w, p)
}

func quotaDetail(res model.VerifyResult) string {
	d := "Quota Exceeded: the key's " + res.Kind.String() + " allocation of " + strconv.FormatInt(res.Limit, 10) + " is used up"
	if at := resetsAt(res); at != nil {
		return d + " until " + at.Format(time.RFC3339) + " (UTC)"
	}
	return d + " (the account's period never resets)"
}

func resetsAt(res model.VerifyResult) *time.Time {
	if t, ok := resetTime(res); ok {
		return &t
	}
	return nil
}

// resetTime is when the period resets, in UTC; false for a period that
// never does.
func resetTime(res model.VerifyResult) (time.Time, bool) {
	if res.Period == model.PeriodNone || res.ResetsAt.IsZero() {
		return time.Time{}, false
	}
	return res.ResetsAt.UTC(), true
}

// setRateLimit writes the IETF RateLimit header fields (SPEC §4): the
// policy of both of the key's quotas, and the state of the one the request
// used:
//
//	RateLimit-Policy: "query";q=<allocation>;w=<seconds in the period>, "mutation";q=<allocation>;w=<…>
//	RateLimit: "query";r=<remaining>;t=<seconds until the reset>
//
// A period that never resets has no w and no t. It returns the seconds
// until the reset (for Retry-After), and whether the period resets.
func (s *Server) setRateLimit(h http.Header, res model.VerifyResult) (reset int64, resets bool) {
	reset, resets = s.secondsToReset(res)
	if res.Kind == 0 {
		return reset, resets
	}
	qLimit, mLimit := res.QueryLimit, res.MutationLimit
	if res.Kind == model.KindQuery {
		qLimit = res.Limit
	} else {
		mLimit = res.Limit
	}
	var buf [160]byte
	b := buf[:0]
	for i, p := range [2]struct {
		name  string
		limit int64
	}{{"query", qLimit}, {"mutation", mLimit}} {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '"')
		b = append(b, p.name...)
		b = append(b, `";q=`...)
		b = strconv.AppendInt(b, p.limit, 10)
		if res.Period != model.PeriodNone && res.PeriodSeconds > 0 {
			b = append(b, ";w="...)
			b = strconv.AppendInt(b, res.PeriodSeconds, 10)
		}
	}
	split := len(b)
	b = append(b, '"')
	b = append(b, res.Kind.String()...)
	b = append(b, `";r=`...)
	b = strconv.AppendInt(b, res.Remaining, 10)
	if resets {
		b = append(b, ";t="...)
		b = strconv.AppendInt(b, reset, 10)
	}
	// Two allocations for both fields: one string, one backing array.
	both := string(b)
	vals := &[2]string{both[:split], both[split:]}
	h["Ratelimit-Policy"] = vals[0:1:1]
	h["Ratelimit"] = vals[1:2:2]
	return reset, resets
}

// secondsToReset is the whole seconds (rounded up) until the period
// resets; false for a period that never does.
func (s *Server) secondsToReset(res model.VerifyResult) (int64, bool) {
	if res.Period == model.PeriodNone || res.ResetsAt.IsZero() {
		return 0, false
	}
	d := res.ResetsAt.Sub(s.now())
	if d <= 0 {
		return 0, true
	}
	return int64((d + time.Second - 1) / time.Second), true
}
