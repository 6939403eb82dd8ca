package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efs-project/efs/config"
)

// TestUnlockMasterKey covers recovery with --masterkey: the right key uses
// the config's settings, a wrong one is exit 3 (not a run that reports
// every entry as damaged), and without a config the defaults and the
// override flags apply.
func TestUnlockMasterKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, config.FileName)
	s := config.Defaults()
	s.BlockSize = 8192
	cfg, mk, err := config.Create([]byte("pw"), s, config.KDF{Salt: make([]byte, 16), Time: 1, MemoryKiB: 8192, Threads: 1}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.WriteNew(path); err != nil {
		t.Fatal(err)
	}
	right := mk.Recovery()
	mk.Wipe()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	kf := keyFlags{masterkey: right}
	u, err := kf.unlock(path, nil, log)
	if err != nil {
		t.Fatalf("right key: %v", err)
	}
	if u.Settings.BlockSize != 8192 || u.ConfigPath != path {
		t.Errorf("right key: settings %+v from %q, want the config's", u.Settings, u.ConfigPath)
	}
	u.Wipe()

	wrong := strings.Repeat("ab", 32)
	kf = keyFlags{masterkey: wrong}
	if _, err := kf.unlock(path, nil, log); exitCode(err) != exitPassword {
		t.Errorf("wrong key: exit %d (%v), want %d", exitCode(err), err, exitPassword)
	}

	kf = keyFlags{masterkey: right, blockSize: 16384}
	if _, err := kf.unlock(path, nil, log); exitCode(err) != exitUsage {
		t.Errorf("override flags with an intact config: exit %d (%v), want %d", exitCode(err), err, exitUsage)
	}

	missing := filepath.Join(dir, "missing.toml")
	kf = keyFlags{masterkey: right, blockSize: 16384, nameEncoding: "base64"}
	u, err = kf.unlock(missing, nil, log)
	if err != nil {
		t.Fatalf("no config: %v", err)
	}
	if u.Settings.BlockSize != 16384 || u.Settings.NameEncoding.String() != "base64" || u.ConfigPath != "" {
		t.Errorf("no config: settings %+v from %q, want defaults with overrides", u.Settings, u.ConfigPath)
	}
	u.Wipe()

	// --hide-metadata tells a reader without the config not to restore
	// the stored pseudo-mtimes; the flag needs format v2.
	kf = keyFlags{masterkey: right, hideMetadata: true}
	if u, err = kf.unlock(missing, nil, log); err != nil {
		t.Fatalf("no config, --hide-metadata: %v", err)
	}
	if !u.Settings.HideMetadata() {
		t.Errorf("no config, --hide-metadata: settings %+v", u.Settings)
	}
	u.Wipe()

	for name, kf := range map[string]keyFlags{
		"--hide-metadata --format 1": {masterkey: right, hideMetadata: true, format: 1},
		"--name-encoding base58":     {masterkey: right, nameEncoding: "base58"},
		"--file-id hash":             {masterkey: right, fileID: "hash"},
		"--name-max 20":              {masterkey: right, nameMax: 20},
		"--block-size 5000":          {masterkey: right, blockSize: 5000},
	} {
		if _, err := kf.unlock(missing, nil, log); exitCode(err) != exitUsage {
			t.Errorf("no config, %s: exit %d (%v), want %d", name, exitCode(err), err, exitUsage)
		}
	}
}

// TestUnlockDetectsFormat: recovering without a config, the format is 2
// when the backup's root holds a directory record and 1 otherwise, and
// --format overrides it.
func TestUnlockDetectsFormat(t *testing.T) {
	right := strings.Repeat("cd", 32)
	log := slog.New(slog.DiscardHandler)
	v1, v2 := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(v2, "efs.dir"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dir    string
		format int
		want   int
	}{{v1, 0, 1}, {v2, 0, 2}, {v1, 2, 2}, {v2, 1, 1}} {
		kf := keyFlags{masterkey: right, format: c.format, backupDir: c.dir}
		u, err := kf.unlock(filepath.Join(c.dir, "efs.toml"), nil, log)
		if err != nil {
			t.Fatalf("%s, --format %d: %v", c.dir, c.format, err)
		}
		if u.Settings.Version != c.want {
			t.Errorf("%s, --format %d: format %d, want %d", c.dir, c.format, u.Settings.Version, c.want)
		}
		u.Wipe()
	}
}

// The --masterkey warning names the tools of the system it runs on: no
// /proc on Windows or macOS.
func TestArgvReaders(t *testing.T) {
	for goos, want := range map[string]string{"linux": "ps, /proc", "windows": "Task Manager", "darwin": "ps", "freebsd": "ps"} {
		got := argvReaders(goos)
		if !strings.HasPrefix(got, want) || (goos != "linux" && strings.Contains(got, "/proc")) {
			t.Errorf("argvReaders(%q) = %q, want %q…", goos, got, want)
		}
	}
}
