//go:build windows

package unix

// A file descriptor here is a Windows handle. Every *at call opens its
// name relative to the directory handle with NtCreateFile, one component
// at a time and with FILE_OPEN_REPARSE_POINT, so neither a symlink nor a
// junction is ever followed on the way; a final symlink is followed only
// by calls whose unix counterpart follows it. Handles are opened sharing
// read, write and delete, like the unix fds they stand for.

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
)

type (
	Errno    = syscall.Errno
	Timespec = syscall.Timespec
)

// Stat_t is what Fstat reports of a handle, with unix's field names. Dev
// is the volume serial number and Ino the file index; Uid and Gid are
// always 0. Mode is S_IFDIR|0755 for a directory, S_IFLNK|0777 for a
// symlink or junction, and S_IFREG|0644 for anything else, 0444 when the
// file is read-only: what a backup made on Windows restores elsewhere, so
// not writable by everyone (Go's os.Stat says 0666 and 0777).
type Stat_t struct {
	Dev, Ino         uint64
	Nlink            uint64
	Mode             uint32
	Uid, Gid         uint32
	Size             int64
	Blocks           int64
	Atim, Mtim, Ctim Timespec
}

const (
	AT_FDCWD            = -100
	AT_REMOVEDIR        = 0x200
	AT_SYMLINK_NOFOLLOW = 0x100

	F_GETFL = 3
	F_SETFL = 4

	O_RDONLY    = 0x0
	O_WRONLY    = 0x1
	O_RDWR      = 0x2
	O_CREAT     = 0x40
	O_EXCL      = 0x80
	O_NONBLOCK  = 0x800
	O_DIRECTORY = 0x10000
	O_NOFOLLOW  = 0x20000
	O_CLOEXEC   = 0x80000

	// PathMax bounds a symlink target, as on Linux.
	PathMax = 4096

	// UTIME_OMIT as a Timespec's Nsec leaves that time as it is.
	UTIME_OMIT = (1 << 30) - 2

	S_IFMT  = syscall.S_IFMT
	S_IFDIR = syscall.S_IFDIR
	S_IFLNK = syscall.S_IFLNK
	S_IFREG = syscall.S_IFREG

	EEXIST    = syscall.EEXIST
	EINVAL    = syscall.EINVAL
	EISDIR    = syscall.EISDIR
	ELOOP     = syscall.ELOOP
	ENOENT    = syscall.ENOENT
	ENOSYS    = syscall.ENOSYS
	ENOTDIR   = syscall.ENOTDIR
	ENOTEMPTY = syscall.ENOTEMPTY
	ENOTSUP   = syscall.ENOTSUP
	EPERM     = syscall.EPERM
	EACCES    = syscall.EACCES
	ERANGE    = syscall.ERANGE
)

// share is how every handle is opened: like a unix fd, it does not stop
// others from reading, writing, renaming or deleting the file.
const share = windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE

// errnoOf turns an NTSTATUS or Windows error into the unix errno the
// callers compare with, so errors.Is(err, fs.ErrNotExist) and the like
// hold as they do on unix.
func errnoOf(err error) error {
	var st windows.NTStatus
	if errors.As(err, &st) {
		switch st {
		case windows.STATUS_OBJECT_NAME_COLLISION:
			return EEXIST
		case windows.STATUS_NOT_A_DIRECTORY:
			return ENOTDIR
		case windows.STATUS_FILE_IS_A_DIRECTORY:
			return EISDIR
		case windows.STATUS_OBJECT_NAME_NOT_FOUND, windows.STATUS_OBJECT_PATH_NOT_FOUND, windows.STATUS_DELETE_PENDING:
			return ENOENT
		case windows.STATUS_OBJECT_NAME_INVALID:
			return EINVAL
		}
		err = st.Errno()
	}
	switch err {
	case windows.ERROR_FILE_NOT_FOUND, windows.ERROR_PATH_NOT_FOUND, windows.ERROR_INVALID_DRIVE:
		return ENOENT
	case windows.ERROR_ALREADY_EXISTS, windows.ERROR_FILE_EXISTS:
		return EEXIST
	case windows.ERROR_DIRECTORY:
		return ENOTDIR
	case windows.ERROR_DIR_NOT_EMPTY:
		return ENOTEMPTY
	case windows.ERROR_ACCESS_DENIED, windows.ERROR_SHARING_VIOLATION:
		return EACCES
	case windows.ERROR_PRIVILEGE_NOT_HELD:
		return EPERM
	case windows.ERROR_INVALID_NAME, windows.ERROR_BAD_PATHNAME:
		return EINVAL
	case windows.ERROR_NOT_SUPPORTED, windows.ERROR_INVALID_FUNCTION:
		return ENOTSUP
	}
	return err
}

// components splits a relative name at either separator, refusing the
// names Windows would read as something else (an alternate data stream
// after a colon, a wildcard, a device path).
func components(path string) ([]string, error) {
	if path == "" {
		return nil, ENOENT
	}
	var out []string
	for _, c := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '\\' }) {
		if c == "." {
			continue
		}
		if strings.ContainsAny(c, `<>:"|?*`) {
			return nil, EINVAL
		}
		out = append(out, c)
	}
	return out, nil
}

// access is the NT access mask for open flags, always with the right to
// read (and, when it can be had, write) attributes, which Fstat, Fchmod
// and Futimens on the handle need.
func access(flags int) uint32 {
	var a uint32 = windows.FILE_READ_ATTRIBUTES | windows.SYNCHRONIZE
	switch flags & (O_WRONLY | O_RDWR) {
	case O_RDONLY:
		a |= windows.FILE_GENERIC_READ
	case O_WRONLY:
		a |= windows.FILE_GENERIC_WRITE
	default:
		a |= windows.FILE_GENERIC_READ | windows.FILE_GENERIC_WRITE
	}
	return a
}

// disposition is the NT create disposition for open flags.
func disposition(flags int) uint32 {
	switch {
	case flags&O_CREAT != 0 && flags&O_EXCL != 0:
		return windows.FILE_CREATE
	case flags&O_CREAT != 0:
		return windows.FILE_OPEN_IF
	}
	return windows.FILE_OPEN
}

// ntOpen opens the single component name relative to the directory
// handle dir (the directory itself for ""). The final component is not
// followed when options has FILE_OPEN_REPARSE_POINT.
func ntOpen(dir windows.Handle, name string, acc, disp, options, attrs uint32) (windows.Handle, error) {
	if name == "" {
		var h windows.Handle
		p := windows.CurrentProcess()
		if err := windows.DuplicateHandle(p, dir, p, &h, 0, false, windows.DUPLICATE_SAME_ACCESS); err != nil {
			return windows.InvalidHandle, errnoOf(err)
		}
		return h, nil
	}
	u, err := windows.NewNTUnicodeString(name)
	if err != nil {
		return windows.InvalidHandle, EINVAL
	}
	oa := windows.OBJECT_ATTRIBUTES{RootDirectory: dir, ObjectName: u, Attributes: windows.OBJ_CASE_INSENSITIVE}
	oa.Length = uint32(unsafe.Sizeof(oa))
	var h windows.Handle
	var iosb windows.IO_STATUS_BLOCK
	try := func(acc uint32) error {
		return windows.NtCreateFile(&h, acc|windows.SYNCHRONIZE, &oa, &iosb, nil, attrs, share, disp, options|windows.FILE_SYNCHRONOUS_IO_NONALERT, 0, 0)
	}
	err = try(acc | windows.FILE_WRITE_ATTRIBUTES)
	if errors.Is(err, windows.STATUS_ACCESS_DENIED) && acc&windows.FILE_WRITE_ATTRIBUTES == 0 {
		err = try(acc) // a file we may read but not change
	}
	if err != nil {
		return windows.InvalidHandle, errnoOf(err)
	}
	return h, nil
}

// parentOf opens the directory holding the directory dir, by path: NT has
// no "..". Only treewrite.Within climbs, to compare directories.
func parentOf(dir windows.Handle) (windows.Handle, error) {
	p, err := finalPath(dir)
	if err != nil {
		return windows.InvalidHandle, err
	}
	return openPath(filepath.Dir(p), O_RDONLY|O_DIRECTORY)
}

// finalPath is the path of the file open as h.
func finalPath(h windows.Handle) (string, error) {
	buf := make([]uint16, 512)
	for {
		n, err := windows.GetFinalPathNameByHandle(h, &buf[0], uint32(len(buf)), 0)
		if err != nil {
			return "", errnoOf(err)
		}
		if int(n) < len(buf) {
			return windows.UTF16ToString(buf[:n]), nil
		}
		buf = make([]uint16, n+1)
	}
}

// openPath opens path (absolute or relative to the working directory)
// the Win32 way; O_NOFOLLOW opens a final symlink itself, as ELOOP.
func openPath(path string, flags int) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return windows.InvalidHandle, EINVAL
	}
	disp := uint32(windows.OPEN_EXISTING)
	switch {
	case flags&O_CREAT != 0 && flags&O_EXCL != 0:
		disp = windows.CREATE_NEW
	case flags&O_CREAT != 0:
		disp = windows.OPEN_ALWAYS
	}
	attrs := uint32(windows.FILE_FLAG_BACKUP_SEMANTICS)
	if flags&O_NOFOLLOW != 0 {
		attrs |= windows.FILE_FLAG_OPEN_REPARSE_POINT
	}
	h, err := windows.CreateFile(p, access(flags)|windows.FILE_WRITE_ATTRIBUTES, share, nil, disp, attrs, 0)
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		h, err = windows.CreateFile(p, access(flags), share, nil, disp, attrs, 0)
	}
	if err != nil {
		return windows.InvalidHandle, errnoOf(err)
	}
	if err := checkKind(h, flags); err != nil {
		windows.CloseHandle(h)
		return windows.InvalidHandle, err
	}
	return h, nil
}

// checkKind holds an opened handle to what the unix open flags promise:
// ELOOP for a symlink opened with O_NOFOLLOW, ENOTDIR for a non-directory
// opened with O_DIRECTORY.
func checkKind(h windows.Handle, flags int) error {
	if flags&(O_NOFOLLOW|O_DIRECTORY) == 0 {
		return nil
	}
	attrs, link, err := kind(h)
	if err != nil {
		return err
	}
	if link && flags&O_NOFOLLOW != 0 {
		return ELOOP
	}
	if attrs&windows.FILE_ATTRIBUTE_DIRECTORY == 0 && flags&O_DIRECTORY != 0 {
		return ENOTDIR
	}
	return nil
}

// kind reports h's attributes and whether it is a symlink or junction
// (other reparse points, such as deduplicated or cloud files, are files).
func kind(h windows.Handle) (attrs uint32, link bool, err error) {
	var ti struct{ FileAttributes, ReparseTag uint32 }
	if err := windows.GetFileInformationByHandleEx(h, windows.FileAttributeTagInfo, (*byte)(unsafe.Pointer(&ti)), uint32(unsafe.Sizeof(ti))); err != nil {
		return 0, false, errnoOf(err)
	}
	link = ti.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 &&
		(ti.ReparseTag == windows.IO_REPARSE_TAG_SYMLINK || ti.ReparseTag == windows.IO_REPARSE_TAG_MOUNT_POINT)
	return ti.FileAttributes, link, nil
}

// openat opens path relative to dirfd (AT_FDCWD or an absolute path: the
// Win32 way), one component at a time, following no symlink on the way.
// acc, when not 0, replaces the access the flags ask for (a stat needs
// only the attributes).
func openat(dirfd int, path string, flags int, acc uint32) (windows.Handle, error) {
	if dirfd == AT_FDCWD || filepath.IsAbs(path) || filepath.VolumeName(path) != "" {
		return openPath(path, flags)
	}
	if path == ".." {
		return parentOf(windows.Handle(dirfd))
	}
	names, err := components(path)
	if err != nil {
		return windows.InvalidHandle, err
	}
	dir := windows.Handle(dirfd)
	if len(names) == 0 {
		return ntOpen(dir, "", 0, 0, 0, 0)
	}
	for i, name := range names {
		if name == ".." {
			return windows.InvalidHandle, EINVAL
		}
		last := i == len(names)-1
		a, disp, opts, fl := uint32(windows.FILE_LIST_DIRECTORY|windows.FILE_TRAVERSE), uint32(windows.FILE_OPEN), uint32(windows.FILE_DIRECTORY_FILE|windows.FILE_OPEN_REPARSE_POINT), O_DIRECTORY|O_NOFOLLOW
		if last {
			a, disp, opts, fl = access(flags), disposition(flags), 0, flags
			if acc != 0 {
				a = acc
			}
			if flags&O_NOFOLLOW != 0 {
				opts |= windows.FILE_OPEN_REPARSE_POINT
			}
			if flags&O_DIRECTORY != 0 {
				opts |= windows.FILE_DIRECTORY_FILE
			}
		}
		h, err := ntOpen(dir, name, a, disp, opts, windows.FILE_ATTRIBUTE_NORMAL)
		if dir != windows.Handle(dirfd) {
			windows.CloseHandle(dir)
		}
		if err != nil {
			return windows.InvalidHandle, err
		}
		if err := checkKind(h, fl); err != nil {
			windows.CloseHandle(h)
			return windows.InvalidHandle, err
		}
		dir = h
	}
	return dir, nil
}

// Open opens path; the mode is ignored (Fchmod sets the read-only bit).
func Open(path string, flags int, mode uint32) (int, error) {
	h, err := openPath(path, flags)
	return int(h), err
}

// Openat opens path relative to the directory dirfd, following no symlink
// on the way, and none at the end with O_NOFOLLOW.
func Openat(dirfd int, path string, flags int, mode uint32) (int, error) {
	h, err := openat(dirfd, path, flags, 0)
	return int(h), err
}

func Close(fd int) error { return errnoOf(windows.CloseHandle(windows.Handle(fd))) }

func Dup(fd int) (int, error) {
	h, err := ntOpen(windows.Handle(fd), "", 0, 0, 0, 0)
	return int(h), err
}

// FcntlInt does nothing: a Windows handle has no O_NONBLOCK to clear.
func FcntlInt(fd uintptr, cmd, arg int) (int, error) { return 0, nil }

// Fstat describes the file open as fd.
func Fstat(fd int, st *Stat_t) error {
	h := windows.Handle(fd)
	var bi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &bi); err != nil {
		return errnoOf(err)
	}
	var basic struct {
		CreationTime, LastAccessTime, LastWriteTime, ChangeTime int64
		FileAttributes                                          uint32
		_                                                       uint32
	}
	if err := windows.GetFileInformationByHandleEx(h, windows.FileBasicInfo, (*byte)(unsafe.Pointer(&basic)), uint32(unsafe.Sizeof(basic))); err != nil {
		return errnoOf(err)
	}
	_, link, err := kind(h)
	if err != nil {
		return err
	}
	*st = Stat_t{
		Dev:   uint64(bi.VolumeSerialNumber),
		Ino:   uint64(bi.FileIndexHigh)<<32 | uint64(bi.FileIndexLow),
		Nlink: uint64(bi.NumberOfLinks),
		Size:  int64(bi.FileSizeHigh)<<32 | int64(bi.FileSizeLow),
		Atim:  syscall.NsecToTimespec(bi.LastAccessTime.Nanoseconds()),
		Mtim:  syscall.NsecToTimespec(bi.LastWriteTime.Nanoseconds()),
		Ctim:  syscall.NsecToTimespec((&windows.Filetime{LowDateTime: uint32(basic.ChangeTime), HighDateTime: uint32(basic.ChangeTime >> 32)}).Nanoseconds()),
	}
	switch {
	case link:
		st.Mode = S_IFLNK | 0o777
		t, err := readlink(h)
		if err != nil {
			return err
		}
		st.Size = int64(len(t))
	case bi.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
		st.Mode = S_IFDIR | 0o755
		st.Size = 0
	default:
		st.Mode = S_IFREG | 0o644
		if bi.FileAttributes&windows.FILE_ATTRIBUTE_READONLY != 0 {
			st.Mode &^= 0o200
		}
	}
	st.Blocks = (st.Size + 511) / 512
	return nil
}

// Fstatat describes path in dirfd; AT_SYMLINK_NOFOLLOW describes a final
// symlink itself.
func Fstatat(dirfd int, path string, st *Stat_t, flags int) error {
	of := O_RDONLY
	if flags&AT_SYMLINK_NOFOLLOW != 0 {
		of |= O_NOFOLLOW
	}
	h, err := openStat(dirfd, path, of)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	return Fstat(int(h), st)
}

// openStat opens path for reading its attributes only, which needs no
// read access to the file; a final symlink opened with O_NOFOLLOW is the
// link itself, not ELOOP.
func openStat(dirfd int, path string, flags int) (windows.Handle, error) {
	nofollow := flags & O_NOFOLLOW
	if dirfd == AT_FDCWD || filepath.IsAbs(path) || filepath.VolumeName(path) != "" {
		p, err := windows.UTF16PtrFromString(path)
		if err != nil {
			return windows.InvalidHandle, EINVAL
		}
		attrs := uint32(windows.FILE_FLAG_BACKUP_SEMANTICS)
		if nofollow != 0 {
			attrs |= windows.FILE_FLAG_OPEN_REPARSE_POINT
		}
		h, err := windows.CreateFile(p, windows.FILE_READ_ATTRIBUTES, share, nil, windows.OPEN_EXISTING, attrs, 0)
		return h, errnoOf(err)
	}
	dir, name := filepath.Split(filepath.FromSlash(path))
	if dir == "" {
		dir = "."
	}
	d, err := openat(dirfd, dir, O_RDONLY|O_DIRECTORY|O_NOFOLLOW, 0)
	if err != nil {
		return windows.InvalidHandle, err
	}
	defer windows.CloseHandle(d)
	if name == "" {
		return ntOpen(d, "", 0, 0, 0, 0)
	}
	opts := uint32(0)
	if nofollow != 0 {
		opts = windows.FILE_OPEN_REPARSE_POINT
	}
	if _, err := components(name); err != nil {
		return windows.InvalidHandle, err
	}
	return ntOpen(d, name, windows.FILE_READ_ATTRIBUTES, windows.FILE_OPEN, opts, 0)
}

// Stat describes path, following symlinks.
func Stat(path string, st *Stat_t) error { return Fstatat(AT_FDCWD, path, st, 0) }

// Lstat describes path, a final symlink itself.
func Lstat(path string, st *Stat_t) error {
	return Fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW)
}

// Mkdir makes the directory path; the mode is ignored.
func Mkdir(path string, mode uint32) error {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return EINVAL
	}
	return errnoOf(windows.CreateDirectory(p, nil))
}

// Mkdirat makes the directory path in dirfd; the mode is ignored.
func Mkdirat(dirfd int, path string, mode uint32) error {
	h, err := openat(dirfd, path, O_CREAT|O_EXCL|O_DIRECTORY|O_NOFOLLOW, windows.FILE_LIST_DIRECTORY)
	if err != nil {
		return err
	}
	return errnoOf(windows.CloseHandle(h))
}

// Unlinkat removes path in dirfd (a symlink itself, never its target):
// a file, or with AT_REMOVEDIR an empty directory. A read-only file is
// removed too, as unix lets the directory's owner.
func Unlinkat(dirfd int, path string, flags int) error {
	h, err := openStatDelete(dirfd, path)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	attrs, link, err := kind(h)
	if err != nil {
		return err
	}
	isDir := attrs&windows.FILE_ATTRIBUTE_DIRECTORY != 0 && !link
	switch {
	case isDir && flags&AT_REMOVEDIR == 0:
		return EISDIR
	case !isDir && flags&AT_REMOVEDIR != 0:
		return ENOTDIR
	}
	if attrs&windows.FILE_ATTRIBUTE_READONLY != 0 {
		if err := setAttrs(h, attrs&^windows.FILE_ATTRIBUTE_READONLY); err != nil {
			return err
		}
	}
	del := uint32(windows.FILE_DISPOSITION_DELETE | windows.FILE_DISPOSITION_POSIX_SEMANTICS)
	err = windows.SetFileInformationByHandle(h, windows.FileDispositionInfoEx, (*byte)(unsafe.Pointer(&del)), 4)
	if err != nil && !errors.Is(err, windows.ERROR_DIR_NOT_EMPTY) {
		// Before Windows 10 1709, or a file system without POSIX
		// semantics: the name goes when the last handle closes.
		one := byte(1)
		err = windows.SetFileInformationByHandle(h, windows.FileDispositionInfo, &one, 1)
	}
	return errnoOf(err)
}

// openStatDelete opens path in dirfd, a final symlink itself, for removal.
func openStatDelete(dirfd int, path string) (windows.Handle, error) {
	dir, name := filepath.Split(filepath.FromSlash(path))
	if dir == "" {
		dir = "."
	}
	if _, err := components(name); err != nil || name == "" {
		return windows.InvalidHandle, EINVAL
	}
	d, err := openat(dirfd, dir, O_RDONLY|O_DIRECTORY|O_NOFOLLOW, 0)
	if err != nil {
		return windows.InvalidHandle, err
	}
	defer windows.CloseHandle(d)
	return ntOpen(d, name, windows.DELETE|windows.FILE_READ_ATTRIBUTES|windows.FILE_WRITE_ATTRIBUTES, windows.FILE_OPEN, windows.FILE_OPEN_REPARSE_POINT, 0)
}

// renameInfo is FILE_RENAME_INFORMATION and FILE_LINK_INFORMATION: the
// new name, relative to the directory handle root.
func renameInfo(replace bool, root windows.Handle, name string) []byte {
	u := utf16.Encode([]rune(name))
	const head = 20 // flags, padding, root handle, name length (amd64, arm64)
	b := make([]byte, head+2*len(u)+2)
	if replace {
		b[0] = 1
	}
	*(*windows.Handle)(unsafe.Pointer(&b[8])) = root
	*(*uint32)(unsafe.Pointer(&b[16])) = uint32(2 * len(u))
	for i, c := range u {
		b[head+2*i], b[head+2*i+1] = byte(c), byte(c>>8)
	}
	return b
}

// openParent opens the directory that holds path in dirfd, without
// following a symlink on the way, and returns it with path's last
// component, which must be one plain name.
func openParent(dirfd int, path string) (windows.Handle, string, error) {
	dir, name := filepath.Split(filepath.FromSlash(path))
	if dir == "" {
		dir = "."
	}
	if _, err := components(name); err != nil || name == "" {
		return 0, "", EINVAL
	}
	d, err := openat(dirfd, dir, O_RDONLY|O_DIRECTORY|O_NOFOLLOW, 0)
	if err != nil {
		return 0, "", err
	}
	return d, name, nil
}

// moveName renames (or, with class FileLinkInformation, links) the
// entry oldpath of olddirfd, a final symlink itself, to newpath in
// newdirfd.
func moveName(olddirfd int, oldpath string, newdirfd int, newpath string, replace bool, class uint32) error {
	nd, name, err := openParent(newdirfd, newpath)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(nd)
	h, err := openStatDelete(olddirfd, oldpath)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	b := renameInfo(replace, nd, name)
	var iosb windows.IO_STATUS_BLOCK
	return errnoOf(windows.NtSetInformationFile(h, &iosb, &b[0], uint32(len(b)), class))
}

// Renameat renames oldpath in olddirfd to newpath in newdirfd, replacing
// a file there.
func Renameat(olddirfd int, oldpath string, newdirfd int, newpath string) error {
	return moveName(olddirfd, oldpath, newdirfd, newpath, true, windows.FileRenameInformation)
}

// RenameatNoReplace is Renameat refusing an existing newpath with EEXIST,
// atomically (Linux's RENAME_NOREPLACE).
func RenameatNoReplace(olddirfd int, oldpath string, newdirfd int, newpath string) error {
	return moveName(olddirfd, oldpath, newdirfd, newpath, false, windows.FileRenameInformation)
}

// Linkat makes newpath in newdirfd a hard link of oldpath in olddirfd;
// an existing newpath is EEXIST. Flags must be 0.
func Linkat(olddirfd int, oldpath string, newdirfd int, newpath string, flags int) error {
	return moveName(olddirfd, oldpath, newdirfd, newpath, false, fileLinkInformation)
}

// fileLinkInformation is NT's FileLinkInformation class (x/sys/windows
// gives that name the value of FileLinkInformationEx, 72, which older
// systems and Wine do not know).
const fileLinkInformation = 11

// symlinkUnprivileged lets Developer Mode create symlinks without the
// symlink privilege.
const symlinkUnprivileged = 0x2

// Symlinkat creates the symlink newpath in newdirfd pointing at oldpath,
// a directory symlink when oldpath names a directory now. Windows allows
// it to administrators and in Developer Mode; elsewhere it is EPERM.
func Symlinkat(oldpath string, newdirfd int, newpath string) error {
	d, name, err := openParent(newdirfd, newpath)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(d)
	base, err := finalPath(d)
	if err != nil {
		return err
	}
	target := filepath.FromSlash(oldpath)
	var flags uint32 = symlinkUnprivileged
	var st Stat_t
	resolved := target
	if !filepath.IsAbs(target) {
		resolved = filepath.Join(base, target)
	}
	if Stat(resolved, &st) == nil && st.Mode&S_IFMT == S_IFDIR {
		flags |= windows.SYMBOLIC_LINK_FLAG_DIRECTORY
	}
	l, err := windows.UTF16PtrFromString(filepath.Join(base, name))
	if err != nil {
		return EINVAL
	}
	t, err := windows.UTF16PtrFromString(target)
	if err != nil {
		return EINVAL
	}
	err = windows.CreateSymbolicLink(l, t, flags)
	if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
		err = windows.CreateSymbolicLink(l, t, flags&^symlinkUnprivileged) // before Windows 10 1703
	}
	return errnoOf(err)
}

// Readlinkat reads the target of the symlink path in dirfd, with "/"
// separators when it is relative; EINVAL when it is no symlink.
func Readlinkat(dirfd int, path string, buf []byte) (int, error) {
	h, err := openStat(dirfd, path, O_NOFOLLOW)
	if err != nil {
		return 0, err
	}
	defer windows.CloseHandle(h)
	t, err := readlink(h)
	if err != nil {
		return 0, err
	}
	return copy(buf, t), nil
}

// readlink reads the target of the symlink or junction open as h.
func readlink(h windows.Handle) (string, error) {
	buf := make([]byte, windows.MAXIMUM_REPARSE_DATA_BUFFER_SIZE)
	var n uint32
	if err := windows.DeviceIoControl(h, windows.FSCTL_GET_REPARSE_POINT, nil, 0, &buf[0], uint32(len(buf)), &n, nil); err != nil {
		if errors.Is(err, windows.ERROR_NOT_A_REPARSE_POINT) {
			return "", EINVAL
		}
		return "", errnoOf(err)
	}
	u16 := func(off int) int { return int(buf[off]) | int(buf[off+1])<<8 }
	tag := uint32(u16(0)) | uint32(u16(2))<<16
	var path int
	switch tag {
	case windows.IO_REPARSE_TAG_SYMLINK:
		path = 20
	case windows.IO_REPARSE_TAG_MOUNT_POINT:
		path = 16
	default:
		return "", EINVAL
	}
	str := func(off, size int) string {
		if path+off+size > int(n) || size%2 != 0 {
			return ""
		}
		w := make([]uint16, size/2)
		for i := range w {
			w[i] = uint16(u16(path + off + 2*i))
		}
		return string(utf16.Decode(w))
	}
	t := str(u16(12), u16(14)) // print name
	if t == "" {
		t = strings.TrimPrefix(str(u16(8), u16(10)), `\??\`) // substitute name
	}
	relative := tag == windows.IO_REPARSE_TAG_SYMLINK && buf[16]&1 != 0
	if relative {
		t = filepath.ToSlash(t)
	}
	return t, nil
}

// setAttrs sets h's file attributes, leaving its times alone.
func setAttrs(h windows.Handle, attrs uint32) error {
	if attrs == 0 {
		attrs = windows.FILE_ATTRIBUTE_NORMAL
	}
	var basic struct {
		CreationTime, LastAccessTime, LastWriteTime, ChangeTime int64
		FileAttributes                                          uint32
		_                                                       uint32
	}
	basic.FileAttributes = attrs
	return errnoOf(windows.SetFileInformationByHandle(h, windows.FileBasicInfo, (*byte)(unsafe.Pointer(&basic)), uint32(unsafe.Sizeof(basic))))
}

// Fchmod maps mode to the read-only attribute, the one permission Windows
// keeps per file: set when mode has no owner write bit. A directory's
// read-only attribute means something else to Windows, so it is left
// alone.
func Fchmod(fd int, mode uint32) error {
	h := windows.Handle(fd)
	var bi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &bi); err != nil {
		return errnoOf(err)
	}
	if bi.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
		return nil
	}
	attrs := bi.FileAttributes &^ windows.FILE_ATTRIBUTE_READONLY
	if mode&0o200 == 0 {
		attrs |= windows.FILE_ATTRIBUTE_READONLY
	}
	if attrs == bi.FileAttributes {
		return nil
	}
	return setAttrs(h, attrs)
}

// Fchmodat is Fchmod of path in dirfd (a symlink has no mode: nil).
func Fchmodat(dirfd int, path string, mode uint32, flags int) error {
	h, err := openStat(dirfd, path, O_NOFOLLOW)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	if _, link, err := kind(h); err != nil || link {
		return err
	}
	return Fchmod(int(h), mode)
}

// Fchown and Fchownat are ENOTSUP: Windows files have no unix owner.
func Fchown(fd, uid, gid int) error                              { return ENOTSUP }
func Fchownat(dirfd int, path string, uid, gid, flags int) error { return ENOTSUP }

// filetime converts a Timespec for SetFileTime: nil for UTIME_OMIT.
func filetime(ts Timespec) *windows.Filetime {
	if ts.Nsec == UTIME_OMIT {
		return nil
	}
	ft := windows.NsecToFiletime(time.Unix(ts.Sec, ts.Nsec).UnixNano())
	return &ft
}

// Futimens sets the access and modification times of the file open as
// fd; a Nsec of UTIME_OMIT leaves that time alone.
func Futimens(fd int, ts []Timespec) error {
	return errnoOf(windows.SetFileTime(windows.Handle(fd), nil, filetime(ts[0]), filetime(ts[1])))
}

// UtimesNanoAt sets the times of path in dirfd, of a final symlink itself
// with AT_SYMLINK_NOFOLLOW.
func UtimesNanoAt(dirfd int, path string, ts []Timespec, flags int) error {
	of := O_RDONLY
	if flags&AT_SYMLINK_NOFOLLOW != 0 {
		of |= O_NOFOLLOW
	}
	h, err := openStat(dirfd, path, of)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	return Futimens(int(h), ts)
}

// Windows has no xattrs efs could keep: every xattr call is ENOTSUP, as
// on a unix file system without them.
func Listxattr(path string, dest []byte) (int, error)             { return 0, ENOTSUP }
func Llistxattr(path string, dest []byte) (int, error)            { return 0, ENOTSUP }
func Flistxattr(fd int, dest []byte) (int, error)                 { return 0, ENOTSUP }
func Getxattr(path, attr string, dest []byte) (int, error)        { return 0, ENOTSUP }
func Lgetxattr(path, attr string, dest []byte) (int, error)       { return 0, ENOTSUP }
func Fgetxattr(fd int, attr string, dest []byte) (int, error)     { return 0, ENOTSUP }
func Setxattr(path, attr string, data []byte, flags int) error    { return ENOTSUP }
func Fsetxattr(fd int, attr string, data []byte, flags int) error { return ENOTSUP }
func Removexattr(path, attr string) error                         { return ENOTSUP }
func Fremovexattr(fd int, attr string) error                      { return ENOTSUP }
