package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// TestUpgradeWritesBackupFirst opens a version-1 database with a binary
// that knows a version 2: the upgrade runs after a backup copy of the
// version-1 file is written, and the copy holds the old data.
func TestUpgradeWritesBackupFirst(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := db.Store("default", "test")
	if _, _, err := st.CreateKey(ctx, model.KeySpec{Name: "before-upgrade", Permissions: model.PermRead}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	v1, _ := fs.Sub(migrations, "migrations")
	newer := fstest.MapFS{"00002_test.sql": {Data: []byte("-- +goose Up\nALTER TABLE keys ADD COLUMN note TEXT;\n-- +goose Down\nALTER TABLE keys DROP COLUMN note;\n")}}
	entries, _ := fs.ReadDir(v1, ".")
	for _, e := range entries {
		b, _ := fs.ReadFile(v1, e.Name())
		newer[e.Name()] = &fstest.MapFile{Data: b}
	}
	raw := &DB{path: path, opt: Options{BusyTimeout: 1e9}, now: db.now, log: db.log}
	raw.writeDB, _ = sql.Open("sqlite3", dsn(path, "_txlock=immediate"))
	defer raw.writeDB.Close()
	if err := raw.migrateFS(ctx, newer); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	backups, _ := filepath.Glob(path + ".backup-v1-*")
	if len(backups) != 1 {
		t.Fatalf("backups after upgrade: %v", backups)
	}
	old, _ := sql.Open("sqlite3", backups[0])
	defer old.Close()
	var name string
	if err := old.QueryRow(`SELECT name FROM keys`).Scan(&name); err != nil || name != "before-upgrade" {
		t.Fatalf("the backup lacks the old data: %q %v", name, err)
	}
	if _, err := old.Exec(`SELECT note FROM keys`); err == nil {
		t.Fatalf("the backup was taken after the upgrade")
	}
	// The version-1 binary now refuses the upgraded file.
	_, err = Open(ctx, path, Options{})
	if !errors.Is(err, storage.ErrNewerSchema) {
		t.Fatalf("old binary on a newer schema: %v", err)
	}
}
