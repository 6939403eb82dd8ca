package treewrite

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// UtimeOmit as a Timespec's Nsec leaves that time as it is.
const UtimeOmit = unix.UTIME_OMIT

// futimens is futimens(2), which x/sys/unix does not wrap.
func futimens(fd int, atime, mtime unix.Timespec) error {
	ts := [2]unix.Timespec{atime, mtime}
	_, _, e := unix.Syscall(unix.SYS_FUTIMENS, uintptr(fd), uintptr(unsafe.Pointer(&ts[0])), 0)
	if e != 0 {
		return e
	}
	return nil
}
