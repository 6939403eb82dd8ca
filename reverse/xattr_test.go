//go:build linux

package reverse

import (
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFUSEXattrsUnsupported: the view answers the first getxattr with
// ENOSYS, so the kernel marks the mount as having no xattrs and answers
// every later probe (two per entry in `ls -l`) itself with EOPNOTSUPP,
// without a round trip. With ENODATA every probe reached the daemon.
func TestFUSEXattrsUnsupported(t *testing.T) {
	plain := t.TempDir()
	rvWrite(t, filepath.Join(plain, "f"), []byte("x"))
	tree, _, _ := rvTree(t, plain, Options{})
	mnt := rvMount(t, tree)
	p := filepath.Join(mnt, viewPath(tree, "f"))
	buf := make([]byte, 64)
	for range 2 {
		if _, err := unix.Lgetxattr(p, "security.selinux", buf); !errors.Is(err, unix.EOPNOTSUPP) {
			t.Fatalf("getxattr: %v, want EOPNOTSUPP", err)
		}
	}
	if n, err := unix.Llistxattr(p, buf); err != nil || n != 0 {
		t.Errorf("listxattr: %d, %v; want an empty list", n, err)
	}
}
