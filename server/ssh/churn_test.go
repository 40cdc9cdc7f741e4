package ssh

// Fifty SSH sessions dropped at random steps against an in-process server:
// the store stays consistent and the server healthy (goroutines and open
// files back to where they were, new sessions served).

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// churnStep is where a session is dropped.
type churnStep int

const (
	stepList churnStep = iota
	stepWizardName
	stepWizardPerms
	stepWizardQuery
	stepReview
	stepReveal
	stepConfirmRevoke
	stepConfirmRegenerate
	stepDetails
	numSteps
)

var stepNames = [...]string{"list", "wizard name", "wizard permissions", "wizard query", "wizard review",
	"reveal", "revoke dialog", "regenerate dialog", "details"}

func TestSSHDroppedSessions(t *testing.T) {
	needSSHTools(t)
	if runtime.GOOS != "linux" {
		t.Skip("counts open files in /proc/self/fd")
	}
	const sessions, workers = 50, 5
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	e := newSSHEnv(t, nil)
	dir := t.TempDir()
	alice, _ := sshKeyFile(t, dir, "alice")
	pub, err := os.ReadFile(alice + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	k, err := model.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.AddSSHKey(context.Background(), "test", "default", k); err != nil {
		t.Fatal(err)
	}
	const seeds = 3
	for i := range seeds {
		e.createKey("default", fmt.Sprintf("Seed-%d", i))
	}
	port := e.addr[strings.LastIndex(e.addr, ":")+1:]
	tm := newTmuxServer(t)

	// Warm up with one whole session, so what is started once per process
	// (the store's statements, the SSH package's tables) is in the
	// baseline.
	warm := tm.ssh("warm", 80, 24, sshArgs(port, alice))
	warm.waitFor(fmt.Sprintf("of %d keys", seeds))
	warm.send("q")
	warm.waitFor("SSH-EXITED 0")
	goroutines0, fds0 := settle(t, e, -1, -1)
	t.Logf("baseline: %d goroutines, %d open files besides the database's", goroutines0, fds0)

	var (
		mu       sync.Mutex
		created  []string // names of keys whose reveal screen was reached
		perStep  [numSteps]int
		byKill   int
		jobs     = make(chan int)
		wg       sync.WaitGroup
		start    = time.Now()
		failures = make(chan string, sessions)
	)
	for w := range workers {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Go(func() {
			for i := range jobs {
				step := churnStep(rng.IntN(int(numSteps)))
				kill := rng.IntN(2) == 0
				name, ok, msg := churnSession(tm, port, alice, i, step, kill)
				if !ok {
					failures <- msg
					continue
				}
				mu.Lock()
				perStep[step]++
				if kill {
					byKill++
				}
				if name != "" {
					created = append(created, name)
				}
				mu.Unlock()
			}
		})
	}
	for i := range sessions {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	if t.Failed() {
		t.FailNow()
	}
	var dist []string
	for s, n := range perStep {
		dist = append(dist, fmt.Sprintf("%s %d", stepNames[s], n))
	}
	t.Logf("%d sessions dropped in %s (%d by kill -9 of ssh, %d by tmux kill-session): %s",
		sessions, time.Since(start).Round(time.Millisecond), byKill, sessions-byKill, strings.Join(dist, ", "))

	// The server is healthy: every session gone, goroutines and open files
	// back to the baseline.
	goroutines1, fds1 := settle(t, e, goroutines0, fds0)
	t.Logf("after: %d goroutines, %d open files besides the database's", goroutines1, fds1)

	// The store is consistent.
	checkStoreAfterChurn(t, e, seeds, created)

	// New sessions are still served, and see every key.
	after := tm.ssh("after", 80, 24, sshArgs(port, alice))
	after.waitFor(fmt.Sprintf("of %d keys", seeds+len(created)))
	after.send("q")
	after.waitFor("SSH-EXITED 0")
}

// churnSession opens one session, takes it to step and drops it (kill -9
// of the ssh client, or tmux kill-session, which hangs it up). It returns
// the name of the key it created, if it reached the reveal screen.
func churnSession(tm *tmuxServer, port, key string, i int, step churnStep, kill bool) (created string, ok bool, failure string) {
	name := fmt.Sprintf("churn%02d", i)
	script := "exec ssh " + shellQuote(sshArgs(port, key))
	if out, err := exec.Command("tmux", "-L", tm.socket, "new-session", "-d", "-s", name, "-x", "80", "-y", "24",
		"env", "TERM=xterm-256color", "LANG=C.UTF-8", "sh", "-c", script).CombinedOutput(); err != nil {
		return "", false, fmt.Sprintf("%s: tmux: %v: %s", name, err, out)
	}
	capture := func() string {
		out, _ := exec.Command("tmux", "-L", tm.socket, "capture-pane", "-p", "-t", name).Output()
		return string(out)
	}
	send := func(keys ...string) {
		exec.Command("tmux", append([]string{"-L", tm.socket, "send-keys", "-t", name}, keys...)...).Run()
	}
	wait := func(want ...string) bool {
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			s := capture()
			all := true
			for _, w := range want {
				all = all && strings.Contains(s, w)
			}
			if all {
				return true
			}
			time.Sleep(30 * time.Millisecond)
		}
		failure = fmt.Sprintf("%s (%s): never showed %q:\n%s", name, stepNames[step], want, redactSecrets(capture()))
		return false
	}
	keyName := fmt.Sprintf("Churn-%02d", i)
	ok = func() bool {
		if !wait("account default", "keys") {
			return false
		}
		switch step {
		case stepList:
			return true
		case stepDetails:
			send("Enter")
			return wait("Usage, last 30 days")
		case stepConfirmRevoke:
			send("x")
			return wait("Revoke “")
		case stepConfirmRegenerate:
			send("R")
			return wait("Regenerate the secret of")
		}
		send("n")
		if !wait("Key name") || step == stepWizardName {
			return true
		}
		exec.Command("tmux", "-L", tm.socket, "send-keys", "-t", name, "-l", keyName).Run()
		send("Enter")
		if !wait("[x] Read") || step == stepWizardPerms {
			return true
		}
		send("Enter")
		if !wait("Query allocation") {
			return false
		}
		exec.Command("tmux", "-L", tm.socket, "send-keys", "-t", name, "-l", "3").Run()
		if step == stepWizardQuery {
			return true
		}
		send("Enter")
		if !wait("Mutation allocation") {
			return false
		}
		send("Enter")
		if !wait("Review", keyName) || step == stepReview {
			return true
		}
		send("Enter")
		if !wait("New API key created", "shown only once") {
			return false
		}
		created = keyName
		return true
	}()
	if kill {
		pid, err := exec.Command("tmux", "-L", tm.socket, "display-message", "-p", "-t", name, "#{pane_pid}").Output()
		if err == nil {
			exec.Command("kill", "-9", strings.TrimSpace(string(pid))).Run()
		}
	}
	exec.Command("tmux", "-L", tm.socket, "kill-session", "-t", name).Run()
	return created, ok, failure
}

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// settle waits until the server has no session and no connection and the
// goroutine and open-file counts stop falling, and returns them. With a
// baseline (≥ 0) it waits up to 20s for the counts to be back at or below
// it and fails if they are not.
func settle(t *testing.T, e *sshEnv, goroutines, fds int) (int, int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var g, f int
	stable := 0
	for {
		e.srv.mu.Lock()
		sess, conns := len(e.srv.sessions), len(e.srv.conns)
		e.srv.mu.Unlock()
		ng, nf := runtime.NumGoroutine(), openFiles(t, e.path)
		if sess == 0 && conns == 0 && ng == g && nf == f {
			stable++
		} else {
			stable = 0
		}
		g, f = ng, nf
		back := goroutines < 0 || (g <= goroutines && f <= fds)
		if stable >= 10 && back {
			return g, f
		}
		if time.Now().After(deadline) {
			if goroutines < 0 {
				t.Fatalf("the server did not settle: %d sessions, %d connections, goroutines %d, files %d", sess, conns, g, f)
			}
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("not back to the baseline after 20s: %d sessions, %d connections, goroutines %d (baseline %d), open files %d (baseline %d)\n%s",
				sess, conns, g, goroutines, f, fds, buf)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// openFiles counts the process's open files, leaving out the database's
// own (db, -wal, -shm): the store keeps a pool of up to four idle read
// connections, which grows with concurrent sessions and is not a leak.
// Sockets, pipes, ptys and the rest are counted.
func openFiles(t *testing.T, dbPath string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ent := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", ent.Name()))
		if err == nil && strings.HasPrefix(target, dbPath) {
			continue
		}
		n++
	}
	return n
}

// checkStoreAfterChurn: exactly the keys whose reveal screen was reached
// were created (by the SSH key), nothing was revoked or regenerated by a
// dropped dialog, what the account holds is the sum of the allocations, and
// SQLite finds the file sound.
func checkStoreAfterChurn(t *testing.T, e *sshEnv, seeds int, created []string) {
	t.Helper()
	ctx := context.Background()
	st, err := e.db.Store("default", "test")
	if err != nil {
		t.Fatal(err)
	}
	page, err := st.ListKeys(ctx, storage.ListOptions{IncludeRevoked: true, Limit: storage.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range created {
		want[n] = true
	}
	var q, m int64
	churned := 0
	for _, k := range page.Keys {
		if k.Status != model.StatusActive {
			t.Errorf("key %s is %s after dropped sessions", k.Name, k.Status)
		}
		q += k.QueryAlloc
		m += k.MutationAlloc
		if strings.HasPrefix(k.Name, "Churn-") {
			churned++
			if !want[k.Name] {
				t.Errorf("key %s exists, but its session was dropped before Create", k.Name)
			}
			if k.QueryAlloc != 3 || k.MutationAlloc != 0 || k.Permissions != model.PermRead {
				t.Errorf("key %s: %+v", k.Name, k)
			}
		}
	}
	if churned != len(created) || len(page.Keys) != seeds+len(created) {
		t.Errorf("%d keys (%d from sessions); want %d seeds and the %d whose reveal screen was reached", len(page.Keys), churned, seeds, len(created))
	}
	acct, err := st.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if acct.QueryHeld != q || acct.MutationHeld != m {
		t.Errorf("account holds query %d, mutation %d; the keys' allocations add up to %d, %d", acct.QueryHeld, acct.MutationHeld, q, m)
	}
	events, err := st.Audit(ctx, storage.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	creates := 0
	for _, ev := range events {
		switch ev.Action {
		case model.AuditKeyCreate:
			if strings.HasPrefix(ev.KeyName, "Churn-") {
				creates++
				if !strings.HasPrefix(ev.Actor, "ssh:SHA256:") {
					t.Errorf("key.create of %s by %q, want the SSH key", ev.KeyName, ev.Actor)
				}
			}
		case model.AuditKeyRevoke, model.AuditKeyRegenerate, model.AuditKeyEdit:
			t.Errorf("a dropped session changed a key: %+v", ev)
		}
	}
	if creates != len(created) {
		t.Errorf("%d key.create events from sessions, want %d", creates, len(created))
	}

	raw, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(e.path)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var ok string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check: %q, %v", ok, err)
	}
}
