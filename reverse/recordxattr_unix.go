//go:build unix && !linux

package reverse

// Without listxattrat/getxattrat or /proc/self/fd, an entry's xattrs are
// read through an O_NOFOLLOW fd of the entry itself, checked to be the
// entry fstatat saw. Only regular files and directories are opened (a
// device must not be, and a symlink cannot be): the others count as
// having no xattrs, as on a file system without them.

import "golang.org/x/sys/unix"

// errNoXattr is what reading an xattr the entry does not have returns.
const errNoXattr = unix.ENOATTR

// openXattrTarget opens entry path of dfd for reading its xattrs, or
// answers ENOTSUP for an entry that is not opened.
func openXattrTarget(dfd int, path string) (int, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, path, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return -1, err
	}
	if t := uint32(st.Mode) & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFDIR {
		return -1, unix.ENOTSUP
	}
	fd, err := unix.Openat(dfd, path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ELOOP {
		return -1, unix.ENOENT // a symlink now: the entry looked at is gone
	}
	if err != nil {
		return -1, err
	}
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil || fst.Dev != st.Dev || fst.Ino != st.Ino {
		unix.Close(fd)
		return -1, unix.ENOENT
	}
	return fd, nil
}

// listxattrat lists the xattr names of entry path of dfd.
func listxattrat(dfd int, path string, dest []byte) (int, error) {
	fd, err := openXattrTarget(dfd, path)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return unix.Flistxattr(fd, dest)
}

// getxattrat reads xattr name of entry path of dfd.
func getxattrat(dfd int, path, name string, dest []byte) (int, error) {
	fd, err := openXattrTarget(dfd, path)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return unix.Fgetxattr(fd, name, dest)
}
