package reverse

import (
	"strings"
	"unsafe"

	sysunix "github.com/efs-project/efs/internal/sys/unix"
	"golang.org/x/sys/unix"
)

// openBeneath opens rel below rootFD with openat2(2), which refuses any
// symlink on the way in one call; ENOSYS before Linux 5.6.
func openBeneath(rootFD int, rel string, flags int) (int, error) {
	var buf [512]byte
	p, err := cString(buf[:], rel)
	if err != nil {
		return -1, err
	}
	how := unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	fd, _, e := unix.Syscall6(unix.SYS_OPENAT2, uintptr(rootFD), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// cString is s NUL-terminated for a system call: in buf (the caller's,
// on its stack) when it fits, which spares the allocation of
// unix.BytePtrFromString on every lookup and open. A NUL in s is EINVAL,
// as there.
func cString(buf []byte, s string) (*byte, error) {
	if len(s) >= len(buf) {
		return unix.BytePtrFromString(s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return nil, unix.EINVAL
	}
	buf[copy(buf, s)] = 0
	return &buf[0], nil
}

// dirBufSize is the size of the buffer a listing reads entries into, as
// os.File's.
const dirBufSize = 8 << 10

// readNames lists the names in the directory fd (but . and ..) with
// getdents(2) on fd itself (unix.ReadDirNames): the *at calls and fstat
// that the listing and its record make later on fd do not depend on its
// offset. Reading through an *os.File took a dup(2), a close(2) and the
// File's allocations and finalizer per listing.
func (t *Tree) readNames(fd int) ([]string, error) {
	buf, _ := t.dirBufs.Get().(*[dirBufSize]byte)
	if buf == nil {
		buf = new([dirBufSize]byte)
	}
	defer t.dirBufs.Put(buf)
	return sysunix.ReadDirNames(fd, buf[:], make([]string, 0, 64))
}
