package server

// Tests of the real keydeck binary serving on loopback: kill -9 under
// load, graceful shutdown, TLS on both listeners.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/server/internal/servertest"
	"github.com/keydeck/keydeck/storage/sqlite"
)

// proc is a running `keydeck serve`.
type proc struct {
	cmd    *exec.Cmd
	stderr *servertest.SyncBuffer
	urls   map[string]string // "HTTP API", "gateway" → base URL
	done   chan error
}

var listenLine = regexp.MustCompile(`keydeck: (HTTP API|gateway) listening on (https?://[0-9.:\[\]]+)`)

// startServe runs the binary with args on db and waits for its listeners.
func startServe(t *testing.T, bin, db string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--db", db}, args...)...)
	cmd.Env = append(os.Environ(), "KEYDECK_REMOTE=", "KEYDECK_LOG_LEVEL=warn")
	pr, pw := io.Pipe()
	p := &proc{cmd: cmd, stderr: &servertest.SyncBuffer{}, urls: map[string]string{}, done: make(chan error, 1)}
	cmd.Stderr = io.MultiWriter(p.stderr, pw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait(); pw.Close() }()
	want := 1
	if strings.Contains(strings.Join(args, " "), "--gateway") {
		want = 2
	}
	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		n := 0
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				p.urls[m[1]] = m[2]
				if n++; n == want {
					close(found)
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case <-found:
	case err := <-p.done:
		t.Fatalf("keydeck serve exited: %v\n%s", err, p.stderr.String())
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("keydeck serve did not start:\n%s", p.stderr.String())
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// setupDB makes a database with one key and returns its credentials.
func setupDB(t *testing.T, path string, perm model.Permission, q, m int64) (model.Key, string, string) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tok, err := db.RotateToken(context.Background(), "test", "default")
	if err != nil {
		t.Fatal(err)
	}
	st, err := db.Store("default", "test")
	if err != nil {
		t.Fatal(err)
	}
	k, secret, err := st.CreateKey(context.Background(), model.KeySpec{Name: "crash", Permissions: perm, QueryAlloc: q, MutationAlloc: m})
	if err != nil {
		t.Fatal(err)
	}
	return k, secret, tok
}

func usedNow(t *testing.T, path, id string) int64 {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer db.Close()
	st, _ := db.Store("default", "test")
	k, err := st.GetKey(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return k.QueryUsed
}

// TestKill9UnderLoad kills the server with SIGKILL twenty times while
// clients verify as fast as they can, and restarts it. After each kill the
// recorded usage is at least the number of allowed answers the clients saw
// (no acknowledged unit is lost) and never above the allocation. The
// allocation runs out part-way, so both bounds are exercised.
func TestKill9UnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary twenty times")
	}
	bin := servertest.Binary(t)
	path := filepath.Join(t.TempDir(), "keydeck.db")
	const alloc = 4000
	k, secret, tok := setupDB(t, path, model.PermRead, alloc, 0)
	body, _ := json.Marshal(verifyBody(k.ClientID, secret, "read", 0))
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var seen, exhausted int64
	deadline := time.Now().Add(90 * time.Second)
	for i := range 20 {
		if time.Now().After(deadline) {
			t.Fatalf("ran out of time after %d kills", i)
		}
		durability := "normal"
		if i%2 == 1 {
			durability = "strict"
		}
		p := startServe(t, bin, path, "--http", "127.0.0.1:0", "--durability", durability, "--access-log", "off")
		url := p.urls["HTTP API"] + "/v1/verify"
		var allowed, quota atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := client.Post(url, "application/json", bytes.NewReader(body))
					if err != nil {
						return // the server is gone
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusOK:
						allowed.Add(1)
					case http.StatusTooManyRequests:
						quota.Add(1)
					default:
						t.Errorf("unexpected status %d", resp.StatusCode)
					}
				}
			})
		}
		// Load for a while that varies from kill to kill (100–249ms), so
		// the kills land at different points of the writer's work: the
		// sleep is the test's, not a wait for something.
		time.Sleep(time.Duration(100+i*17%150) * time.Millisecond)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
		close(stop)
		wg.Wait()
		client.CloseIdleConnections()
		seen += allowed.Load()
		exhausted += quota.Load()
		used := usedNow(t, path, k.ClientID)
		if used < seen || used > alloc {
			t.Fatalf("kill %d (%s): recorded usage %d, allowed answers seen %d, allocation %d", i+1, durability, used, seen, alloc)
		}
		t.Logf("kill %2d (%-6s): %5d allowed seen in all, %5d recorded, %5d quota answers", i+1, durability, seen, used, exhausted)
	}
	if exhausted == 0 {
		t.Logf("note: the allocation was not used up in this run (the machine was slow)")
	}
	// A last clean start serves the recorded state, and stops cleanly.
	final := usedNow(t, path, k.ClientID)
	p := startServe(t, bin, path, "--http", "127.0.0.1:0", "--access-log", "off")
	r, _ := http.NewRequest("GET", p.urls["HTTP API"]+"/v1/keys/"+k.ClientID, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	var ka struct {
		Key struct {
			QueryUsed int64 `json:"query_used"`
		} `json:"key"`
	}
	json.NewDecoder(resp.Body).Decode(&ka)
	resp.Body.Close()
	if ka.Key.QueryUsed != final {
		t.Fatalf("after restart the server reports usage %d, the file %d", ka.Key.QueryUsed, final)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.done; err != nil {
		t.Fatalf("clean stop: %v", err)
	}
}

// SIGTERM lets a request in flight finish, then the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	bin := servertest.Binary(t)
	path := filepath.Join(t.TempDir(), "keydeck.db")
	k, secret, _ := setupDB(t, path, model.PermRead, 10, 0)
	arrived := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(800 * time.Millisecond)
		io.WriteString(w, "slow answer")
	}))
	defer slow.Close()
	p := startServe(t, bin, path, "--http", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--upstream", slow.URL)
	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		r, _ := http.NewRequest("GET", p.urls["gateway"]+"/slow", nil)
		r.SetBasicAuth(k.ClientID, secret)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(r)
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatalf("the request never reached the upstream:\n%s", p.stderr.String())
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || r.status != http.StatusOK || r.body != "slow answer" {
		t.Fatalf("in-flight request across SIGTERM: %+v", r)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit after SIGTERM")
	}
	if !strings.Contains(p.stderr.String(), "keydeck: stopped") {
		t.Fatalf("stderr: %s", p.stderr.String())
	}
	// New connections are refused once it is gone.
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.urls["HTTP API"], "http://"), time.Second); err == nil {
		c.Close()
		t.Fatalf("still accepting after shutdown")
	}
	if got := usedNow(t, path, k.ClientID); got != 1 {
		t.Fatalf("usage after the in-flight request: %d", got)
	}
}

// --tls-cert/--tls-key put both listeners on TLS.
func TestServeTLS(t *testing.T) {
	bin := servertest.Binary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "keydeck.db")
	k, secret, _ := setupDB(t, path, model.PermRead, 10, 0)
	certFile, keyFile, pool := selfSigned(t, dir)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer up.Close()
	p := startServe(t, bin, path, "--http", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--upstream", up.URL,
		"--tls-cert", certFile, "--tls-key", keyFile, "--access-log", "off")
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, name := range []string{"HTTP API", "gateway"} {
		if !strings.HasPrefix(p.urls[name], "https://") {
			t.Fatalf("%s is not on TLS: %s", name, p.urls[name])
		}
	}
	body, _ := json.Marshal(verifyBody(k.ClientID, secret, "read", 0))
	resp, err := client.Post(p.urls["HTTP API"]+"/v1/verify", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("verify over TLS: %v %v", resp, err)
	}
	resp.Body.Close()
	r, _ := http.NewRequest("GET", p.urls["gateway"]+"/x", nil)
	r.SetBasicAuth(k.ClientID, secret)
	resp, err = client.Do(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("gateway over TLS: %v %v", resp, err)
	}
	resp.Body.Close()
	// Plain HTTP to the TLS listener gets nowhere.
	if resp, err := http.Get(strings.Replace(p.urls["HTTP API"], "https", "http", 1) + "/healthz"); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("plain HTTP was served on the TLS listener")
		}
		resp.Body.Close()
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "keydeck test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
