//go:build unix && !linux

package reverse

import "golang.org/x/sys/unix"

// openBeneath is ENOSYS: only Linux has openat2, so openRel walks one
// component at a time with O_NOFOLLOW.
func openBeneath(rootFD int, rel string, flags int) (int, error) {
	return -1, unix.ENOSYS
}

// readNames lists the names in the directory fd (but . and ..).
func (t *Tree) readNames(fd int) ([]string, error) { return readNamesDup(fd) }
