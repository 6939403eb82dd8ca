//go:build linux

package export_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/internal/treesnap"
)

// TestHiddenMetadata: with --hide-metadata an export shows no real mode,
// owner or mtime, is what rsync -a copies out of the mounted view (modes
// and mtimes included), a second export changes nothing, one touched file
// rewrites exactly that file and its directory's record, and efs restore
// of the export gives back the real metadata.
func TestHiddenMetadata(t *testing.T) {
	plain := t.TempDir()
	plainTree(t, plain)
	e2e.InitTree(t, plain, "--hide-metadata")
	age(t, plain, time.Date(2024, 2, 3, 4, 5, 6, 789, time.UTC))
	pw := e2e.Passfile(t)
	work := t.TempDir()
	cp, exp := filepath.Join(work, "copy"), filepath.Join(work, "export")

	r := e2e.MustEfs(t, "export", "--passfile", pw, plain, exp)
	if w, _, _ := stats(t, r.Stderr); w != 21 {
		t.Errorf("first export: %d written, want 21", w)
	}
	if n := e2e.HiddenTree(t, plain, exp); n != 27 {
		t.Errorf("%d entries in the export, want 27", n)
	}
	if e2e.HaveFUSE() {
		view := e2e.Mount(t, "reverse", plain)
		e2e.Run(t, "rsync", "-a", view+"/", cp+"/")
		same(t, "export and view", cp, exp)
	}

	before := treesnap.Take(t, exp)
	r = e2e.MustEfs(t, "export", "--passfile", pw, plain, exp)
	if w, s, rm := stats(t, r.Stderr); w != 0 || s != 21 || rm != 0 {
		t.Errorf("second export: %d written, %d skipped, %d removed; want 0, 21, 0", w, s, rm)
	}
	if d := treesnap.Diff(before, treesnap.Take(t, exp), "first", "second"); len(d) != 0 {
		t.Errorf("a second export changed the destination:\n%s", strings.Join(d, "\n"))
	}

	later := time.Date(2025, 2, 3, 4, 5, 6, 789, time.UTC)
	if err := os.Chtimes(filepath.Join(plain, "dir", "sub", "deep.txt"), later, later); err != nil {
		t.Fatal(err)
	}
	old := inodesOf(t, exp)
	r = e2e.MustEfs(t, "export", "--passfile", pw, plain, exp)
	if w, s, rm := stats(t, r.Stderr); w != 2 || s != 19 || rm != 0 {
		t.Errorf("export after a touch: %d written, %d skipped, %d removed; want 2, 19, 0", w, s, rm)
	}
	var rewritten []string
	for rel, ino := range inodesOf(t, exp) {
		if old[rel] != ino {
			rewritten = append(rewritten, rel)
		}
	}
	slices.Sort(rewritten)
	sub := strings.TrimSpace(e2e.MustEfs(t, "encrypt-path", "--passfile", pw, plain, "dir/sub").Stdout)
	deep := strings.TrimSpace(e2e.MustEfs(t, "encrypt-path", "--passfile", pw, plain, "dir/sub/deep.txt").Stdout)
	want := []string{deep, sub + "/efs.dir"}
	slices.Sort(want)
	if !slices.Equal(rewritten, want) {
		t.Errorf("rewritten %v, want %v", rewritten, want)
	}
	e2e.HiddenTree(t, plain, exp)

	// The view has no fifo; the root keeps the mtime its record holds.
	if err := os.Remove(filepath.Join(plain, "fifo")); err != nil {
		t.Fatal(err)
	}
	age(t, plain, time.Date(2024, 2, 3, 4, 5, 6, 789, time.UTC))
	if err := os.Chtimes(filepath.Join(plain, "dir", "sub", "deep.txt"), later, later); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "restored")
	e2e.MustEfs(t, "restore", "--passfile", pw, exp, dest)
	e2e.ExactTree(t, plain, dest)
}

// inodesOf maps every path below root to its inode number, which an
// export changes exactly for what it rewrites (temp file + rename).
func inodesOf(t *testing.T, root string) map[string]uint64 {
	t.Helper()
	m := map[string]uint64{}
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		var st unix.Stat_t
		if err == nil {
			err = unix.Lstat(p, &st)
		}
		if err == nil {
			rel, _ := filepath.Rel(root, p)
			m[rel] = st.Ino
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
