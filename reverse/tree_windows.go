package reverse

// Windows, through internal/sys/unix's NT handles: openRel walks one
// component at a time (each opened relative to its directory's handle,
// no symlink or junction followed), and no entry has xattrs.

import "github.com/efs-project/efs/internal/sys/unix"

// errNoXattr is what reading an xattr the entry does not have returns.
const errNoXattr = unix.ENOTSUP

// openBeneath is ENOSYS: only Linux has openat2.
func openBeneath(rootFD int, rel string, flags int) (int, error) {
	return -1, unix.ENOSYS
}

// listxattrat is ENOTSUP: Windows keeps no xattrs efs could show.
func listxattrat(dfd int, path string, dest []byte) (int, error) { return 0, unix.ENOTSUP }

// getxattrat is ENOTSUP: Windows keeps no xattrs efs could show.
func getxattrat(dfd int, path, name string, dest []byte) (int, error) { return 0, unix.ENOTSUP }
