//go:build linux

package forward_test

import (
	"os/exec"
	"slices"
	"testing"

	"github.com/efs-project/efs/internal/e2e"
)

// TestWritersMatrix runs every settings variant through both real writers
// — efs reverse (FUSE) copied with rsync -a, and efs export — checks each
// against the format-level writer byte for byte, and reads each back with
// efs fsck, efs restore and efs mount: the same bytes, modes and mtimes as
// the plaintext.
func TestWritersMatrix(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			plain := t.TempDir()
			e2e.Corpus(t, plain)
			e2e.InitTree(t, plain, v.flags...)
			independent := t.TempDir()
			encryptTree(t, plain, independent)
			viaRsync := t.TempDir()
			view := e2e.Mount(t, "reverse", plain)
			e2e.Run(t, "rsync", "-a", view+"/", viaRsync+"/")
			exported := t.TempDir()
			e2e.MustEfs(t, "export", "--passfile", e2e.Passfile(t), plain, exported)
			for name, backup := range map[string]string{"reverse + rsync": viaRsync, "export": exported} {
				if out, err := exec.Command("diff", "-r", "--no-dereference", independent, backup).CombinedOutput(); err != nil {
					t.Errorf("%s differs from the format-level writer: %v\n%.2000s", name, err, out)
				}
				if slices.Contains(v.flags, "--hide-metadata") {
					e2e.HiddenTree(t, plain, backup)
				}
				e2e.MustEfs(t, "fsck", "--passfile", e2e.Passfile(t), backup)
				dest := t.TempDir()
				e2e.MustEfs(t, "restore", "--passfile", e2e.Passfile(t), backup, dest)
				e2e.DiffTree(t, plain, dest)
				e2e.SameMeta(t, plain, dest)
				mnt := e2e.Mount(t, "mount", backup)
				e2e.DiffTree(t, plain, mnt)
				e2e.SameMeta(t, plain, mnt)
			}
		})
	}
}
