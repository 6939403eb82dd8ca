//go:build unix

package unix

import "golang.org/x/sys/unix"

type (
	Errno    = unix.Errno
	Stat_t   = unix.Stat_t
	Timespec = unix.Timespec
)

const (
	AT_FDCWD            = unix.AT_FDCWD
	AT_REMOVEDIR        = unix.AT_REMOVEDIR
	AT_SYMLINK_NOFOLLOW = unix.AT_SYMLINK_NOFOLLOW

	F_GETFL = unix.F_GETFL
	F_SETFL = unix.F_SETFL

	O_CLOEXEC   = unix.O_CLOEXEC
	O_CREAT     = unix.O_CREAT
	O_DIRECTORY = unix.O_DIRECTORY
	O_EXCL      = unix.O_EXCL
	O_NOFOLLOW  = unix.O_NOFOLLOW
	O_NONBLOCK  = unix.O_NONBLOCK
	O_RDONLY    = unix.O_RDONLY
	O_WRONLY    = unix.O_WRONLY

	PathMax = unix.PathMax

	S_IFDIR = unix.S_IFDIR
	S_IFLNK = unix.S_IFLNK
	S_IFMT  = unix.S_IFMT
	S_IFREG = unix.S_IFREG

	EEXIST  = unix.EEXIST
	EINVAL  = unix.EINVAL
	EISDIR  = unix.EISDIR
	ELOOP   = unix.ELOOP
	ENOENT  = unix.ENOENT
	ENOSYS  = unix.ENOSYS
	ENOTDIR = unix.ENOTDIR
	ENOTSUP = unix.ENOTSUP
	EPERM   = unix.EPERM
	ERANGE  = unix.ERANGE
)

func Close(fd int) error                             { return unix.Close(fd) }
func Dup(fd int) (int, error)                        { return unix.Dup(fd) }
func Fchmod(fd int, mode uint32) error               { return unix.Fchmod(fd, mode) }
func Fchown(fd, uid, gid int) error                  { return unix.Fchown(fd, uid, gid) }
func Fstat(fd int, st *Stat_t) error                 { return unix.Fstat(fd, st) }
func Mkdir(path string, mode uint32) error           { return unix.Mkdir(path, mode) }
func Stat(path string, st *Stat_t) error             { return unix.Stat(path, st) }
func FcntlInt(fd uintptr, cmd, arg int) (int, error) { return unix.FcntlInt(fd, cmd, arg) }

func Open(path string, flags int, mode uint32) (int, error) { return unix.Open(path, flags, mode) }
func Openat(dirfd int, path string, flags int, mode uint32) (int, error) {
	return unix.Openat(dirfd, path, flags, mode)
}
func Fstatat(dirfd int, path string, st *Stat_t, flags int) error {
	return unix.Fstatat(dirfd, path, st, flags)
}
func Fchownat(dirfd int, path string, uid, gid, flags int) error {
	return unix.Fchownat(dirfd, path, uid, gid, flags)
}
func Fchmodat(dirfd int, path string, mode uint32, flags int) error {
	return unix.Fchmodat(dirfd, path, mode, flags)
}
func Mkdirat(dirfd int, path string, mode uint32) error { return unix.Mkdirat(dirfd, path, mode) }
func Unlinkat(dirfd int, path string, flags int) error  { return unix.Unlinkat(dirfd, path, flags) }
func Readlinkat(dirfd int, path string, buf []byte) (int, error) {
	return unix.Readlinkat(dirfd, path, buf)
}
func Renameat(olddirfd int, oldpath string, newdirfd int, newpath string) error {
	return unix.Renameat(olddirfd, oldpath, newdirfd, newpath)
}
func Linkat(olddirfd int, oldpath string, newdirfd int, newpath string, flags int) error {
	return unix.Linkat(olddirfd, oldpath, newdirfd, newpath, flags)
}
func Symlinkat(oldpath string, newdirfd int, newpath string) error {
	return unix.Symlinkat(oldpath, newdirfd, newpath)
}
func UtimesNanoAt(dirfd int, path string, ts []Timespec, flags int) error {
	return unix.UtimesNanoAt(dirfd, path, ts, flags)
}

func Listxattr(path string, dest []byte) (int, error)         { return unix.Listxattr(path, dest) }
func Llistxattr(path string, dest []byte) (int, error)        { return unix.Llistxattr(path, dest) }
func Flistxattr(fd int, dest []byte) (int, error)             { return unix.Flistxattr(fd, dest) }
func Getxattr(path, attr string, dest []byte) (int, error)    { return unix.Getxattr(path, attr, dest) }
func Lgetxattr(path, attr string, dest []byte) (int, error)   { return unix.Lgetxattr(path, attr, dest) }
func Fgetxattr(fd int, attr string, dest []byte) (int, error) { return unix.Fgetxattr(fd, attr, dest) }
func Setxattr(path, attr string, data []byte, flags int) error {
	return unix.Setxattr(path, attr, data, flags)
}
func Fsetxattr(fd int, attr string, data []byte, flags int) error {
	return unix.Fsetxattr(fd, attr, data, flags)
}
func Removexattr(path, attr string) error    { return unix.Removexattr(path, attr) }
func Fremovexattr(fd int, attr string) error { return unix.Fremovexattr(fd, attr) }
