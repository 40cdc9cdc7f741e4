package server

import (
	"strings"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
)

func TestMetricsCountOutcomes(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL))
	k, secret := e.key("default", "m", model.PermRead, 1, 0)
	e.key("default", "idle", model.PermRead, 0, 0)
	verify := func(s, op string) {
		e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, s, op, 0)})
	}
	verify(secret, "read")                                                       // 200
	verify(secret, "read")                                                       // 429
	verify(secret, "write")                                                      // 403
	verify(model.NewSecret(), "read")                                            // 401
	e.gateway(req{method: "GET", path: "/x", header: basic(k.ClientID, secret)}) // 429 via the gateway

	a := e.do(req{method: "GET", path: "/metrics"})
	body := string(a.body)
	for _, want := range []string{
		`keydeck_verifications_total{source="api",status="200"} 1`,
		`keydeck_verifications_total{source="api",status="429"} 1`,
		`keydeck_verifications_total{source="api",status="403"} 1`,
		`keydeck_verifications_total{source="api",status="401"} 1`,
		`keydeck_verifications_total{source="gateway",status="429"} 1`,
		`keydeck_verification_duration_seconds_count{source="api"} 4`,
		`keydeck_active_keys 2`,
		`keydeck_http_requests_total{code="200",route="POST /v1/verify"} 1`,
		`keydeck_http_requests_total{code="429",route="POST /v1/verify"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, secret) || strings.Contains(body, "default") {
		t.Errorf("metrics expose a secret or an account name")
	}
}

// The access log has an entry per request, off the request path, and
// never a secret, a token or an Authorization header.
func TestAccessLogHasNoSecrets(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL))
	tok := e.token("default")
	k, secret := e.key("default", "logged", model.PermRead, 5, 0)
	e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)})
	e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret[:len(secret)-1]+flip(secret[len(secret)-1]), "read", 0)})
	e.do(req{method: "GET", path: "/v1/keys?q=" + secret, token: tok})
	e.gateway(req{method: "GET", path: "/x?token=" + secret, header: basic(k.ClientID, secret)})
	e.gateway(req{method: "GET", path: "/y", header: map[string]string{HeaderClientID: k.ClientID, HeaderClientSecret: secret}})
	a := e.do(req{method: "POST", path: "/v1/keys/" + k.ClientID + "/regenerate", token: tok})
	fresh := string(a.body)

	waitFor(t, "six access-log lines", func() bool { return strings.Count(e.logBuf.String(), "msg=access") >= 6 })
	log := e.logBuf.String()
	i := strings.Index(fresh, `"client_secret":"`)
	newSecret := fresh[i+17 : i+17+model.SecretLen]
	for _, s := range []string{secret, secret[4:24], tok, tok[4:24], newSecret, "Basic ", "Bearer"} {
		if strings.Contains(log, s) {
			t.Fatalf("the access log contains a secret, token or credential header")
		}
	}
	for _, want := range []string{
		`listener=api method=POST route="POST /v1/verify" path=/v1/verify status=200`,
		"client_id=" + k.ClientID,
		`listener=gateway method=GET route="" path=/x status=202`,
		`path=/v1/keys status=200`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("access log lacks %q:\n%s", want, log)
		}
	}
}

// A slow log output never slows requests: entries beyond the queue are
// dropped and counted.
func TestAccessLogDropsRatherThanBlocks(t *testing.T) {
	block := make(chan struct{})
	l := NewAccessLog(blockingWriter{block}, false)
	startT := time.Now()
	for range accessQueue + 1000 {
		l.add(accessEntry{at: time.Now(), listener: "api", method: "GET", path: "/x", status: 200})
	}
	if d := time.Since(startT); d > 2*time.Second {
		t.Fatalf("queueing entries behind a stuck writer took %v", d)
	}
	if l.Dropped() == 0 {
		t.Fatalf("nothing was dropped behind a stuck writer")
	}
	close(block)
	l.Close()
}

type blockingWriter struct{ c chan struct{} }

func (b blockingWriter) Write(p []byte) (int, error) { <-b.c; return len(p), nil }
