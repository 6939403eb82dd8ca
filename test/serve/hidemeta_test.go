//go:build linux

package serve_test

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/internal/e2e"
)

// TestHiddenMetadata: with --hide-metadata, what rclone pulls from efs
// serve carries the view's pseudo-mtimes (those of efs export, none a real
// one; WebDAV carries no modes or owners), and its restore gives back the
// plaintext with its real modes and mtimes, from the records.
func TestHiddenMetadata(t *testing.T) {
	needTools(t, "rclone")
	plain := t.TempDir()
	plainTree(t, plain)
	if err := os.Remove(filepath.Join(plain, "fifo")); err != nil {
		t.Fatal(err)
	}
	e2e.InitTree(t, plain, "--hide-metadata")
	k := newKeys(t)
	s := startServe(t, k, plain)
	pulled := filepath.Join(t.TempDir(), "pulled")
	if out, ok := rclone(t, append([]string{"copy", "--create-empty-src-dirs", s.remote("https"), pulled}, rcloneFlags(k, k.alice)...)...); !ok {
		t.Fatalf("rclone copy: %s\n%s", out, s.logText(t))
	}
	export := filepath.Join(t.TempDir(), "export")
	e2e.MustEfs(t, "export", "-q", "--passfile", e2e.Passfile(t), plain, export)
	e2e.HiddenTree(t, plain, export)
	real := map[int64]bool{}
	filepath.Walk(plain, func(p string, _ os.FileInfo, err error) error {
		var st unix.Stat_t
		if err == nil && unix.Lstat(p, &st) == nil {
			real[st.Mtim.Sec] = true
		}
		return err
	})
	n := 0
	err := filepath.Walk(pulled, func(p string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(pulled, p)
		var got, want unix.Stat_t
		unix.Lstat(p, &got)
		if err := unix.Lstat(filepath.Join(export, rel), &want); err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		n++
		if got.Mtim != want.Mtim || real[got.Mtim.Sec] {
			t.Errorf("%s: pulled with mtime %d.%09d, the export's is %d.%09d", rel, got.Mtim.Sec, got.Mtim.Nsec, want.Mtim.Sec, want.Mtim.Nsec)
		}
		return nil
	})
	if err != nil || n < 15 {
		t.Fatalf("%d pulled files compared: %v", n, err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	e2e.MustEfs(t, "restore", "-q", "--passfile", e2e.Passfile(t), pulled, restored)
	e2e.DiffTree(t, plain, restored)
	e2e.SameMeta(t, plain, restored)
}
