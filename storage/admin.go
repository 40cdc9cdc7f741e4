package storage

import (
	"context"

	"github.com/keydeck/keydeck/model"
)

// Admin manages accounts, their API tokens and SSH keys, and hands out a
// Store per account. Only a local database implements it: administration
// is for whoever can open the file.
type Admin interface {
	Accounts(ctx context.Context) ([]model.Account, error)
	// Stats counts accounts and keys without computing any account's sums:
	// cheap enough for health checks and metrics.
	Stats(ctx context.Context) (model.Stats, error)
	AccountByName(ctx context.Context, name string) (model.Account, error)
	// CreateAccount makes an account and returns its first API token.
	CreateAccount(ctx context.Context, actor, name string, set model.AccountUpdate) (model.Account, string, error)
	// UpdateAccount changes totals, credits or period; a total below what the
	// keys hold is refused with a *model.AllocationError.
	UpdateAccount(ctx context.Context, actor, name string, set model.AccountUpdate) (model.Account, error)
	// RotateToken replaces the account's API token and returns the new one.
	RotateToken(ctx context.Context, actor, name string) (string, error)
	// AuthenticateToken returns the account a token belongs to, or
	// model.ErrUnauthorized. The account's held sums and key counts are
	// not filled in (read them through Store(...).Account).
	AuthenticateToken(ctx context.Context, token string) (model.Account, error)

	AddSSHKey(ctx context.Context, actor, account string, key model.SSHKey) (model.SSHKey, error)
	SSHKeys(ctx context.Context, account string) ([]model.SSHKey, error)
	RemoveSSHKey(ctx context.Context, actor, account, fingerprint string) error
	// AccountForSSHKey returns the account an SSH key fingerprint opens, or
	// model.ErrSSHKeyNotFound; like AuthenticateToken, without held sums.
	AccountForSSHKey(ctx context.Context, fingerprint string) (model.Account, error)

	// Store returns the key store of one account, acting as actor.
	Store(account, actor string) (Store, error)
	// Verify is Store.Verify without choosing an account.
	Verify(ctx context.Context, req model.VerifyRequest) (model.VerifyResult, error)
	// Backup writes an online, consistent copy of the database to path.
	Backup(ctx context.Context, path string) error
	Close() error
}
