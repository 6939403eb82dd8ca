//go:build unix

package syscall

import "syscall"

type (
	Stat_t = syscall.Stat_t
)

const (
	O_CLOEXEC  = syscall.O_CLOEXEC
	O_NOFOLLOW = syscall.O_NOFOLLOW
	O_NONBLOCK = syscall.O_NONBLOCK
	O_RDONLY   = syscall.O_RDONLY
)

func Open(path string, mode int, perm uint32) (int, error) { return syscall.Open(path, mode, perm) }
func Fstat(fd int, st *Stat_t) error                       { return syscall.Fstat(fd, st) }
func Lstat(path string, st *Stat_t) error                  { return syscall.Lstat(path, st) }
