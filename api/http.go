package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/keydeck/keydeck/model"
)

// OperationForMethod maps an HTTP method: GET/HEAD read, POST/PUT/PATCH
// write, DELETE delete. Other methods are not allowed.
func OperationForMethod(method string) (model.Operation, bool) {
	switch method {
	case http.MethodGet, http.MethodHead:
		return model.OpRead, true
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return model.OpWrite, true
	case http.MethodDelete:
		return model.OpDelete, true
	}
	return 0, false
}

// Status maps a verdict to its HTTP status.
func Status(v model.Verdict) int {
	switch v {
	case model.Allowed:
		return 200
	case model.DeniedUnauthorized:
		return 401
	case model.DeniedForbidden:
		return 403
	case model.DeniedQuota:
		return 429
	case model.DeniedCredits:
		return 402
	}
	return 500
}

// ShowURL is a URL as an error message may quote it: any user info (a
// name and password, or a token put there) replaced by "…", also when the
// URL does not parse; keydeck secrets and tokens redacted; control
// characters replaced; at most 200 characters.
func ShowURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err == nil && u.User != nil:
		c := *u
		c.User = nil
		s = strings.Replace(c.String(), "//", "//…@", 1)
	case err != nil:
		if i, j := strings.Index(s, "://"), strings.LastIndexByte(s, '@'); i >= 0 && j > i {
			s = s[:i+3] + "…@" + s[j+1:]
		}
	}
	return model.Sanitize(model.RedactSecrets(s), 200)
}
