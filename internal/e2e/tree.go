//go:build unix

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/efs-project/efs/forward"
	"golang.org/x/sys/unix"
)

// plainConfig is the config efs init writes into a plaintext tree; it is
// not restored as a file, so comparisons leave it out.
const plainConfig = ".efs.toml"

// WriteFile creates path (and its parents) with data.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Corpus fills dir with the round-trip corpus: names of every length from
// 1 to 255 bytes, non-UTF-8 names, symlinks (relative, absolute, dangling,
// to a directory), files at block edges, a few MiB, a deep path, and
// assorted modes and timestamps.
func Corpus(t testing.TB, dir string) {
	t.Helper()
	r := rand.New(rand.NewPCG(4, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for n := 1; n <= 255; n++ {
		name := strings.Repeat("n", n)
		if n%3 == 0 {
			name = strings.Repeat("é", n/2) + strings.Repeat("z", n%2)
		}
		WriteFile(t, filepath.Join(dir, "names", name), []byte(name))
	}
	WriteFile(t, filepath.Join(dir, "bytes", "latin1-\xe9t\xe9"), []byte("not UTF-8"))
	WriteFile(t, filepath.Join(dir, "bytes", "\xff\xfe\x01 \t ctl"), []byte("control bytes"))
	for _, n := range []int{0, 1, 4095, 4096, 4097, 65535, 65536, 65537, 3<<20 + 17} {
		WriteFile(t, filepath.Join(dir, "sizes", fmt.Sprintf("f%08d", n)), random(n))
	}
	WriteFile(t, filepath.Join(dir, "empty"), nil)
	deep := dir
	for i := 0; i < 24; i++ {
		deep = filepath.Join(deep, fmt.Sprintf("level-%d", i))
	}
	WriteFile(t, filepath.Join(deep, "bottom"), []byte("deep"))
	for target, name := range map[string]string{
		"sizes/f00004096":    "link-rel",
		"/etc/hostname":      "link-abs",
		"does/not/exist":     "link-dangling",
		"names":              "link-dir",
		"bytes/latin1-\xe9t": "link-\xff",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	WriteFile(t, filepath.Join(dir, "sticky", "nothing"), []byte("x"))
	WriteFile(t, filepath.Join(dir, "setgid", "none"), nil)
	for p, mode := range map[string]os.FileMode{
		"sizes/f00000001": 0o600, "sizes/f00004095": 0o755, "empty": 0o444, "bytes": 0o750,
		"sticky": 0o777 | os.ModeSticky, "setgid": 0o755 | os.ModeSetgid, "sticky/nothing": 0,
	} {
		if err := os.Chmod(filepath.Join(dir, p), mode); err != nil {
			t.Fatal(err)
		}
	}
	// Distinct mtimes (with nanoseconds), set bottom-up so that
	// directories keep theirs.
	var paths []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && p != dir {
			paths = append(paths, p)
		}
		return nil
	})
	base := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := len(paths) - 1; i >= 0; i-- {
		ts := base.Add(time.Duration(i)*time.Hour + time.Duration(i*1001))
		tv := []unix.Timespec{unix.NsecToTimespec(ts.UnixNano()), unix.NsecToTimespec(ts.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], tv, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
}

// DiffTree runs diff -r on the two trees, leaving out the plaintext
// config, and fails the test on any difference.
func DiffTree(t testing.TB, want, got string) {
	t.Helper()
	out, err := exec.Command("diff", "-r", "--no-dereference", "-x", plainConfig, want, got).CombinedOutput()
	if err != nil {
		t.Errorf("diff -r %s %s: %v\n%.3000s", want, got, err, out)
	}
}

// SameMeta checks that every entry below want has the same type, mode bits
// and mtime below got, and regular files the same size (the roots are
// skipped: init wrote into want).
func SameMeta(t testing.TB, want, got string) {
	t.Helper()
	bad := 0
	filepath.Walk(want, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == want || bad > 5 {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		if rel == plainConfig {
			return nil
		}
		var a, b syscall.Stat_t
		syscall.Lstat(p, &a)
		if err := syscall.Lstat(filepath.Join(got, rel), &b); err != nil {
			t.Errorf("%q: %v", rel, err)
			bad++
			return nil
		}
		if a.Mode != b.Mode || forward.Mtim(&a) != forward.Mtim(&b) {
			t.Errorf("%q: mode %o mtime %v, want mode %o mtime %v", rel, b.Mode, forward.Mtim(&b), a.Mode, forward.Mtim(&a))
			bad++
		}
		if a.Mode&syscall.S_IFMT == syscall.S_IFREG && a.Size != b.Size {
			t.Errorf("%q: size %d, want %d", rel, b.Size, a.Size)
			bad++
		}
		return nil
	})
}
