package treewrite

// Linux: O_PATH fds and their /proc/self/fd links, utimensat on an fd,
// and RENAME_NOREPLACE.

import (
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UtimeOmit as a Timespec's Nsec leaves that time as it is.
const UtimeOmit = unix.UTIME_OMIT

// errNoXattr is what removing an xattr the file does not have returns.
const errNoXattr = unix.ENODATA

// futimens is utimensat(fd, NULL, ts, 0), which x/sys/unix does not wrap
// (its UtimesNanoAt always passes a path).
func futimens(fd int, atime, mtime unix.Timespec) error {
	ts := [2]unix.Timespec{atime, mtime}
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// FixMeta gives the existing entry name the owner, mode and times of m
// without following a symlink, even one swapped in after the caller's
// check: it works on an O_PATH fd of the entry itself.
func (d *Dir) FixMeta(name string, m Meta) error {
	fd, err := unix.Openat(d.fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if d.w.Owners && !m.NoOwner {
		if err := unix.Fchownat(fd, "", int(m.Uid), int(m.Gid), unix.AT_EMPTY_PATH); err != nil {
			return fmt.Errorf("setting owner: %w", err)
		}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		ts := []unix.Timespec{m.Atime, m.Mtime}
		if err := unix.UtimesNanoAt(d.fd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("setting times: %w", err)
		}
		return nil
	}
	// An O_PATH fd takes neither fchmod nor futimens; its /proc/self/fd
	// link reaches exactly the inode it holds.
	proc := procPath(fd)
	if m.SetXattrs {
		if err := d.w.setXattrs(-1, proc, m.Xattrs); err != nil {
			return err
		}
	}
	if err := unix.Chmod(proc, m.Perm&0o7777); err != nil {
		return fmt.Errorf("setting mode: %w", err)
	}
	if err := unix.UtimesNano(proc, []unix.Timespec{m.Atime, m.Mtime}); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// rename moves tmp to name: atomically refusing an existing name when
// !replace (RENAME_NOREPLACE), or over it, removing a directory in the way.
func (d *Dir) rename(tmp, name string, replace bool) error {
	if !replace {
		err := unix.Renameat2(d.fd, tmp, d.fd, name, unix.RENAME_NOREPLACE)
		if errors.Is(err, unix.EEXIST) {
			return ErrExists
		}
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
			if err != nil {
				return fmt.Errorf("renaming into place: %w", err)
			}
			return nil
		}
		// A file system without RENAME_NOREPLACE (NFS, some FUSE file
		// systems): a hard link is just as atomic about an existing name.
		if err := unix.Linkat(d.fd, tmp, d.fd, name, 0); err != nil {
			if errors.Is(err, unix.EEXIST) {
				return ErrExists
			}
			return fmt.Errorf("linking into place: %w", err)
		}
		unix.Unlinkat(d.fd, tmp, 0)
		return nil
	}
	// Over whatever is there; only a directory in the way (EISDIR, empty
	// or not) is removed first. Trying first spares every file a stat.
	err := unix.Renameat(d.fd, tmp, d.fd, name)
	if errors.Is(err, unix.EISDIR) {
		if err := d.RemoveAll(name); err != nil {
			return err
		}
		err = unix.Renameat(d.fd, tmp, d.fd, name)
	}
	if err != nil {
		return fmt.Errorf("renaming into place: %w", err)
	}
	return nil
}

// xattrsMatch reports whether name already has the xattrs m gives it
// (always, when m sets none).
func (d *Dir) xattrsMatch(name string, m Meta) bool {
	if !m.SetXattrs {
		return true
	}
	fd, err := unix.Openat(d.fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return d.w.xattrsMatch(-1, procPath(fd), m.Xattrs)
}

// procPath is the /proc/self/fd link of fd, which reaches exactly the
// inode fd holds (also for an O_PATH fd, which takes no fchmod, futimens
// or fsetxattr).
func procPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }
