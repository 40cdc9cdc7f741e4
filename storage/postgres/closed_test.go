package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
	"github.com/keydeck/keydeck/storage/storetest"
)

// Management calls after Close are storage.ErrClosed, as on the other
// stores, not pgx's "closed pool".
func TestClosedIsErrClosed(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	db, err := postgres.Open(context.Background(), url, postgres.Options{Clock: storetest.NewClock(t0).Now})
	if err != nil {
		t.Fatal(err)
	}
	st, err := db.Store(model.DefaultAccount, "test")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	ctx := context.Background()
	calls := map[string]error{}
	_, _, calls["CreateKey"] = st.CreateKey(ctx, model.KeySpec{Name: "k", Permissions: model.PermRead})
	_, calls["ListKeys"] = st.ListKeys(ctx, storage.ListOptions{})
	_, calls["Account"] = st.Account(ctx)
	_, _, calls["CreateAccount"] = db.CreateAccount(ctx, "test", "other", model.AccountUpdate{})
	_, calls["ListAccounts"] = db.Accounts(ctx)
	for name, err := range calls {
		if !errors.Is(err, storage.ErrClosed) || strings.Contains(err.Error(), "closed pool") {
			t.Errorf("%s after Close: %v; want storage.ErrClosed", name, err)
		}
	}
}

// Open takes the scheme in any case, as URLs allow.
func TestOpenUpperCaseScheme(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	rest := strings.TrimPrefix(url, "postgres://")
	for _, u := range []string{"POSTGRES://" + rest, "PostgreSQL://" + rest, " postgresql://" + rest + " "} {
		db, err := postgres.Open(context.Background(), u, postgres.Options{})
		if err != nil {
			t.Fatalf("open %s: %v", postgres.ShowURL(u), err)
		}
		db.Close()
	}
}
