package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/testenv"
)

// After a password unlock with the default key derivation, the 256 MiB
// argon2id used is no longer resident: a daemon must not carry it.
func TestUnlockReturnsKDFMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("argon2id with 256 MiB")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, config.FileName)
	kdf, err := config.DefaultKDF()
	if err != nil {
		t.Fatal(err)
	}
	cfg, mk, err := config.Create([]byte("pw"), config.Defaults(), kdf, "test")
	if err != nil {
		t.Fatal(err)
	}
	mk.Wipe()
	if err := cfg.WriteNew(path); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kf := keyFlags{passwordFlags: passwordFlags{passfile: pwFile}}
	u, err := kf.unlock(path, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Wipe()
	if rss := testenv.StatusKiB(t, 0, "VmRSS") << 10; rss > 128<<20 {
		t.Errorf("resident after the unlock: %d MiB, want argon2id's 256 MiB handed back", rss>>20)
	}
}
