//go:build linux

package forward_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/internal/slowfs"
	"github.com/efs-project/efs/internal/testenv"
)

// TestSlowSource: through a source where every listing and open waits
// (internal/slowfs, a stand-in for an rclone mount of a remote), restore
// and fsck with the default --jobs are several times faster than with
// --jobs 1, and restore the same tree. Serial, 6 directories and 48 files
// wait at least 54 × 40 ms; eight at a time a small part of that.
func TestSlowSource(t *testing.T) {
	testenv.RequireFUSE(t)
	plain, cipher := t.TempDir(), t.TempDir()
	for d := range 6 {
		for f := range 8 {
			e2e.WriteFile(t, filepath.Join(plain, fmt.Sprintf("d%d/f%d", d, f)), []byte(strings.Repeat("x", d*1000+f)))
		}
	}
	e2e.InitTree(t, plain)
	pw := e2e.Passfile(t)
	e2e.MustEfs(t, "export", "-q", "--passfile", pw, plain, cipher)
	const delay = 40 * time.Millisecond
	run := func(what string, args ...string) time.Duration {
		t.Helper()
		mnt := t.TempDir()
		s, err := slowfs.Mount(cipher, mnt, delay)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Unmount()
		for i, a := range args {
			if a == "SRC" {
				args[i] = mnt
			}
		}
		start := time.Now()
		e2e.MustEfs(t, args...)
		d := time.Since(start)
		if s.Waits() < 54 {
			t.Errorf("%s: the source waited only %d times", what, s.Waits())
		}
		return d
	}
	for _, op := range []string{"fsck", "restore"} {
		args := func(jobs string) []string {
			a := []string{op, "-q", "--passfile", pw, "--jobs", jobs, "SRC"}
			if op == "restore" {
				dest := filepath.Join(t.TempDir(), "restored")
				t.Cleanup(func() { e2e.DiffTree(t, plain, dest) })
				a = append(a, dest)
			}
			return a
		}
		serial := run(op+" --jobs 1", args("1")...)
		parallel := run(op, args("0")...)
		t.Logf("%s: --jobs 1 %v, default %v", op, serial, parallel)
		if serial < 54*delay {
			t.Errorf("%s --jobs 1 took %v, less than the source's waits", op, serial)
		}
		if parallel*3 > serial {
			t.Errorf("%s: %v with the default --jobs, %v with --jobs 1: not three times faster", op, parallel, serial)
		}
	}
}
