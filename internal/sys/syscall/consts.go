package syscall

import "syscall"

// Timespec, the file types and the errors are the standard package's on
// every system; only the stat, the open flags and the calls differ.
type Timespec = syscall.Timespec

const (
	S_IFDIR = syscall.S_IFDIR
	S_IFLNK = syscall.S_IFLNK
	S_IFMT  = syscall.S_IFMT
	S_IFREG = syscall.S_IFREG

	ELOOP   = syscall.ELOOP
	ENOENT  = syscall.ENOENT
	ENOTDIR = syscall.ENOTDIR
	EINTR   = syscall.EINTR
)
