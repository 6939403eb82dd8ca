package treewrite

// Windows, through internal/sys/unix's NT handles: no owners (Writer.Owners
// stays false: os.Geteuid is -1), no xattrs (every one is ENOTSUP, which
// the callers count as not restored), a mode is only its read-only bit,
// and a rename refuses an existing name atomically by itself.

import (
	"errors"
	"fmt"

	"github.com/efs-project/efs/internal/sys/unix"
)

// UtimeOmit as a Timespec's Nsec leaves that time as it is.
const UtimeOmit = unix.UTIME_OMIT

// errNoXattr is what removing an xattr the file does not have returns.
const errNoXattr = unix.ENOTSUP

// futimens sets the times of the file open as fd.
func futimens(fd int, atime, mtime unix.Timespec) error {
	return unix.Futimens(fd, []unix.Timespec{atime, mtime})
}

// FixMeta gives the existing entry name the mode and times of m without
// following a symlink: the entry is opened as it is (a symlink itself),
// and changed through that handle.
func (d *Dir) FixMeta(name string, m Meta) error {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW, 0)
	if errors.Is(err, unix.ELOOP) {
		ts := []unix.Timespec{m.Atime, m.Mtime}
		if err := unix.UtimesNanoAt(d.fd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("setting times: %w", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return d.w.apply(fd, m)
}

// rename moves tmp to name: refusing an existing name when !replace, or
// over it, removing a directory in the way.
func (d *Dir) rename(tmp, name string, replace bool) error {
	if !replace {
		err := unix.RenameatNoReplace(d.fd, tmp, d.fd, name)
		if errors.Is(err, unix.EEXIST) {
			return ErrExists
		}
		if err != nil {
			return fmt.Errorf("renaming into place: %w", err)
		}
		return nil
	}
	return d.replaceWith(tmp, name)
}

// xattrsMatch reports whether name already has the xattrs m gives it:
// only when m gives none, Windows keeping none.
func (d *Dir) xattrsMatch(name string, m Meta) bool {
	return !m.SetXattrs || len(m.Xattrs) == 0
}
