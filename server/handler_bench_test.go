package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keydeck/keydeck/model"
)

// BenchmarkVerifyHandler is POST /v1/verify through the whole handler
// chain (access log, metrics, mux, decode, store, answer) without the
// network, on a real SQLite file; b.N spread over the keys so no
// allocation runs out. It measures CPU per verification, not throughput
// under load (make bench does that).
func BenchmarkVerifyHandler(b *testing.B) {
	e := newEnv(b)
	e.account("bench", model.MaxQuota, 0, 0, model.PeriodMonthly)
	bodies := make([][]byte, 64)
	for i := range bodies {
		k, secret := e.key("bench", fmt.Sprintf("b%02d", i), model.PermRead, model.MaxQuota/64, 0)
		bodies[i], _ = json.Marshal(verifyBody(k.ClientID, secret, "read", 0))
	}
	h := e.srv.Handler()
	b.SetParallelism(32) // 64 goroutines on 2 CPUs, as wrk -c64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		// One header map per goroutine: httptest makes an empty one, and
		// a map's first entry is an allocation net/http's own request
		// reading has made anyway.
		hdr := http.Header{"Content-Type": jsonType}
		for pb.Next() {
			i++
			r := httptest.NewRequest("POST", "/v1/verify", bytes.NewReader(bodies[i%len(bodies)]))
			r.Header = hdr
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK && w.Code != http.StatusTooManyRequests {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}
