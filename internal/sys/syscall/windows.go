//go:build windows

package syscall

import (
	"github.com/efs-project/efs/internal/sys/unix"
)

type (
	Stat_t = unix.Stat_t
)

const (
	O_CLOEXEC  = unix.O_CLOEXEC
	O_NOFOLLOW = unix.O_NOFOLLOW
	O_NONBLOCK = unix.O_NONBLOCK
	O_RDONLY   = unix.O_RDONLY
)

// Open opens path without following a final symlink when mode has
// O_NOFOLLOW; the fd is a Windows handle, for os.NewFile.
func Open(path string, mode int, perm uint32) (int, error) { return unix.Open(path, mode, perm) }
func Fstat(fd int, st *Stat_t) error                       { return unix.Fstat(fd, st) }
func Lstat(path string, st *Stat_t) error                  { return unix.Lstat(path, st) }
