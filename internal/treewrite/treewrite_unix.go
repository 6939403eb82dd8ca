//go:build unix && !linux

package treewrite

// The BSDs and macOS have no O_PATH, no /proc/self/fd and no
// RENAME_NOREPLACE: an entry is reached by name relative to its
// directory's fd, never following a final symlink (the *at calls with
// AT_SYMLINK_NOFOLLOW, or an O_NOFOLLOW open checked against the entry
// that was looked at), and a hard link refuses an existing name.

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// errNoXattr is what removing an xattr the file does not have returns.
const errNoXattr = unix.ENOATTR

// FixMeta gives the existing entry name the owner, mode and times of m
// without following a symlink. A regular file or directory is opened with
// O_NOFOLLOW and changed through its fd, after checking the fd is the
// entry looked at; a symlink or special file is changed by name with
// AT_SYMLINK_NOFOLLOW (it cannot take xattrs here).
func (d *Dir) FixMeta(name string, m Meta) error {
	st, err := d.Lstat(name)
	if err != nil {
		return err
	}
	switch uint32(st.Mode) & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR:
		fd, err := d.openEntry(name, &st)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return d.w.apply(fd, m)
	}
	if m.SetXattrs && len(m.Xattrs) > 0 {
		return errors.New("setting xattrs on a symlink or special file is not supported on this system")
	}
	if d.w.Owners && !m.NoOwner {
		if err := unix.Fchownat(d.fd, name, int(m.Uid), int(m.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("setting owner: %w", err)
		}
	}
	if uint32(st.Mode)&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Fchmodat(d.fd, name, m.Perm&0o7777, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("setting mode: %w", err)
		}
	}
	ts := []unix.Timespec{m.Atime, m.Mtime}
	if err := unix.UtimesNanoAt(d.fd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// openEntry opens the regular file or directory name read-only without
// following a symlink, and checks it is the entry st describes (not one
// swapped in since).
func (d *Dir) openEntry(name string, st *unix.Stat_t) (int, error) {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if fst.Dev != st.Dev || fst.Ino != st.Ino {
		unix.Close(fd)
		return -1, errors.New("the entry changed while it was being updated")
	}
	return fd, nil
}

// rename moves tmp to name: refusing an existing name when !replace (a
// hard link is atomic about it), or over it, removing a directory in the
// way.
func (d *Dir) rename(tmp, name string, replace bool) error {
	if !replace {
		if err := unix.Linkat(d.fd, tmp, d.fd, name, 0); err != nil {
			if errors.Is(err, unix.EEXIST) {
				return ErrExists
			}
			return fmt.Errorf("linking into place: %w", err)
		}
		unix.Unlinkat(d.fd, tmp, 0)
		return nil
	}
	return d.replaceWith(tmp, name)
}

// xattrsMatch reports whether name already has the xattrs m gives it
// (always, when m sets none).
func (d *Dir) xattrsMatch(name string, m Meta) bool {
	if !m.SetXattrs {
		return true
	}
	st, err := d.Lstat(name)
	if err != nil {
		return false
	}
	fd, err := d.openEntry(name, &st)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return d.w.xattrsMatch(fd, "", m.Xattrs)
}
