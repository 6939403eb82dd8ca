//go:build linux

package export_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/internal/testenv"
	"github.com/efs-project/efs/internal/treesnap"
)

// same fails the test unless the two trees have equal snapshots, and
// unless diff -r and an rsync dry run find nothing either.
func same(t testing.TB, what, a, b string) {
	t.Helper()
	d := treesnap.Diff(treesnap.Take(t, a), treesnap.Take(t, b), "view copy", "export")
	if len(d) > 0 {
		t.Errorf("%s: %d differences:\n%s", what, len(d), strings.Join(d, "\n"))
	}
	e2e.Run(t, "diff", "-r", "--no-dereference", a, b)
	if out := e2e.Run(t, "rsync", "-a", "-n", "-i", "--delete", b+"/", a+"/"); strings.TrimSpace(out) != "" {
		t.Errorf("%s: rsync -a would change the view copy:\n%s", what, out)
	}
}

// plainTree fills dir with every kind of entry the view shows (and a
// fifo it does not).
func plainTree(t testing.TB, dir string) {
	t.Helper()
	e2e.WriteFile(t, filepath.Join(dir, "empty"), nil)
	e2e.WriteFile(t, filepath.Join(dir, "small.txt"), []byte("hello\n"))
	e2e.WriteFile(t, filepath.Join(dir, "block"), bytes.Repeat([]byte{'b'}, 4096))
	big := make([]byte, 3<<20+17)
	for i := range big {
		big[i] = byte(i * 7)
	}
	e2e.WriteFile(t, filepath.Join(dir, "big.bin"), big)
	e2e.WriteFile(t, filepath.Join(dir, "dir", "sub", "deep.txt"), []byte("deep"))
	e2e.WriteFile(t, filepath.Join(dir, "dir", strings.Repeat("a long name ", 20)), []byte("long"))
	e2e.WriteFile(t, filepath.Join(dir, "ro", "inside"), []byte("in a read-only dir"))
	e2e.WriteFile(t, filepath.Join(dir, "app.log"), []byte("log"))
	e2e.WriteFile(t, filepath.Join(dir, "keep.log"), []byte("keep"))
	e2e.WriteFile(t, filepath.Join(dir, "cache", "c1"), []byte("cached"))
	e2e.WriteFile(t, filepath.Join(dir, "dir", "tmp", "x.tmp"), []byte("tmp"))
	if err := os.Symlink("../small.txt", filepath.Join(dir, "dir", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nowhere/at/all", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{"small.txt": 0o600, "block": 0o755 | os.ModeSetuid, "ro": 0o555} {
		if err := os.Chmod(filepath.Join(dir, p), mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "ro"), 0o755) })
}

// age sets the mtime of everything below root (symlinks included) to
// when, deepest first. rsync 3.5 leaves the mtime of a directory or
// symlink it creates alone when the source's is under a second old, so
// comparisons with a copy of the view use settled trees.
func age(t testing.TB, root string, when time.Time) {
	t.Helper()
	var paths []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	ts := []unix.Timespec{unix.NsecToTimespec(when.UnixNano()), unix.NsecToTimespec(when.UnixNano())}
	for i := len(paths) - 1; i >= 0; i-- {
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
}

// stats parses the summary line of efs export.
func stats(t testing.TB, stderr string) (written, skipped, removed int) {
	t.Helper()
	m := regexp.MustCompile(`export done: (\d+) written \([^)]*\), (\d+) up to date, (\d+) removed`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no summary in efs export's output:\n%s", stderr)
	}
	w, _ := strconv.Atoi(m[1])
	s, _ := strconv.Atoi(m[2])
	r, _ := strconv.Atoi(m[3])
	return w, s, r
}

// TestMatchesView: an export is what `rsync -a` copies out of the
// mounted view, entry for entry, byte for byte, mtime for mtime — on the
// first run and after changes.
func TestMatchesView(t *testing.T) {
	plain := t.TempDir()
	plainTree(t, plain)
	e2e.InitTree(t, plain)
	age(t, plain, time.Date(2024, 2, 3, 4, 5, 6, 789, time.UTC))
	pw := e2e.Passfile(t)
	view := e2e.Mount(t, "reverse", plain)
	work := t.TempDir()
	cp, exp := filepath.Join(work, "copy"), filepath.Join(work, "export")

	e2e.Run(t, "rsync", "-a", view+"/", cp+"/")
	r := e2e.MustEfs(t, "export", "--passfile", pw, plain, exp)
	if w, s, rm := stats(t, r.Stderr); w != 21 || s != 0 || rm != 0 { // with 6 records
		t.Errorf("first export: %d written, %d skipped, %d removed; want 21, 0, 0", w, s, rm)
	}
	same(t, "first export", cp, exp)

	// A second run changes nothing.
	before := treesnap.Take(t, exp)
	r = e2e.MustEfs(t, "export", "--passfile", pw, plain, exp)
	if w, s, rm := stats(t, r.Stderr); w != 0 || s != 21 || rm != 0 {
		t.Errorf("second export: %d written, %d skipped, %d removed; want 0, 21, 0", w, s, rm)
	}
	if after := treesnap.Take(t, exp); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Error("an export of an unchanged tree changed the destination")
	}

	// Change, delete, add; the view and the export follow alike.
	if err := os.WriteFile(filepath.Join(plain, "small.txt"), []byte("hello again\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(plain, "dir", "sub", "deep.txt")); err != nil {
		t.Fatal(err)
	}
	e2e.WriteFile(t, filepath.Join(plain, "dir", "new.txt"), []byte("new"))
	later := time.Date(2025, 2, 3, 4, 5, 6, 789, time.UTC)
	for _, p := range []string{"small.txt", "dir/new.txt", "dir/sub", "dir", ""} {
		if err := os.Chtimes(filepath.Join(plain, p), later, later); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1500 * time.Millisecond) // past the view's 1 s attribute cache
	e2e.Run(t, "rsync", "-a", "--delete", view+"/", cp+"/")
	r = e2e.MustEfs(t, "export", "--passfile", pw, plain, exp)
	// The two files, and the records of the root, dir and dir/sub.
	if w, s, rm := stats(t, r.Stderr); w != 5 || s != 16 || rm != 1 {
		t.Errorf("export after changes: %d written, %d skipped, %d removed; want 5, 16, 1", w, s, rm)
	}
	same(t, "export after changes", cp, exp)
}

// TestExclude: --exclude and --exclude-from leave out the same
// entries in the export as in the view, with gitignore semantics.
func TestExclude(t *testing.T) {
	plain := t.TempDir()
	plainTree(t, plain)
	e2e.InitTree(t, plain)
	age(t, plain, time.Date(2024, 2, 3, 4, 5, 6, 789, time.UTC))
	pw := e2e.Passfile(t)
	from := filepath.Join(t.TempDir(), "excludes")
	if err := os.WriteFile(from, []byte("# temporary files\n*.tmp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--exclude", "*.log", "--exclude", "!keep.log", "--exclude", "cache/", "--exclude-from", from}
	exp := filepath.Join(t.TempDir(), "export")
	e2e.MustEfs(t, append(append([]string{"export", "--passfile", pw}, flags...), plain, exp)...)

	// What is left out, by the ciphertext path efs encrypt-path gives.
	for rel, want := range map[string]bool{"app.log": false, "keep.log": true, "cache": false, "dir/tmp/x.tmp": false, "dir/tmp": true, "small.txt": true} {
		cpath := strings.TrimSpace(e2e.MustEfs(t, "encrypt-path", "--passfile", pw, plain, rel).Stdout)
		_, err := os.Lstat(filepath.Join(exp, cpath))
		if got := err == nil; got != want {
			t.Errorf("%s (%s) in the export: %v, want %v", rel, cpath, got, want)
		}
	}

	// A broken pattern is a usage error, not a silent no-op (checked
	// before the view comparison's mount, which may skip).
	if r := e2e.RunEfs(t, "export", "--passfile", pw, "--exclude", "[oops", plain, exp); r.Code != 2 {
		t.Errorf("broken pattern: exit %d, want 2\n%s", r.Code, r.Stderr)
	}

	view := e2e.Mount(t, "reverse", plain, flags...)
	cp := filepath.Join(t.TempDir(), "copy")
	e2e.Run(t, "rsync", "-a", view+"/", cp+"/")
	same(t, "export with exclusions", cp, exp)

}

// TestRoundTrip: an export restores (efs restore, and efs mount) to
// the plaintext tree.
func TestRoundTrip(t *testing.T) {
	for name, flags := range map[string][]string{"defaults": nil, "padme": {"--padding", "padme"}} {
		t.Run(name, func(t *testing.T) { roundTrip(t, flags) })
	}
}

func roundTrip(t *testing.T, initFlags []string) {
	plain := t.TempDir()
	plainTree(t, plain)
	os.Remove(filepath.Join(plain, "fifo")) // not in the view, so not restored
	e2e.InitTree(t, plain, initFlags...)
	pw := e2e.Passfile(t)
	exp := filepath.Join(t.TempDir(), "export")
	e2e.MustEfs(t, "export", "-q", "--passfile", pw, plain, exp)

	out := t.TempDir()
	e2e.MustEfs(t, "restore", "--passfile", pw, exp, out)
	e2e.DiffTree(t, plain, out)

	mnt := e2e.Mount(t, "mount", exp) // skips here without FUSE
	e2e.DiffTree(t, plain, mnt)
}

// TestErrors: exit codes and messages for a foreign destination, a
// missing config, and an entry that cannot be read.
func TestErrors(t *testing.T) {
	plain := t.TempDir()
	plainTree(t, plain)
	pw := e2e.Passfile(t)

	r := e2e.RunEfs(t, "export", "--passfile", pw, plain, filepath.Join(t.TempDir(), "x"))
	if r.Code != 4 || !strings.Contains(r.Stderr, "efs init") {
		t.Errorf("no config: exit %d, want 4 with a hint to run efs init:\n%s", r.Code, r.Stderr)
	}
	e2e.InitTree(t, plain)

	foreign := t.TempDir()
	e2e.WriteFile(t, filepath.Join(foreign, "precious"), []byte("mine"))
	if r := e2e.RunEfs(t, "export", "--passfile", pw, plain, foreign); r.Code != 6 {
		t.Errorf("foreign destination: exit %d, want 6:\n%s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(foreign, "precious")); err != nil {
		t.Error("a foreign destination was modified")
	}
	if r := e2e.RunEfs(t, "export", "--passfile", pw, filepath.Join(plain, "nope"), t.TempDir()); r.Code != 6 {
		t.Errorf("missing PLAINDIR: exit %d, want 6", r.Code)
	}
	if r := e2e.RunEfs(t, "export", "--passfile", pw, plain, filepath.Join(plain, "dir")); r.Code != 6 {
		t.Errorf("destination inside PLAINDIR: exit %d, want 6:\n%s", r.Code, r.Stderr)
	}

	// One unreadable file: the rest is exported, exit 9 names it by its
	// view path (stderr is not a terminal here), never by plaintext.
	victim := filepath.Join(plain, "dir", "sub", "deep.txt")
	if os.Geteuid() != 0 {
		if err := os.Chmod(victim, 0); err != nil {
			t.Fatal(err)
		}
	} else if err := unix.Mount("/sys/kernel/uevent_seqnum", victim, "", unix.MS_BIND, ""); err != nil {
		testenv.SkipOrFail(t, "cannot make a file unreadable as root: %v", err)
	} else {
		t.Cleanup(func() { unix.Unmount(victim, unix.MNT_DETACH) })
	}
	exp := filepath.Join(t.TempDir(), "export")
	r = e2e.RunEfs(t, "export", "--passfile", pw, plain, exp)
	if r.Code != 9 {
		t.Fatalf("unreadable file: exit %d, want 9:\n%s", r.Code, r.Stderr)
	}
	cpath := strings.TrimSpace(e2e.MustEfs(t, "encrypt-path", "--passfile", pw, plain, "dir/sub/deep.txt").Stdout)
	if !strings.Contains(r.Stderr, cpath) {
		t.Errorf("the failure does not name the view path %s:\n%s", cpath, r.Stderr)
	}
	for _, leak := range []string{"deep.txt", "dir/sub", plain} {
		if strings.Contains(r.Stderr, leak) {
			t.Errorf("stderr names plaintext %q:\n%s", leak, r.Stderr)
		}
	}
	if w, _, _ := stats(t, r.Stderr); w != 20 { // with 6 records
		t.Errorf("the rest was not exported: %d written, want 20", w)
	}
}
