//go:build unix

package syscall

import "syscall"

type (
	Stat_t   = syscall.Stat_t
	Timespec = syscall.Timespec
)

const (
	O_CLOEXEC  = syscall.O_CLOEXEC
	O_NOFOLLOW = syscall.O_NOFOLLOW
	O_NONBLOCK = syscall.O_NONBLOCK
	O_RDONLY   = syscall.O_RDONLY

	S_IFDIR = syscall.S_IFDIR
	S_IFLNK = syscall.S_IFLNK
	S_IFMT  = syscall.S_IFMT
	S_IFREG = syscall.S_IFREG

	ELOOP   = syscall.ELOOP
	ENOENT  = syscall.ENOENT
	ENOTDIR = syscall.ENOTDIR
	EINTR   = syscall.EINTR
)

func Open(path string, mode int, perm uint32) (int, error) { return syscall.Open(path, mode, perm) }
func Fstat(fd int, st *Stat_t) error                       { return syscall.Fstat(fd, st) }
func Lstat(path string, st *Stat_t) error                  { return syscall.Lstat(path, st) }
