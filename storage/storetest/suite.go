package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// start is where the suite's clock begins: mid-month, so moving by a month
// crosses exactly one boundary.
var start = time.Date(2026, 11, 14, 10, 30, 0, 0, time.UTC)

type suite struct {
	t     *testing.T
	f     Factory
	clock *Clock
	path  string
	env   Env
	ctx   context.Context
}

// Run runs every case of the suite against the factory's store.
func Run(t *testing.T, f Factory) {
	if os.Getenv(childEnv) != "" {
		runChild(t, f)
		return
	}
	cases := []struct {
		name string
		fn   func(*suite)
	}{
		{"DefaultAccount", testDefaultAccount},
		{"CreateAndGet", testCreateAndGet},
		{"CreateValidation", testCreateValidation},
		{"DuplicateNames", testDuplicateNames},
		{"AllocationExceeded", testAllocationExceeded},
		{"VerifyOutcomes", testVerifyOutcomes},
		{"DenialsConsumeNothing", testDenialsConsumeNothing},
		{"ExactQuotaUnderConcurrency", testExactQuota},
		{"ConcurrentCreatesKeepInvariant", testConcurrentCreates},
		{"TwoProcessesVerify", testTwoProcessesVerify},
		{"TwoProcessesCreate", testTwoProcessesCreate},
		{"RegenerateKeepsEverythingElse", testRegenerate},
		{"RevokeReturnsAllocation", testRevokeReturns},
		{"RevokeKeepsAllocationUntilRelease", testRevokeKeeps},
		{"RevokeAndRecreateCannotExceedTotal", testRevokeRecreate},
		{"MonthBoundaryRestoresAllocation", testMonthBoundary},
		{"PeriodNoneNeverResets", testPeriodNone},
		{"EditKey", testEditKey},
		{"AccountTotalBelowHeld", testAccountTotal},
		{"ListPagingFilterSort", testListPaging},
		{"UsageHistory", testUsageHistory},
		{"AuditLog", testAuditLog},
		{"UnknownIDs", testUnknownIDs},
		{"AccountIsolation", testIsolation},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &suite{t: t, f: f, clock: NewClock(start), ctx: context.Background()}
			s.path = filepath.Join(t.TempDir(), "keydeck.db")
			s.env = f(t, s.clock, s.path)
			c.fn(s)
		})
	}
}

// ---- helpers ----

func (s *suite) open(account string) storage.Store {
	s.t.Helper()
	st := s.env.Open(s.t, account)
	s.t.Cleanup(func() { st.Close() })
	return st
}

func (s *suite) account(name string, q, m, credits int64, period model.Period) storage.Store {
	s.t.Helper()
	if _, _, err := s.env.Admin.CreateAccount(s.ctx, "test", name, model.AccountUpdate{
		QueryTotal: &q, MutationTotal: &m, Credits: &credits, Period: &period}); err != nil {
		s.t.Fatalf("create account %s: %v", name, err)
	}
	return s.open(name)
}

func (s *suite) create(st storage.Store, name string, perm model.Permission, q, m int64) (model.Key, string) {
	s.t.Helper()
	k, secret, err := st.CreateKey(s.ctx, model.KeySpec{Name: name, Permissions: perm, QueryAlloc: q, MutationAlloc: m})
	if err != nil {
		s.t.Fatalf("create key %q: %v", name, err)
	}
	if err := model.CheckSecret(model.SecretPrefix, secret); err != nil {
		s.t.Fatalf("create returned a malformed secret")
	}
	return k, secret
}

func (s *suite) verify(st storage.Store, id, secret string, op model.Operation, credits int64) model.VerifyResult {
	s.t.Helper()
	r, err := st.Verify(s.ctx, model.VerifyRequest{ClientID: id, ClientSecret: secret, Operation: op, Credits: credits})
	if err != nil {
		s.t.Fatalf("verify: %v", err)
	}
	return r
}

func (s *suite) expect(st storage.Store, id, secret string, op model.Operation, credits int64, want model.Verdict) model.VerifyResult {
	s.t.Helper()
	r := s.verify(st, id, secret, op, credits)
	if r.Verdict != want {
		s.t.Fatalf("verify %s: got %v, want %v", op, r.Verdict, want)
	}
	return r
}

func (s *suite) get(st storage.Store, id string) model.Key {
	s.t.Helper()
	k, err := st.GetKey(s.ctx, id)
	if err != nil {
		s.t.Fatalf("get %s: %v", id, err)
	}
	return k
}

func (s *suite) acct(st storage.Store) model.Account {
	s.t.Helper()
	a, err := st.Account(s.ctx)
	if err != nil {
		s.t.Fatalf("account: %v", err)
	}
	return a
}

func (s *suite) countKeys(st storage.Store) int {
	s.t.Helper()
	p, err := st.ListKeys(s.ctx, storage.ListOptions{IncludeRevoked: true, Limit: storage.MaxLimit})
	if err != nil {
		s.t.Fatalf("list: %v", err)
	}
	return p.Total
}

func (s *suite) today(st storage.Store, id string) model.UsageDay {
	s.t.Helper()
	u, err := st.Usage(s.ctx, id, 1)
	if err != nil {
		s.t.Fatalf("usage: %v", err)
	}
	if len(u) != 1 || u[0].Day != model.Day(s.clock.Now()) {
		s.t.Fatalf("usage for 1 day: got %+v", u)
	}
	return u[0]
}

// eventually polls cond until it holds or 5s pass (denial counts are
// flushed asynchronously).
func (s *suite) eventually(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// flipLast changes the last character of s.
func flipLast(s string) string {
	last := s[len(s)-1]
	if last == 'x' {
		return s[:len(s)-1] + "y"
	}
	return s[:len(s)-1] + "x"
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func wantValidation(t *testing.T, err error) {
	t.Helper()
	var v *model.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("got error %v, want a validation error", err)
	}
}

func wantAllocation(t *testing.T, err error, kind model.Kind, available int64) {
	t.Helper()
	var a *model.AllocationError
	if !errors.As(err, &a) {
		t.Fatalf("got error %v, want an allocation error", err)
	}
	if a.Kind != kind || a.Available != available {
		t.Fatalf("allocation error %+v, want kind %v available %d", a, kind, available)
	}
	if !strings.Contains(err.Error(), strconv.FormatInt(available, 10)) {
		t.Fatalf("allocation error %q does not name the amount available (%d)", err, available)
	}
}

// ---- cases ----

func testDefaultAccount(s *suite) {
	st := s.open(model.DefaultAccount)
	a := s.acct(st)
	if a.Name != model.DefaultAccount || a.QueryTotal != model.DefaultQueryTotal || a.MutationTotal != model.DefaultMutationTotal ||
		a.Credits != model.DefaultCredits || a.Period != model.PeriodMonthly {
		s.t.Fatalf("fresh default account: %+v", a)
	}
	if a.QueryHeld != 0 || a.MutationHeld != 0 || a.ResetsAt == nil || !a.ResetsAt.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		s.t.Fatalf("fresh default account holds or resets: %+v", a)
	}
	p, err := st.ListKeys(s.ctx, storage.ListOptions{})
	if err != nil || p.Total != 0 || len(p.Keys) != 0 {
		s.t.Fatalf("fresh list: %+v %v", p, err)
	}
}

func testCreateAndGet(s *suite) {
	st := s.open(model.DefaultAccount)
	k, secret := s.create(st, "  Backend-Server-Key  ", model.PermRead|model.PermWrite, 20, 10)
	if k.Name != "Backend-Server-Key" || !model.ValidClientID(k.ClientID) || k.Permissions != model.PermRead|model.PermWrite ||
		k.QueryAlloc != 20 || k.MutationAlloc != 10 || k.Status != model.StatusActive || k.QueryUsed != 0 {
		s.t.Fatalf("created key: %+v", k)
	}
	if k.SecretHint != model.Hint(secret) || !strings.HasPrefix(secret, model.SecretPrefix) {
		s.t.Fatalf("hint %q is not the last four characters of the secret", k.SecretHint)
	}
	if !k.CreatedAt.Equal(start.Truncate(time.Millisecond)) {
		s.t.Fatalf("created at %v, want the store clock's %v", k.CreatedAt, start)
	}
	for _, id := range []string{k.ClientID, "Backend-Server-Key"} {
		if g := s.get(st, id); g.ClientID != k.ClientID || g.Name != k.Name {
			s.t.Fatalf("get %q: %+v", id, g)
		}
	}
	p, err := st.ListKeys(s.ctx, storage.ListOptions{})
	if err != nil || p.Total != 1 || p.Keys[0].ClientID != k.ClientID {
		s.t.Fatalf("list after create: %+v %v", p, err)
	}
	a := s.acct(st)
	if a.QueryHeld != 20 || a.MutationHeld != 10 || a.QueryAvailable() != model.DefaultQueryTotal-20 {
		s.t.Fatalf("account after create: %+v", a)
	}
	// A second key gets a different Client ID and secret.
	k2, secret2 := s.create(st, "Mobile-App-Key", model.PermRead, 1, 0)
	if k2.ClientID == k.ClientID || secret2 == secret {
		s.t.Fatalf("two keys share credentials")
	}
}

func testCreateValidation(s *suite) {
	st := s.open(model.DefaultAccount)
	s.create(st, "Existing", model.PermRead, 1, 1)
	before := s.acct(st)
	bad := []model.KeySpec{
		{Name: "", Permissions: model.PermRead},
		{Name: "   ", Permissions: model.PermRead},
		{Name: strings.Repeat("x", 65), Permissions: model.PermRead},
		{Name: "tab\there", Permissions: model.PermRead},
		{Name: "bell\a", Permissions: model.PermRead},
		{Name: "newline\nname", Permissions: model.PermRead},
		{Name: "ok", Permissions: 0},
		{Name: "ok", Permissions: 8},
		{Name: "ok", Permissions: model.PermRead, QueryAlloc: -1},
		{Name: "ok", Permissions: model.PermRead, MutationAlloc: -5},
		{Name: "ok", Permissions: model.PermRead, QueryAlloc: model.MaxQuota + 1},
		{Name: "bad\xffutf8", Permissions: model.PermRead},
		{Name: model.NewClientID(), Permissions: model.PermRead}, // would be unreachable by name
	}
	for _, spec := range bad {
		_, secret, err := st.CreateKey(s.ctx, spec)
		wantValidation(s.t, err)
		if secret != "" {
			s.t.Fatalf("a failed create returned a secret")
		}
	}
	// 64 characters (not bytes) is fine.
	s.create(st, strings.Repeat("é", 64), model.PermDelete, 0, 0)
	if n := s.countKeys(st); n != 2 {
		s.t.Fatalf("bad input changed the data: %d keys", n)
	}
	after := s.acct(st)
	if after.QueryHeld != before.QueryHeld || after.MutationHeld != before.MutationHeld {
		s.t.Fatalf("bad input changed what is held")
	}
}

func testDuplicateNames(s *suite) {
	st := s.open(model.DefaultAccount)
	k1, _ := s.create(st, "dup", model.PermRead, 1, 0)
	_, _, err := st.CreateKey(s.ctx, model.KeySpec{Name: "dup", Permissions: model.PermRead})
	wantErr(s.t, err, model.ErrDuplicateName)
	// Trimmed names collide too.
	_, _, err = st.CreateKey(s.ctx, model.KeySpec{Name: " dup ", Permissions: model.PermRead})
	wantErr(s.t, err, model.ErrDuplicateName)
	// The message names the name, so a CLI user knows which one.
	if !strings.Contains(err.Error(), `"dup"`) {
		s.t.Fatalf("duplicate name error without the name: %v", err)
	}
	// After revoke the name is free; the active key wins lookups by name.
	if _, err := st.RevokeKey(s.ctx, "dup", false); err != nil {
		s.t.Fatal(err)
	}
	k2, _ := s.create(st, "dup", model.PermRead, 1, 0)
	if g := s.get(st, "dup"); g.ClientID != k2.ClientID {
		s.t.Fatalf("name lookup chose %s, want the active key %s", g.ClientID, k2.ClientID)
	}
	// Two revoked keys of one name and no active one: ambiguous, and the
	// error lists the Client IDs.
	if _, err := st.RevokeKey(s.ctx, k2.ClientID, false); err != nil {
		s.t.Fatal(err)
	}
	_, err = st.GetKey(s.ctx, "dup")
	var amb *model.AmbiguousError
	if !errors.As(err, &amb) || len(amb.Matches) != 2 || !strings.Contains(err.Error(), k1.ClientID) {
		s.t.Fatalf("ambiguous name: %v", err)
	}
	// Renaming onto an active name fails.
	s.create(st, "a", model.PermRead, 0, 0)
	s.create(st, "b", model.PermRead, 0, 0)
	name := "a"
	_, err = st.EditKey(s.ctx, "b", model.KeyEdit{Name: &name})
	wantErr(s.t, err, model.ErrDuplicateName)
	if !strings.Contains(err.Error(), `"a"`) {
		s.t.Fatalf("duplicate name error without the name: %v", err)
	}
}

func testAllocationExceeded(s *suite) {
	st := s.account("acme", 60, 40, 100, model.PeriodMonthly)
	s.create(st, "Key A", model.PermRead, 20, 10)
	_, _, err := st.CreateKey(s.ctx, model.KeySpec{Name: "Key B", Permissions: model.PermRead, QueryAlloc: 41, MutationAlloc: 30})
	wantAllocation(s.t, err, model.KindQuery, 40)
	_, _, err = st.CreateKey(s.ctx, model.KeySpec{Name: "Key B", Permissions: model.PermRead, QueryAlloc: 40, MutationAlloc: 31})
	wantAllocation(s.t, err, model.KindMutation, 30)
	if n := s.countKeys(st); n != 1 {
		s.t.Fatalf("a refused create left %d keys", n)
	}
	// The doc's example fits exactly.
	s.create(st, "Key B", model.PermRead, 40, 30)
	a := s.acct(st)
	if a.QueryAvailable() != 0 || a.MutationAvailable() != 0 {
		s.t.Fatalf("after filling the totals: %+v", a)
	}
	v := int64(21)
	_, err = st.EditKey(s.ctx, "Key A", model.KeyEdit{QueryAlloc: &v})
	wantAllocation(s.t, err, model.KindQuery, 20)
	if k := s.get(st, "Key A"); k.QueryAlloc != 20 {
		s.t.Fatalf("a refused edit changed the allocation to %d", k.QueryAlloc)
	}
}

func testVerifyOutcomes(s *suite) {
	st := s.account("acme", 100, 100, 10, model.PeriodMonthly)
	k, secret := s.create(st, "rw", model.PermRead|model.PermWrite, 2, 5)
	r := s.expect(st, k.ClientID, secret, model.OpRead, 0, model.Allowed)
	if r.Kind != model.KindQuery || r.Limit != 2 || r.Remaining != 1 || r.Period != model.PeriodMonthly {
		s.t.Fatalf("allowed result: %+v", r)
	}
	if !r.ResetsAt.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || r.PeriodSeconds != 30*24*3600 {
		s.t.Fatalf("allowed result period: resets %v, seconds %d", r.ResetsAt, r.PeriodSeconds)
	}
	s.expect(st, k.ClientID, secret, model.OpWrite, 3, model.Allowed)
	// 401: wrong secret, malformed secret, unknown Client ID, malformed ID.
	s.expect(st, k.ClientID, model.NewSecret(), model.OpRead, 0, model.DeniedUnauthorized)
	s.expect(st, k.ClientID, flipLast(secret), model.OpRead, 0, model.DeniedUnauthorized)
	s.expect(st, k.ClientID, "", model.OpRead, 0, model.DeniedUnauthorized)
	s.expect(st, model.NewClientID(), secret, model.OpRead, 0, model.DeniedUnauthorized)
	s.expect(st, "nonsense", secret, model.OpRead, 0, model.DeniedUnauthorized)
	// A secret of another kind (a token) is not a secret.
	s.expect(st, k.ClientID, model.NewToken(), model.OpRead, 0, model.DeniedUnauthorized)
	// 403: the key lacks delete; checked before the quota.
	s.expect(st, k.ClientID, secret, model.OpDelete, 0, model.DeniedForbidden)
	// 429 once the Query allocation is used.
	s.expect(st, k.ClientID, secret, model.OpRead, 0, model.Allowed)
	r = s.expect(st, k.ClientID, secret, model.OpRead, 0, model.DeniedQuota)
	if r.Remaining != 0 || r.Limit != 2 {
		s.t.Fatalf("429 result: %+v", r)
	}
	// 402: more credits than the account has left (10 - 3 = 7).
	s.expect(st, k.ClientID, secret, model.OpWrite, 8, model.DeniedCredits)
	s.expect(st, k.ClientID, secret, model.OpWrite, 7, model.Allowed)
	if a := s.acct(st); a.Credits != 0 {
		s.t.Fatalf("credits left: %d, want 0", a.Credits)
	}
	got := s.get(st, k.ClientID)
	if got.QueryUsed != 2 || got.MutationUsed != 2 || got.CreditsUsed != 10 || got.LastUsedAt == nil {
		s.t.Fatalf("usage after verifies: %+v", got)
	}
	// Bad requests are errors, not verdicts.
	if _, err := st.Verify(s.ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead, Credits: -1}); err == nil {
		s.t.Fatalf("negative credits were accepted")
	}
	if _, err := st.Verify(s.ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret}); err == nil {
		s.t.Fatalf("a missing operation was accepted")
	}
}

func testDenialsConsumeNothing(s *suite) {
	st := s.account("acme", 100, 100, 5, model.PeriodMonthly)
	k, secret := s.create(st, "r", model.PermRead, 1, 3)
	s.expect(st, k.ClientID, secret, model.OpRead, 0, model.Allowed)
	before, beforeAcct := s.get(st, k.ClientID), s.acct(st)
	for range 3 {
		s.expect(st, k.ClientID, model.NewSecret(), model.OpRead, 0, model.DeniedUnauthorized)
		s.expect(st, k.ClientID, secret, model.OpWrite, 0, model.DeniedForbidden)
		s.expect(st, k.ClientID, secret, model.OpRead, 0, model.DeniedQuota)
	}
	after, afterAcct := s.get(st, k.ClientID), s.acct(st)
	if after.QueryUsed != before.QueryUsed || after.MutationUsed != before.MutationUsed || afterAcct.Credits != beforeAcct.Credits {
		s.t.Fatalf("denials consumed usage: before %+v after %+v", before, after)
	}
	s.eventually("denial counts in the usage history", func() bool {
		u := s.today(st, k.ClientID)
		return u.Denied401 == 3 && u.Denied403 == 3 && u.Denied429 == 3 && u.Queries == 1 && u.Mutations == 0
	})
}

func testExactQuota(s *suite) {
	st := s.open(model.DefaultAccount)
	k, secret := s.create(st, "hot", model.PermRead, 50, 0)
	var allowed, quota atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			r, err := st.Verify(s.ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead})
			if err != nil {
				s.t.Errorf("verify: %v", err)
				return
			}
			switch r.Verdict {
			case model.Allowed:
				allowed.Add(1)
			case model.DeniedQuota:
				quota.Add(1)
			default:
				s.t.Errorf("unexpected verdict %v", r.Verdict)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 50 || quota.Load() != 150 {
		s.t.Fatalf("allowed %d, quota exceeded %d; want 50 and 150", allowed.Load(), quota.Load())
	}
	if got := s.get(st, k.ClientID); got.QueryUsed != 50 {
		s.t.Fatalf("recorded usage %d, want 50", got.QueryUsed)
	}
	if u := s.today(st, k.ClientID); u.Queries != 50 {
		s.t.Fatalf("usage history %d queries, want 50", u.Queries)
	}
}

func testConcurrentCreates(s *suite) {
	st := s.account("acme", 300, 1000, 0, model.PeriodMonthly)
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			_, _, err := st.CreateKey(s.ctx, model.KeySpec{Name: fmt.Sprintf("k%03d", i), Permissions: model.PermRead, QueryAlloc: 7, MutationAlloc: 1})
			switch {
			case err == nil:
				ok.Add(1)
			case model.IsAllocation(err):
				refused.Add(1)
			default:
				s.t.Errorf("create: %v", err)
			}
		})
	}
	wg.Wait()
	a := s.acct(st)
	if a.QueryHeld > a.QueryTotal {
		s.t.Fatalf("keys hold %d of a total of %d", a.QueryHeld, a.QueryTotal)
	}
	if ok.Load() != 300/7 || refused.Load() != 100-300/7 || a.QueryHeld != 300/7*7 {
		s.t.Fatalf("created %d, refused %d, held %d; want %d created", ok.Load(), refused.Load(), a.QueryHeld, 300/7)
	}
}

func testTwoProcessesVerify(s *suite) {
	st := s.open(model.DefaultAccount)
	k, secret := s.create(st, "shared", model.PermRead, 300, 0)
	// Two other processes and this one hammer the same key, each with a few
	// workers sending one request after another, so that commits of the
	// three processes interleave for the whole run.
	var allowedHere atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 100 {
					r, err := st.Verify(s.ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead})
					if err == nil && r.Verdict == model.Allowed {
						allowedHere.Add(1)
					}
				}
			})
		}
		wg.Wait()
	}()
	res := s.children("verify", 2, map[string]string{
		"KEYDECK_STORETEST_CLIENT_ID": k.ClientID, "KEYDECK_STORETEST_SECRET": secret, "KEYDECK_STORETEST_N": "100"})
	<-done
	total := allowedHere.Load() + res[0] + res[1]
	if total != 300 {
		s.t.Fatalf("three processes were allowed %d (%d here, %d and %d), want exactly 300", total, allowedHere.Load(), res[0], res[1])
	}
	if got := s.get(st, k.ClientID); got.QueryUsed != 300 {
		s.t.Fatalf("recorded usage %d, want 300", got.QueryUsed)
	}
}

func testTwoProcessesCreate(s *suite) {
	st := s.account("acme", 500, 500, 0, model.PeriodMonthly)
	res := s.children("create", 2, map[string]string{"KEYDECK_STORETEST_ACCOUNT": "acme", "KEYDECK_STORETEST_N": "50", "KEYDECK_STORETEST_ALLOC": "9"})
	a := s.acct(st)
	if a.QueryHeld > a.QueryTotal || a.MutationHeld > a.MutationTotal {
		s.t.Fatalf("two processes made keys hold %d/%d of totals %d/%d", a.QueryHeld, a.MutationHeld, a.QueryTotal, a.MutationTotal)
	}
	if res[0]+res[1] != 500/9 || a.ActiveKeys != 500/9 {
		s.t.Fatalf("two processes created %d+%d keys (%d active), want %d in all", res[0], res[1], a.ActiveKeys, 500/9)
	}
}

func testRegenerate(s *suite) {
	st := s.open(model.DefaultAccount)
	k, old := s.create(st, "rot", model.PermRead|model.PermWrite, 10, 10)
	s.expect(st, k.ClientID, old, model.OpRead, 0, model.Allowed)
	s.expect(st, k.ClientID, old, model.OpWrite, 0, model.Allowed)
	s.clock.Add(time.Hour)
	k2, fresh, err := st.RegenerateKey(s.ctx, k.ClientID)
	if err != nil {
		s.t.Fatal(err)
	}
	if fresh == old || model.CheckSecret(model.SecretPrefix, fresh) != nil {
		s.t.Fatalf("regenerate did not return a fresh well-formed secret")
	}
	if k2.ClientID != k.ClientID || k2.QueryAlloc != 10 || k2.MutationAlloc != 10 || k2.QueryUsed != 1 || k2.MutationUsed != 1 ||
		k2.Permissions != k.Permissions || k2.Name != k.Name || !k2.CreatedAt.Equal(k.CreatedAt) || k2.SecretHint != model.Hint(fresh) {
		s.t.Fatalf("regenerate changed more than the secret: before %+v after %+v", k, k2)
	}
	if !k2.SecretRotatedAt.After(k.SecretRotatedAt) {
		s.t.Fatalf("secret rotation time not updated")
	}
	s.expect(st, k.ClientID, old, model.OpRead, 0, model.DeniedUnauthorized)
	s.expect(st, k.ClientID, fresh, model.OpRead, 0, model.Allowed)
	if u := s.today(st, k.ClientID); u.Queries != 2 || u.Mutations != 1 {
		s.t.Fatalf("history after regenerate: %+v", u)
	}
	// A revoked key cannot be regenerated.
	if _, err := st.RevokeKey(s.ctx, k.ClientID, false); err != nil {
		s.t.Fatal(err)
	}
	_, sec, err := st.RegenerateKey(s.ctx, k.ClientID)
	wantErr(s.t, err, model.ErrRevoked)
	if sec != "" {
		s.t.Fatalf("a refused regenerate returned a secret")
	}
}

func testRevokeReturns(s *suite) {
	st := s.account("acme", 100, 50, 0, model.PeriodMonthly)
	k, secret := s.create(st, "gone", model.PermRead, 30, 20)
	for range 5 {
		s.expect(st, k.ClientID, secret, model.OpRead, 0, model.Allowed)
	}
	rk, err := st.RevokeKey(s.ctx, k.ClientID, false)
	if err != nil {
		s.t.Fatal(err)
	}
	if rk.Status != model.StatusRevoked || rk.RevokedAt == nil || rk.KeepsAllocation {
		s.t.Fatalf("revoked key: %+v", rk)
	}
	s.expect(st, k.ClientID, secret, model.OpRead, 0, model.DeniedUnauthorized)
	a := s.acct(st)
	// The allocation is back; what was used this period stays held.
	if a.QueryHeld != 5 || a.MutationHeld != 0 || a.RevokedKeys != 1 || a.ActiveKeys != 0 {
		s.t.Fatalf("after revoke: %+v", a)
	}
	// History stays; the key is hidden from the default list but listed with revoked ones.
	if u := s.today(st, k.ClientID); u.Queries != 5 {
		s.t.Fatalf("history after revoke: %+v", u)
	}
	if p, _ := st.ListKeys(s.ctx, storage.ListOptions{}); p.Total != 0 {
		s.t.Fatalf("revoked key listed by default")
	}
	if p, _ := st.ListKeys(s.ctx, storage.ListOptions{IncludeRevoked: true}); p.Total != 1 || p.Keys[0].Status != model.StatusRevoked {
		s.t.Fatalf("revoked key missing from the full list")
	}
	// Revoking twice, editing or releasing a returned key are refused.
	_, err = st.RevokeKey(s.ctx, k.ClientID, false)
	wantErr(s.t, err, model.ErrRevoked)
	n := "x"
	_, err = st.EditKey(s.ctx, k.ClientID, model.KeyEdit{Name: &n})
	wantErr(s.t, err, model.ErrRevoked)
	_, err = st.ReleaseKey(s.ctx, k.ClientID)
	wantErr(s.t, err, model.ErrNothingHeld)
}

func testRevokeKeeps(s *suite) {
	st := s.account("acme", 100, 50, 0, model.PeriodMonthly)
	k, _ := s.create(st, "kept", model.PermRead, 30, 20)
	active, _ := s.create(st, "active", model.PermRead, 1, 1)
	_, err := st.ReleaseKey(s.ctx, active.ClientID)
	wantErr(s.t, err, model.ErrNotRevoked)
	rk, err := st.RevokeKey(s.ctx, k.ClientID, true)
	if err != nil || !rk.KeepsAllocation {
		s.t.Fatalf("revoke keeping allocation: %+v %v", rk, err)
	}
	if a := s.acct(st); a.QueryHeld != 31 || a.MutationHeld != 21 {
		s.t.Fatalf("kept allocation not held: %+v", a)
	}
	if _, err := st.ReleaseKey(s.ctx, k.ClientID); err != nil {
		s.t.Fatal(err)
	}
	if a := s.acct(st); a.QueryHeld != 1 || a.MutationHeld != 1 {
		s.t.Fatalf("released allocation still held: %+v", a)
	}
	_, err = st.ReleaseKey(s.ctx, k.ClientID)
	wantErr(s.t, err, model.ErrNothingHeld)
}

func testRevokeRecreate(s *suite) {
	st := s.account("acme", 100, 0, 0, model.PeriodMonthly)
	var allowed int64
	// Use up a key, revoke it, make another: in one period the keys can
	// never be allowed more than the total.
	for i := range 5 {
		avail := s.acct(st).QueryAvailable()
		k, secret := s.create(st, fmt.Sprintf("round%d", i), model.PermRead, avail, 0)
		for range avail + 3 {
			if s.verify(st, k.ClientID, secret, model.OpRead, 0).Verdict == model.Allowed {
				allowed++
			}
		}
		if _, err := st.RevokeKey(s.ctx, k.ClientID, false); err != nil {
			s.t.Fatal(err)
		}
	}
	if allowed != 100 {
		s.t.Fatalf("revoke-and-recreate allowed %d operations in one period, want the total 100", allowed)
	}
	_, _, err := st.CreateKey(s.ctx, model.KeySpec{Name: "more", Permissions: model.PermRead, QueryAlloc: 1})
	wantAllocation(s.t, err, model.KindQuery, 0)
}

func testMonthBoundary(s *suite) {
	st := s.account("acme", 10, 10, 100, model.PeriodMonthly)
	k, secret := s.create(st, "monthly", model.PermRead, 3, 0)
	old, oldSecret := s.create(st, "old", model.PermRead, 4, 0)
	for range 3 {
		s.expect(st, k.ClientID, secret, model.OpRead, 0, model.Allowed)
		s.expect(st, old.ClientID, oldSecret, model.OpRead, 0, model.Allowed)
	}
	s.expect(st, k.ClientID, secret, model.OpRead, 0, model.DeniedQuota)
	if _, err := st.RevokeKey(s.ctx, old.ClientID, false); err != nil {
		s.t.Fatal(err)
	}
	if a := s.acct(st); a.QueryHeld != 6 {
		s.t.Fatalf("held before the month ends: %d, want 3 + 3", a.QueryHeld)
	}
	// Last millisecond of November: still exhausted.
	s.clock.Set(time.Date(2026, 11, 30, 23, 59, 59, 999e6, time.UTC))
	s.expect(st, k.ClientID, secret, model.OpRead, 0, model.DeniedQuota)
	// December, UTC: usage resets, the revoked key's usage no longer counts.
	s.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	got := s.get(st, k.ClientID)
	if got.QueryUsed != 0 || got.ResetsAt == nil || !got.ResetsAt.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		s.t.Fatalf("key in the new month: %+v", got)
	}
	if a := s.acct(st); a.QueryHeld != 3 {
		s.t.Fatalf("held in the new month: %d, want 3", a.QueryHeld)
	}
	r := s.expect(st, k.ClientID, secret, model.OpRead, 0, model.Allowed)
	if r.Remaining != 2 || r.PeriodSeconds != 31*24*3600 {
		s.t.Fatalf("first verify of December: %+v", r)
	}
	// History keeps both days.
	u, err := st.Usage(s.ctx, k.ClientID, 30)
	if err != nil {
		s.t.Fatal(err)
	}
	var sum int64
	for _, d := range u {
		sum += d.Queries
	}
	if sum != 4 || u[len(u)-1].Day != "2026-12-01" || u[len(u)-1].Queries != 1 {
		s.t.Fatalf("history across the boundary: %d queries, last day %+v", sum, u[len(u)-1])
	}
}

func testPeriodNone(s *suite) {
	st := s.account("forever", 5, 5, 0, model.PeriodNone)
	k, secret := s.create(st, "once", model.PermRead, 2, 0)
	s.expect(st, k.ClientID, secret, model.OpRead, 0, model.Allowed)
	r := s.expect(st, k.ClientID, secret, model.OpRead, 0, model.Allowed)
	if r.PeriodSeconds != 0 || !r.ResetsAt.IsZero() || r.Period != model.PeriodNone {
		s.t.Fatalf("period none result: %+v", r)
	}
	s.clock.Add(24 * time.Hour * 62)
	s.expect(st, k.ClientID, secret, model.OpRead, 0, model.DeniedQuota)
	if a := s.acct(st); a.ResetsAt != nil || a.QueryHeld != 2 {
		s.t.Fatalf("period none account: %+v", a)
	}
}

func testEditKey(s *suite) {
	st := s.account("acme", 100, 100, 0, model.PeriodMonthly)
	k, secret := s.create(st, "edit-me", model.PermRead, 10, 10)
	for range 6 {
		s.expect(st, k.ClientID, secret, model.OpRead, 0, model.Allowed)
	}
	name, perm, q, m := "Edited", model.PermRead|model.PermDelete, int64(4), int64(50)
	k2, err := st.EditKey(s.ctx, "edit-me", model.KeyEdit{Name: &name, Permissions: &perm, QueryAlloc: &q, MutationAlloc: &m})
	if err != nil {
		s.t.Fatal(err)
	}
	if k2.Name != name || k2.Permissions != perm || k2.QueryAlloc != 4 || k2.MutationAlloc != 50 || k2.ClientID != k.ClientID || k2.QueryUsed != 6 {
		s.t.Fatalf("edited key: %+v", k2)
	}
	// Lowered below usage: exhausted for the rest of the period, and it
	// still holds what it used.
	s.expect(st, k.ClientID, secret, model.OpRead, 0, model.DeniedQuota)
	s.expect(st, k.ClientID, secret, model.OpDelete, 0, model.Allowed)
	if a := s.acct(st); a.QueryHeld != 6 || a.MutationHeld != 50 {
		s.t.Fatalf("held after lowering below usage: %+v", a)
	}
	// The new permissions apply at once: write is still forbidden.
	s.expect(st, k.ClientID, secret, model.OpWrite, 0, model.DeniedForbidden)
	bad := model.Permission(0)
	_, err = st.EditKey(s.ctx, k.ClientID, model.KeyEdit{Permissions: &bad})
	wantValidation(s.t, err)
	_, err = st.EditKey(s.ctx, k.ClientID, model.KeyEdit{})
	wantValidation(s.t, err)
	neg := int64(-1)
	_, err = st.EditKey(s.ctx, k.ClientID, model.KeyEdit{MutationAlloc: &neg})
	wantValidation(s.t, err)
	big := int64(95)
	_, err = st.EditKey(s.ctx, k.ClientID, model.KeyEdit{QueryAlloc: &big})
	if err != nil {
		s.t.Fatalf("raising to what is available: %v", err)
	}
	big = 101
	_, err = st.EditKey(s.ctx, k.ClientID, model.KeyEdit{QueryAlloc: &big})
	wantAllocation(s.t, err, model.KindQuery, 100)
}

func testAccountTotal(s *suite) {
	st := s.account("acme", 100, 100, 0, model.PeriodMonthly)
	s.create(st, "k", model.PermRead, 60, 30)
	low := int64(59)
	_, err := s.env.Admin.UpdateAccount(s.ctx, "test", "acme", model.AccountUpdate{QueryTotal: &low})
	var ae *model.AllocationError
	if !errors.As(err, &ae) || !ae.Total || ae.Available != 60 {
		s.t.Fatalf("lowering the total below what is held: %v", err)
	}
	ok, credits := int64(60), int64(5)
	a, err := s.env.Admin.UpdateAccount(s.ctx, "test", "acme", model.AccountUpdate{QueryTotal: &ok, AddCredits: &credits})
	if err != nil || a.QueryTotal != 60 || a.Credits != 5 {
		s.t.Fatalf("update account: %+v %v", a, err)
	}
	if got := s.acct(st); got.QueryTotal != 60 || got.QueryAvailable() != 0 || got.Credits != 5 {
		s.t.Fatalf("the store does not see the new total: %+v", got)
	}
	take := int64(-6)
	_, err = s.env.Admin.UpdateAccount(s.ctx, "test", "acme", model.AccountUpdate{AddCredits: &take})
	wantValidation(s.t, err)
}

func testListPaging(s *suite) {
	st := s.open(model.DefaultAccount)
	var ids []string
	for i := range 25 {
		name := fmt.Sprintf("svc-%02d", (i*7)%25)
		if i == 3 {
			name = "Video-Pipeline-Key"
		}
		k, secret := s.create(st, name, model.PermRead, 100, 0)
		ids = append(ids, k.ClientID)
		for range i % 5 {
			s.expect(st, k.ClientID, secret, model.OpRead, 0, model.Allowed)
		}
		s.clock.Add(time.Second)
	}
	if _, err := st.RevokeKey(s.ctx, ids[0], false); err != nil {
		s.t.Fatal(err)
	}
	for _, sort := range []storage.Sort{storage.SortCreated, storage.SortName, storage.SortUsage} {
		for _, revoked := range []bool{false, true} {
			want := 24
			if revoked {
				want = 25
			}
			seen := map[string]bool{}
			var all []model.Key
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 10 {
					s.t.Fatalf("paging does not end")
				}
				p, err := st.ListKeys(s.ctx, storage.ListOptions{Sort: sort, Limit: 10, Cursor: cursor, IncludeRevoked: revoked})
				if err != nil {
					s.t.Fatal(err)
				}
				if p.Total != want {
					s.t.Fatalf("sort %s: total %d, want %d", sort, p.Total, want)
				}
				for _, k := range p.Keys {
					if seen[k.ClientID] {
						s.t.Fatalf("sort %s: %s listed twice", sort, k.Name)
					}
					seen[k.ClientID] = true
					all = append(all, k)
				}
				if p.NextCursor == "" {
					break
				}
				cursor = p.NextCursor
			}
			if len(all) != want {
				s.t.Fatalf("sort %s: paged through %d keys, want %d", sort, len(all), want)
			}
			for i := 1; i < len(all); i++ {
				a, b := all[i-1], all[i]
				var ok bool
				switch sort {
				case storage.SortCreated:
					ok = !a.CreatedAt.Before(b.CreatedAt)
				case storage.SortName:
					ok = a.Name <= b.Name
				case storage.SortUsage:
					ok = a.QueryUsed+a.MutationUsed >= b.QueryUsed+b.MutationUsed
				}
				if !ok {
					s.t.Fatalf("sort %s: %q before %q", sort, a.Name, b.Name)
				}
			}
		}
	}
	p, err := st.ListKeys(s.ctx, storage.ListOptions{Query: "pipeline"})
	if err != nil || p.Total != 1 || p.Keys[0].Name != "Video-Pipeline-Key" {
		s.t.Fatalf("filter by name substring: %+v %v", p, err)
	}
	p, err = st.ListKeys(s.ctx, storage.ListOptions{Query: ids[5][4:14]})
	if err != nil || p.Total != 1 || p.Keys[0].ClientID != ids[5] {
		s.t.Fatalf("filter by Client ID substring: %+v %v", p, err)
	}
	p, err = st.ListKeys(s.ctx, storage.ListOptions{Query: "%"})
	if err != nil || p.Total != 0 {
		s.t.Fatalf("a %% in the filter is a wildcard: %+v %v", p.Total, err)
	}
	p, err = st.ListKeys(s.ctx, storage.ListOptions{Name: "svc-07"})
	if err != nil || p.Total != 1 || p.Keys[0].Name != "svc-07" {
		s.t.Fatalf("filter by exact name: %+v %v", p, err)
	}
	_, err = st.ListKeys(s.ctx, storage.ListOptions{Cursor: "garbage!"})
	wantValidation(s.t, err)
	_, err = st.ListKeys(s.ctx, storage.ListOptions{Sort: "sideways"})
	wantValidation(s.t, err)
}

func testUsageHistory(s *suite) {
	st := s.open(model.DefaultAccount)
	k, secret := s.create(st, "hist", model.PermRead|model.PermWrite, 100, 100)
	s.expect(st, k.ClientID, secret, model.OpRead, 0, model.Allowed)
	s.clock.Add(24 * time.Hour)
	s.expect(st, k.ClientID, secret, model.OpWrite, 2, model.Allowed)
	s.expect(st, k.ClientID, secret, model.OpWrite, 0, model.Allowed)
	u, err := st.Usage(s.ctx, k.Name, 30)
	if err != nil {
		s.t.Fatal(err)
	}
	if len(u) != 30 || u[29].Day != model.Day(s.clock.Now()) || u[28].Queries != 1 || u[29].Mutations != 2 || u[29].Credits != 2 {
		s.t.Fatalf("30 days of usage: len %d, last two %+v %+v", len(u), u[28], u[29])
	}
	for _, bad := range []int{0, -1, 367} {
		_, err := st.Usage(s.ctx, k.Name, bad)
		wantValidation(s.t, err)
	}
}

func testAuditLog(s *suite) {
	st := s.open(model.DefaultAccount)
	k, secret := s.create(st, "audited", model.PermRead, 1, 1)
	name := "audited-2"
	if _, err := st.EditKey(s.ctx, k.ClientID, model.KeyEdit{Name: &name}); err != nil {
		s.t.Fatal(err)
	}
	_, secret2, err := st.RegenerateKey(s.ctx, k.ClientID)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := st.RevokeKey(s.ctx, k.ClientID, false); err != nil {
		s.t.Fatal(err)
	}
	other, _ := s.create(st, "other", model.PermRead, 0, 0)
	ev, err := st.Audit(s.ctx, storage.AuditFilter{Key: k.ClientID})
	if err != nil {
		s.t.Fatal(err)
	}
	var actions []string
	for _, e := range ev {
		actions = append(actions, e.Action)
		if e.Actor == "" || e.ClientID != k.ClientID || e.At.IsZero() {
			s.t.Fatalf("audit event lacks actor, key or time: %+v", e)
		}
		for _, sec := range []string{secret, secret2} {
			if strings.Contains(e.Details, sec) || strings.Contains(e.Details, sec[4:20]) {
				s.t.Fatalf("a secret appears in the audit log")
			}
		}
	}
	want := []string{model.AuditKeyRevoke, model.AuditKeyRegenerate, model.AuditKeyEdit, model.AuditKeyCreate}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		s.t.Fatalf("audit actions newest first: %v, want %v", actions, want)
	}
	all, err := st.Audit(s.ctx, storage.AuditFilter{})
	if err != nil || len(all) < 5 || all[0].ClientID != other.ClientID {
		s.t.Fatalf("account audit log: %d events, %v", len(all), err)
	}
	one, err := st.Audit(s.ctx, storage.AuditFilter{Limit: 1})
	if err != nil || len(one) != 1 {
		s.t.Fatalf("audit limit: %d %v", len(one), err)
	}
}

func testUnknownIDs(s *suite) {
	st := s.open(model.DefaultAccount)
	s.create(st, "real", model.PermRead, 1, 1)
	for _, id := range []string{"nope", model.NewClientID(), "kdc_", "real "} {
		_, err := st.GetKey(s.ctx, id)
		wantErr(s.t, err, model.ErrKeyNotFound)
		wantErr(s.t, err, model.ErrNotFound)
		renamed := "renamed"
		_, err = st.EditKey(s.ctx, id, model.KeyEdit{Name: &renamed})
		wantErr(s.t, err, model.ErrKeyNotFound)
		_, _, err = st.RegenerateKey(s.ctx, id)
		wantErr(s.t, err, model.ErrKeyNotFound)
		_, err = st.RevokeKey(s.ctx, id, false)
		wantErr(s.t, err, model.ErrKeyNotFound)
		_, err = st.ReleaseKey(s.ctx, id)
		wantErr(s.t, err, model.ErrKeyNotFound)
		_, err = st.Usage(s.ctx, id, 30)
		wantErr(s.t, err, model.ErrKeyNotFound)
		_, err = st.Audit(s.ctx, storage.AuditFilter{Key: id})
		wantErr(s.t, err, model.ErrKeyNotFound)
	}
	if n := s.countKeys(st); n != 1 {
		s.t.Fatalf("unknown IDs changed the data: %d keys", n)
	}
}

func testIsolation(s *suite) {
	a := s.account("alpha", 100, 100, 10, model.PeriodMonthly)
	b := s.account("beta", 100, 100, 10, model.PeriodMonthly)
	ka, secret := s.create(a, "shared-name", model.PermRead, 5, 5)
	kb, _ := s.create(b, "shared-name", model.PermRead, 7, 7)
	if g := s.get(b, "shared-name"); g.ClientID != kb.ClientID {
		s.t.Fatalf("beta sees alpha's key by name")
	}
	_, err := b.GetKey(s.ctx, ka.ClientID)
	wantErr(s.t, err, model.ErrKeyNotFound)
	_, err = b.RevokeKey(s.ctx, ka.ClientID, false)
	wantErr(s.t, err, model.ErrKeyNotFound)
	_, _, err = b.RegenerateKey(s.ctx, ka.ClientID)
	wantErr(s.t, err, model.ErrKeyNotFound)
	p, err := b.ListKeys(s.ctx, storage.ListOptions{IncludeRevoked: true})
	if err != nil || p.Total != 1 || p.Keys[0].ClientID != kb.ClientID {
		s.t.Fatalf("beta's list: %+v %v", p, err)
	}
	ev, err := b.Audit(s.ctx, storage.AuditFilter{})
	if err != nil {
		s.t.Fatal(err)
	}
	for _, e := range ev {
		if e.Account != "beta" {
			s.t.Fatalf("beta sees alpha's audit event %+v", e)
		}
	}
	// Alpha's key still works, and beta's totals are its own.
	s.expect(a, ka.ClientID, secret, model.OpRead, 0, model.Allowed)
	if acct := s.acct(b); acct.QueryHeld != 7 {
		s.t.Fatalf("beta holds %d, want 7", acct.QueryHeld)
	}
}

// ---- child processes ----

const childEnv = "KEYDECK_STORETEST_CHILD"

var resultLine = regexp.MustCompile(`(?m)^STORETEST-RESULT (\d+)$`)

// children runs n copies of a child workload in other OS processes at
// once and returns what each counted.
func (s *suite) children(mode string, n int, env map[string]string) []int64 {
	s.t.Helper()
	top := strings.SplitN(s.t.Name(), "/", 2)[0]
	type out struct {
		b   []byte
		err error
	}
	outs := make([]out, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+regexp.QuoteMeta(top)+"$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+mode, "KEYDECK_STORETEST_DB="+s.path,
				"KEYDECK_STORETEST_NOW="+strconv.FormatInt(s.clock.Now().UnixNano(), 10),
				"KEYDECK_STORETEST_CHILD_NO="+strconv.Itoa(i),
				// Under -race a child would sleep a second at exit
				// (atexit_sleep_ms) before the parent could read its count.
				"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=50"))
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			b, err := cmd.CombinedOutput()
			outs[i] = out{b, err}
		})
	}
	wg.Wait()
	res := make([]int64, n)
	for i, o := range outs {
		m := resultLine.FindSubmatch(o.b)
		if o.err != nil || m == nil {
			s.t.Fatalf("child process %d failed: %v\n%s", i, o.err, redact(o.b, env))
		}
		res[i], _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	return res
}

// redact keeps the secret a child was given out of the test log.
func redact(b []byte, env map[string]string) string {
	out := string(b)
	if sec := env["KEYDECK_STORETEST_SECRET"]; sec != "" {
		out = strings.ReplaceAll(out, sec, "[secret]")
	}
	return out
}

// runChild does a child process's work and prints its count.
func runChild(t *testing.T, f Factory) {
	ns, _ := strconv.ParseInt(os.Getenv("KEYDECK_STORETEST_NOW"), 10, 64)
	clock := NewClock(time.Unix(0, ns).UTC())
	env := f(t, clock, os.Getenv("KEYDECK_STORETEST_DB"))
	n, _ := strconv.Atoi(os.Getenv("KEYDECK_STORETEST_N"))
	ctx := context.Background()
	var count atomic.Int64
	var wg sync.WaitGroup
	switch os.Getenv(childEnv) {
	case "verify":
		st := env.Open(t, model.DefaultAccount)
		defer st.Close()
		req := model.VerifyRequest{ClientID: os.Getenv("KEYDECK_STORETEST_CLIENT_ID"), ClientSecret: os.Getenv("KEYDECK_STORETEST_SECRET"), Operation: model.OpRead}
		for range 4 {
			wg.Go(func() {
				for range n {
					r, err := st.Verify(ctx, req)
					if err != nil {
						t.Errorf("verify: %v", err)
						return
					}
					if r.Verdict == model.Allowed {
						count.Add(1)
					}
				}
			})
		}
	case "create":
		st := env.Open(t, os.Getenv("KEYDECK_STORETEST_ACCOUNT"))
		defer st.Close()
		alloc, _ := strconv.ParseInt(os.Getenv("KEYDECK_STORETEST_ALLOC"), 10, 64)
		me := os.Getenv("KEYDECK_STORETEST_CHILD_NO")
		for i := range n {
			wg.Go(func() {
				_, _, err := st.CreateKey(ctx, model.KeySpec{Name: fmt.Sprintf("p%s-%d", me, i), Permissions: model.PermRead, QueryAlloc: alloc, MutationAlloc: alloc})
				switch {
				case err == nil:
					count.Add(1)
				case model.IsAllocation(err):
				default:
					t.Errorf("create: %v", err)
				}
			})
		}
	default:
		t.Fatalf("unknown child mode")
	}
	wg.Wait()
	fmt.Printf("STORETEST-RESULT %d\n", count.Load())
}
