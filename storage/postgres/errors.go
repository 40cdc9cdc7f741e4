package postgres

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// wrapErr turns PostgreSQL errors into the storage and model errors every
// store returns: a lost or refused connection is a
// *storage.DatabaseDownError (503 from the server, a status line in the
// TUI), a unique violation the duplicate it is. Errors that are already
// keydeck's pass unchanged.
func (db *DB) wrapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if errors.Is(err, puddle.ErrClosedPool) {
		// Close was called: the caller's mistake, not the database's.
		return storage.ErrClosed
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			switch {
			case strings.Contains(pe.ConstraintName, "keys_active_name"):
				return model.ErrDuplicateName
			case strings.Contains(pe.ConstraintName, "accounts_name"):
				return model.ErrAccountExists
			case strings.Contains(pe.ConstraintName, "ssh_keys"):
				return model.ErrSSHKeyExists
			}
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdown, crash, cannot connect now
			pe.Code == "53300": // too many connections
			return db.down(err)
		case pe.Code == "53100":
			return storage.ErrDiskFull
		case pe.Code == "25006":
			return storage.ErrReadOnly
		}
		return errors.New("database error: " + pe.Message)
	}
	if isConnErr(err) {
		return db.down(err)
	}
	return err
}

// isConnErr reports errors of the connection rather than of the statement.
func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ce), errors.As(err, &oe), errors.As(err, &ne):
		return true
	case pgconn.SafeToRetry(err), pgconn.Timeout(err) && !errors.Is(err, context.Canceled):
		return true
	}
	s := err.Error()
	return strings.Contains(s, "conn closed") || strings.Contains(s, "unexpected EOF") ||
		strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe") ||
		// pgxpool, when every connection it tried failed its ping.
		strings.Contains(s, "too many failed attempts acquiring connection")
}

// down is err as a *storage.DatabaseDownError: host and port, and a short
// cause without the URL (pgx's messages name the user and database).
func (db *DB) down(err error) error {
	cause := "no answer"
	var oe *net.OpError
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe):
		cause = pe.Message
	case errors.As(err, &oe):
		cause = oe.Err.Error()
		var se interface{ Unwrap() error }
		if errors.As(oe.Err, &se) && se.Unwrap() != nil {
			cause = se.Unwrap().Error()
		}
	case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
		cause = "timed out"
	default:
		s := err.Error()
		if i := strings.LastIndex(s, ": "); i >= 0 {
			s = s[i+2:]
		}
		cause = s
	}
	return &storage.DatabaseDownError{Addr: db.addr, Cause: model.Sanitize(model.RedactSecrets(cause), 160)}
}
