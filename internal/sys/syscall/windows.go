//go:build windows

package syscall

import (
	"syscall"

	"github.com/efs-project/efs/internal/sys/unix"
)

type (
	Stat_t   = unix.Stat_t
	Timespec = syscall.Timespec
)

const (
	O_CLOEXEC  = unix.O_CLOEXEC
	O_NOFOLLOW = unix.O_NOFOLLOW
	O_NONBLOCK = unix.O_NONBLOCK
	O_RDONLY   = unix.O_RDONLY

	S_IFDIR = syscall.S_IFDIR
	S_IFLNK = syscall.S_IFLNK
	S_IFMT  = syscall.S_IFMT
	S_IFREG = syscall.S_IFREG

	ELOOP   = syscall.ELOOP
	ENOENT  = syscall.ENOENT
	ENOTDIR = syscall.ENOTDIR
	EINTR   = syscall.EINTR
)

// Open opens path without following a final symlink when mode has
// O_NOFOLLOW; the fd is a Windows handle, for os.NewFile.
func Open(path string, mode int, perm uint32) (int, error) { return unix.Open(path, mode, perm) }
func Fstat(fd int, st *Stat_t) error                       { return unix.Fstat(fd, st) }
func Lstat(path string, st *Stat_t) error                  { return unix.Lstat(path, st) }
