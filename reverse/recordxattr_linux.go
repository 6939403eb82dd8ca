package reverse

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// errNoXattr is what reading an xattr the entry does not have returns.
const errNoXattr = unix.ENODATA

// listxattrat is listxattrat(2) with AT_SYMLINK_NOFOLLOW (Linux 6.13).
func listxattrat(dfd int, path string, dest []byte) (int, error) {
	var pbuf [256]byte // a name: NAME_MAX is 255
	p, err := cString(pbuf[:], path)
	if err != nil {
		return 0, err
	}
	var d unsafe.Pointer
	if len(dest) > 0 {
		d = unsafe.Pointer(&dest[0])
	}
	r, _, e := unix.Syscall6(unix.SYS_LISTXATTRAT, uintptr(dfd), uintptr(unsafe.Pointer(p)), unix.AT_SYMLINK_NOFOLLOW, uintptr(d), uintptr(len(dest)), 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// xattrArgs is the kernel's struct xattr_args.
type xattrArgs struct {
	value uint64 // user address of the buffer
	size  uint32
	flags uint32
}

// getxattrat is getxattrat(2) with AT_SYMLINK_NOFOLLOW (Linux 6.13).
func getxattrat(dfd int, path, name string, dest []byte) (int, error) {
	var pbuf, abuf [256]byte // names: NAME_MAX and XATTR_NAME_MAX are 255
	p, err := cString(pbuf[:], path)
	if err != nil {
		return 0, err
	}
	a, err := cString(abuf[:], name)
	if err != nil {
		return 0, err
	}
	args := xattrArgs{size: uint32(len(dest))}
	if len(dest) > 0 {
		// dest is on the heap (xattrReader's buffer), which does not move.
		args.value = uint64(uintptr(unsafe.Pointer(&dest[0])))
	}
	r, _, e := unix.Syscall6(unix.SYS_GETXATTRAT, uintptr(dfd), uintptr(unsafe.Pointer(p)), unix.AT_SYMLINK_NOFOLLOW,
		uintptr(unsafe.Pointer(a)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
	runtime.KeepAlive(dest)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
