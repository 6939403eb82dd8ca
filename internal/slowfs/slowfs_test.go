//go:build linux

package slowfs

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/efs-project/efs/internal/testenv"
)

// TestWaits: a listing, a lookup the listing did not bring and an open
// each wait the delay; a lookup after the listing and reads do not; the
// bytes are the directory's.
func TestWaits(t *testing.T) {
	testenv.RequireFUSE(t)
	const delay = 50 * time.Millisecond
	dir, mnt := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a/f", "a/g", "a/b/h"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Mount(dir, mnt, delay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Unmount() })
	timed := func(what string, waits int64, f func() error) {
		t.Helper()
		w0, start := s.Waits(), time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		d := time.Since(start)
		if got := s.Waits() - w0; got != waits {
			t.Errorf("%s waited %d times, want %d", what, got, waits)
		}
		if d < time.Duration(waits)*delay {
			t.Errorf("%s took %v, less than %d × %v", what, d, waits, delay)
		}
	}
	timed("lstat of an unlisted name", 1, func() error { _, err := os.Lstat(filepath.Join(mnt, "a")); return err })
	timed("listing", 1, func() error { _, err := os.ReadDir(filepath.Join(mnt, "a")); return err })
	timed("lstat of a listed name", 0, func() error { _, err := os.Lstat(filepath.Join(mnt, "a", "g")); return err })
	timed("open and read", 1, func() error {
		data, err := os.ReadFile(filepath.Join(mnt, "a", "f"))
		if err == nil && string(data) != "a/f" {
			t.Errorf("read %q", data)
		}
		return err
	})
	if err := os.WriteFile(filepath.Join(mnt, "a", "new"), nil, 0o644); err == nil {
		t.Error("the view is writable")
	}
}
