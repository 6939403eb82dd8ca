//go:build linux

package forward_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/internal/testenv"
)

// TestExactFromDumbStorage is the restore a user relies on: a tree with
// everything dumb storage drops goes through the reverse view to a WebDAV
// remote (rclone serve webdav on 127.0.0.1, which keeps only names and
// bytes; rclone sync without --links skips symlinks), comes back with
// rclone copy, and efs restore, as root, gives back every entry exactly
// — from the directory records alone.
func TestExactFromDumbStorage(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "restoring owners needs root")
	}
	plain := t.TempDir()
	e2e.RichTree(t, plain)
	e2e.InitTree(t, plain)
	view := e2e.Mount(t, "reverse", plain)
	remote := e2e.WebDAV(t, t.TempDir())
	e2e.Run(t, "rclone", "sync", "--retries", "1", view, remote)
	back := t.TempDir()
	e2e.Run(t, "rclone", "copy", "--retries", "1", remote, back)
	// The storage kept only names and bytes: no symlinks, no modes.
	filepath.Walk(back, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode()&os.ModeSymlink != 0 {
			t.Fatalf("the WebDAV copy holds a symlink (%s): the test no longer shows that records bring them back", p)
		}
		return err
	})
	r := e2e.MustEfs(t, "fsck", "--passfile", e2e.Passfile(t), back)
	t.Logf("fsck: %s", r.Stderr)
	dest := filepath.Join(t.TempDir(), "restored")
	e2e.MustEfs(t, "restore", "--passfile", e2e.Passfile(t), back, dest)
	e2e.ExactTree(t, plain, dest)
}

// TestMountNosuid: the decrypting mount shows the records' set-id bits,
// so it must be nosuid and nodev, also for root with --allow-other.
func TestMountNosuid(t *testing.T) {
	plain, cipher, _ := newBackup(t)
	_ = plain
	mnt := e2e.Mount(t, "mount", cipher, "--allow-other")
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && f[4] == mnt {
			opts := "," + f[5] + ","
			if !strings.Contains(opts, ",nosuid,") || !strings.Contains(opts, ",nodev,") {
				t.Errorf("mount options %s lack nosuid,nodev", f[5])
			}
			return
		}
	}
	t.Fatalf("%s not in mountinfo", mnt)
}
