package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keydeck/keydeck/storage/postgres/pgtest"
)

// tx runs a transaction again after a deadlock or serialization failure,
// a few times, and not after any other error.
func TestTxRetries(t *testing.T) {
	db, err := Open(context.Background(), pgtest.Schema(t, t.Name()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, c := range []struct {
		code     string
		failures int
		runs     int
		ok       bool
	}{
		{"40P01", 2, 3, true},
		{"40001", 1, 2, true},
		{"40P01", 100, txAttempts, false},
		{"23505", 1, 1, false},
	} {
		runs := 0
		err := db.tx(ctx, func(tx pgx.Tx) error {
			runs++
			if _, err := tx.Exec(ctx, `SELECT 1`); err != nil {
				return err
			}
			if runs <= c.failures {
				return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: c.code, Message: "injected"})
			}
			return nil
		})
		if runs != c.runs || (err == nil) != c.ok {
			t.Errorf("%s failing %d times: ran %d times (want %d), err %v", c.code, c.failures, runs, c.runs, err)
		}
	}
	// A real deadlock between two transactions: one of them is chosen as
	// the victim, retried, and both succeed.
	if _, err := db.pool.Exec(ctx, `CREATE TABLE dl (id int PRIMARY KEY, v int); INSERT INTO dl VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{}, 2)
	errs := make(chan error, 2)
	var runs atomic.Int32
	for _, order := range [][2]int{{1, 2}, {2, 1}} {
		go func() {
			first := true
			errs <- db.tx(ctx, func(tx pgx.Tx) error {
				runs.Add(1)
				if _, err := tx.Exec(ctx, `UPDATE dl SET v = v + 1 WHERE id = $1`, order[0]); err != nil {
					return err
				}
				if first {
					first = false
					ready <- struct{}{}
					for len(ready) < 2 {
						// Wait until both hold their first lock.
						if _, err := tx.Exec(ctx, `SELECT pg_sleep(0.01)`); err != nil {
							return err
						}
					}
				}
				_, err := tx.Exec(ctx, `UPDATE dl SET v = v + 1 WHERE id = $1`, order[1])
				return err
			})
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("deadlocked transaction not retried: %v", err)
		}
	}
	var sum int
	if err := db.pool.QueryRow(ctx, `SELECT sum(v) FROM dl`).Scan(&sum); err != nil || sum != 4 {
		t.Fatalf("sum %d, want 4 (%v)", sum, err)
	}
	if n := runs.Load(); n != 3 {
		t.Fatalf("%d runs, want 3: one deadlock victim run again", n)
	}
}
