//go:build linux

package forward

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/testenv"
	"golang.org/x/sys/unix"
)

// TestMountXattrsUnsupported: a v1 backup has no xattrs. As in the
// reverse view, the first getxattr gets ENOSYS, so the kernel answers later
// probes itself (EOPNOTSUPP) instead of one round trip per entry of an
// `ls -l`.
func TestMountXattrsUnsupported(t *testing.T) {
	testenv.RequireFUSE(t)
	s := config.Defaults()
	s.Version = 1
	b, _, _ := setup(t, s)
	mnt := t.TempDir()
	server, err := Mount(b, mnt, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Unmount() })
	buf := make([]byte, 64)
	for range 2 {
		if _, err := unix.Lgetxattr(filepath.Join(mnt, "sizes", "f-1"), "security.selinux", buf); !errors.Is(err, unix.EOPNOTSUPP) {
			t.Fatalf("getxattr: %v, want EOPNOTSUPP", err)
		}
	}
}
