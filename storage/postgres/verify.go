package postgres

import (
	"context"
	"errors"

	"github.com/keydeck/keydeck/model"
)

// STUB: replaced by the group-committing writer before this lands.
type writer struct{}

func newWriter(db *DB) *writer { return &writer{} }
func (w *writer) close()       {}

// Verify checks a key's credentials and consumes one unit when allowed.
func (db *DB) Verify(ctx context.Context, req model.VerifyRequest) (model.VerifyResult, error) {
	return model.VerifyResult{}, errors.New("postgres verify: not yet")
}
