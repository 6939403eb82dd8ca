package reverse

import "golang.org/x/sys/unix"

// openBeneath opens rel below rootFD with openat2(2), which refuses any
// symlink on the way in one call; ENOSYS before Linux 5.6.
func openBeneath(rootFD int, rel string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	return unix.Openat2(rootFD, rel, &how)
}
