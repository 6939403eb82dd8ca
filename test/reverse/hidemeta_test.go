//go:build linux

package reverse_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/efs-project/efs/internal/e2e"
)

// hiddenTree is the corpus with foreign owners (as root), made by efs init
// --hide-metadata.
func hiddenTree(t *testing.T) string {
	t.Helper()
	plain := t.TempDir()
	e2e.Corpus(t, plain)
	if os.Geteuid() == 0 {
		for rel, id := range map[string]int{"empty": 12345, "bytes": 23456, "link-abs": 34567} {
			if err := os.Lchown(filepath.Join(plain, rel), id, id+1); err != nil {
				t.Fatal(err)
			}
		}
	}
	e2e.InitTree(t, plain, "--hide-metadata")
	return plain
}

// cpath is the view path of the plaintext path rel.
func cpath(t *testing.T, plain, rel string) string {
	t.Helper()
	return strings.TrimSpace(e2e.MustEfs(t, "encrypt-path", "--passfile", e2e.Passfile(t), plain, rel).Stdout)
}

// TestHiddenMetadataWithRsync: with --hide-metadata no entry of the real
// FUSE view shows a real mode, owner or mtime; rsync -a of the view, a
// remount and rsync again moves nothing; touching one file, or changing
// its bytes, moves exactly that file and its directory's record; and
// efs restore and efs mount of the copy give back the real modes, owners
// and nanosecond mtimes, from the records.
func TestHiddenMetadataWithRsync(t *testing.T) {
	plain := hiddenTree(t)
	view := e2e.Mount(t, "reverse", plain)
	if n := e2e.HiddenTree(t, plain, view); n < 300 {
		t.Fatalf("only %d view entries checked", n)
	}
	backup := t.TempDir()
	e2e.Run(t, "rsync", "-a", view+"/", backup+"/")
	e2e.HiddenTree(t, plain, backup)

	e2e.Unmount(t, view)
	view = e2e.Mount(t, "reverse", plain)
	if got := e2e.RsyncChanges(t, view, backup); len(got) != 0 {
		t.Errorf("rsync after a remount moves %v, want nothing", got)
	}

	file := "sizes/f00065536"
	want := []string{cpath(t, plain, file), cpath(t, plain, "sizes") + "/efs.dir"}
	slices.Sort(want)
	p := filepath.Join(plain, file)
	change := map[string]func(){
		"touch": func() {
			later := time.Date(2022, 1, 2, 3, 4, 5, 6, time.UTC)
			if err := os.Chtimes(p, later, later); err != nil {
				t.Fatal(err)
			}
		},
		"rewrite": func() {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data[100] ^= 1
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err == nil {
				_, err = f.WriteAt(data[100:101], 100)
				f.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
		},
	}
	for _, what := range []string{"touch", "rewrite"} {
		change[what]()
		time.Sleep(1100 * time.Millisecond) // the kernel's attribute cache
		got := e2e.RsyncChanges(t, view, backup)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("after a %s of one file rsync moves %v, want %v", what, got, want)
		}
	}
	e2e.HiddenTree(t, plain, backup)

	dest := filepath.Join(t.TempDir(), "restored")
	e2e.MustEfs(t, "restore", "--passfile", e2e.Passfile(t), backup, dest)
	e2e.ExactTree(t, plain, dest)
	mnt := e2e.Mount(t, "mount", backup)
	e2e.DiffTree(t, plain, mnt)
	e2e.SameMeta(t, plain, mnt)
}
