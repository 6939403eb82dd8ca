//go:build linux

package forward_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/naming"
)

// TestLiveTree: a sync tool copies a directory record and the entries it
// lists at different moments. Simulated deterministically: after a first
// full upload the tree changes (a file edited, one added, one deleted, a
// mode changed), and the next upload is cut short — once after the
// records only, once after everything but the records. Both must read as
// out of sync (exit 11), never as damage, with the authenticated content
// restored; the next full upload heals it (exit 0). A quiet tree never
// reports either.
func TestLiveTree(t *testing.T) {
	plain := t.TempDir()
	e2e.WriteFile(t, filepath.Join(plain, "edited.txt"), []byte("version 1"))
	e2e.WriteFile(t, filepath.Join(plain, "deleted.txt"), []byte("soon gone"))
	e2e.WriteFile(t, filepath.Join(plain, "sub", "chmod.txt"), []byte("mode changes"))
	e2e.WriteFile(t, filepath.Join(plain, "sub", "stable.txt"), []byte("never changes"))
	e2e.InitTree(t, plain)
	view := e2e.Mount(t, "reverse", plain)
	backup := t.TempDir()
	pw := e2e.Passfile(t)
	rsync := func(extra ...string) {
		t.Helper()
		e2e.Run(t, "rsync", append(append([]string{"-a", "--delete"}, extra...), view+"/", backup+"/")...)
	}
	fsck := func(want int, why string) string {
		t.Helper()
		r := e2e.RunEfs(t, "fsck", "--passfile", pw, backup)
		if r.Code != want {
			t.Fatalf("%s: fsck exit %d, want %d:\n%s%s", why, r.Code, want, r.Stdout, r.Stderr)
		}
		return r.Stdout + r.Stderr
	}
	rsync()
	fsck(0, "a quiet tree")
	rsync()
	fsck(0, "a quiet tree uploaded twice")

	change := func() {
		e2e.WriteFile(t, filepath.Join(plain, "edited.txt"), []byte("version 2, longer"))
		e2e.WriteFile(t, filepath.Join(plain, "added.txt"), []byte("new"))
		os.Remove(filepath.Join(plain, "deleted.txt"))
		os.Chmod(filepath.Join(plain, "sub", "chmod.txt"), 0o600)
	}
	change()
	// The FUSE view caches attributes for a second.
	waitView(t, view)

	// Records first, entries not yet: the records list added.txt and
	// the new size of edited.txt, the storage still has the old ones.
	records := []string{"--include=*/", "--include=" + naming.RecordName, "--exclude=*"}
	rsync(records...)
	out := fsck(exitOutOfSync, "records uploaded before their entries")
	for _, name := range []string{"edited.txt", "added.txt", "deleted.txt"} {
		if !strings.Contains(out, name) {
			t.Errorf("out-of-sync report does not name %s:\n%s", name, out)
		}
	}
	dest := filepath.Join(t.TempDir(), "dest")
	r := e2e.RunEfs(t, "restore", "--passfile", pw, backup, dest)
	if r.Code != exitOutOfSync {
		t.Errorf("restore: exit %d, want %d:\n%s", r.Code, exitOutOfSync, r.Stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "sub", "stable.txt")); err != nil || string(b) != "never changes" {
		t.Errorf("stable.txt: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "edited.txt")); err != nil || string(b) != "version 1" {
		t.Errorf("edited.txt: the authenticated stored content is %q, %v", b, err)
	}

	// The full upload heals it.
	rsync()
	fsck(0, "after the next full upload")

	// Entries first, records not yet.
	e2e.WriteFile(t, filepath.Join(plain, "edited.txt"), []byte("version 3"))
	os.Remove(filepath.Join(plain, "added.txt"))
	waitView(t, view)
	rsync("--exclude=" + naming.RecordName)
	fsck(exitOutOfSync, "entries uploaded before their records")
	rsync()
	fsck(0, "after the next full upload")
}

// waitView lets the view's one-second attribute cache expire.
func waitView(t *testing.T, view string) {
	t.Helper()
	e2e.Run(t, "sleep", "1.2")
}
