// Package testenv holds the test suite's one policy on missing
// prerequisites: a test skips when FUSE (or a tool it drives) is missing on
// a developer's machine, but fails in CI, where everything is installed and
// a skip would hide a gap. CI sets EFS_REQUIRE_FUSE and CI.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// FUSEAvailable reports whether /dev/fuse opens and fusermount3 is on
// PATH, with the reason when not.
func FUSEAvailable() (bool, error) {
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	f.Close()
	if _, err := exec.LookPath("fusermount3"); err != nil {
		return false, err
	}
	return true, nil
}

// RequireFUSE skips t when FUSE is unavailable, or fails it when
// EFS_REQUIRE_FUSE is set.
func RequireFUSE(t testing.TB) {
	t.Helper()
	ok, err := FUSEAvailable()
	if ok {
		return
	}
	if os.Getenv("EFS_REQUIRE_FUSE") != "" {
		t.Fatalf("FUSE is required (EFS_REQUIRE_FUSE is set) but unavailable: %v", err)
	}
	t.Skipf("FUSE unavailable: %v", err)
}

// SkipOrFail skips a test whose prerequisite is missing, except in CI (CI
// set), where it fails.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("prerequisite missing in CI: "+format, args...)
	}
	t.Skipf(format, args...)
}
