// Package treewrite writes a directory tree the way both `efs export` and
// `efs restore` need it: every file through a temporary name that is renamed
// into place only when its bytes and metadata are complete, symlinks the
// same way, and a directory's own metadata set after its children.
//
// Everything happens relative to directory fds held open by Dir, and no
// path component is ever followed through a symlink efs did not create
// itself: a symlink planted in the destination (or swapped in during a
// run) cannot redirect a write, a chmod or a chown outside it. Only the
// destination root, which the user named, is resolved normally.
package treewrite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/efs-project/efs/internal/sys/unix"
)

// Meta is what a written entry gets besides its bytes.
type Meta struct {
	// Perm is the permission bits, set-id and sticky bits included
	// (ignored for symlinks, which have none).
	Perm uint32
	// Uid and Gid are applied only when the Writer sets owners.
	Uid, Gid uint32
	// NoOwner leaves the owner the entry was created with (the writing
	// user), even when the Writer sets owners.
	NoOwner bool
	// Atime and Mtime are set with nanosecond precision; a Nsec of
	// UtimeOmit leaves that time as it is.
	Atime, Mtime unix.Timespec
	// SetXattrs gives the entry exactly Xattrs among the xattrs of the
	// kinds Writer.XattrKinds reports, removing the others of those kinds
	// (ignored for symlinks, which Linux gives no user xattrs or ACLs).
	SetXattrs bool
	Xattrs    []Xattr
}

// Writer holds what every Dir of one run shares.
type Writer struct {
	// TempPrefix starts the names of temporary files; IsTemp recognises a
	// leftover from a killed run by it and the random part after it.
	TempPrefix string
	// Owners makes the writer apply Meta.Uid/Gid (only root may).
	Owners bool
	// XattrKinds reports the xattr names Meta.SetXattrs manages (restore:
	// user xattrs and POSIX ACLs); the others are left alone.
	XattrKinds func(name string) bool
	// Sparse makes WriteFile leave holes where the bytes are zeros, in
	// aligned pieces of 4096 bytes.
	Sparse bool
}

// ErrExists: the name is taken and the caller did not ask to replace it.
var ErrExists = errors.New("already exists")

// ErrNotDir: a directory was expected and something else is there.
var ErrNotDir = errors.New("exists and is not a directory")

// Dir is an open destination directory.
type Dir struct {
	w  *Writer
	fd int
	// fresh: OpenRoot or Sub made the directory in this run, so it held
	// nothing when opened, and UpToDate and LinkUpToDate need not look
	// (a stat that fails, per file, and on a file system without
	// directory indexes a scan of the directory). The caller writes each
	// name once.
	fresh bool
}

// OpenRoot opens the destination root dir, creating it (mode 0700) when
// it does not exist; created reports whether it did. dir itself is
// resolved like any path the user names (a symlink to a directory is
// fine); nothing below it ever is. check, if set, vets the directory before
// anything is written: the existing dir, or (parent set) the directory a
// new dir is about to be made in, so a refused destination is not even
// created.
func (w *Writer) OpenRoot(dir string, check func(fd int, parent bool) error) (d *Dir, created bool, err error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	fd, err := unix.Open(dir, flags, 0)
	if errors.Is(err, unix.ENOENT) {
		pfd, perr := unix.Open(filepath.Dir(filepath.Clean(dir)), flags, 0)
		if perr != nil {
			return nil, false, err
		}
		if check != nil {
			perr = check(pfd, true)
		}
		unix.Close(pfd)
		if perr != nil {
			return nil, false, perr
		}
		switch err := unix.Mkdir(dir, 0o700); {
		case err == nil:
			created = true
		case !errors.Is(err, unix.EEXIST):
			return nil, false, err
		}
		fd, err = unix.Open(dir, flags, 0)
	}
	if err != nil {
		return nil, false, err
	}
	if check != nil && !created {
		// Also when someone else made dir between the two opens.
		if err := check(fd, false); err != nil {
			unix.Close(fd)
			return nil, false, err
		}
	}
	return &Dir{w: w, fd: fd, fresh: created}, created, nil
}

// Close releases the directory fd.
func (d *Dir) Close() error { return unix.Close(d.fd) }

// Lstat stats name in d without following a symlink.
func (d *Dir) Lstat(name string) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	return st, err
}

// Names lists d (without "." and "..").
func (d *Dir) Names() ([]string, error) {
	fd, err := unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "dir")
	defer f.Close()
	return f.Readdirnames(-1)
}

// Sub opens the subdirectory name, creating it when it is missing. A new
// directory starts as 0700, so it can be filled whatever its final mode;
// SetMeta gives it that mode once its children are written. Something
// other than a directory under name gives ErrNotDir, unless replace is
// set, in which case it is removed first.
func (d *Dir) Sub(name string, replace bool) (sub *Dir, created bool, err error) {
	err = unix.Mkdirat(d.fd, name, 0o700)
	switch {
	case err == nil:
		created = true
	case errors.Is(err, unix.EEXIST):
		st, serr := d.Lstat(name)
		if serr == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if !replace {
				return nil, false, ErrNotDir
			}
			if err := d.RemoveAll(name); err != nil {
				return nil, false, err
			}
			if err := unix.Mkdirat(d.fd, name, 0o700); err != nil {
				return nil, false, err
			}
			created = true
		}
	default:
		return nil, false, err
	}
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			err = ErrNotDir // swapped for a symlink or file since the check
		}
		return nil, false, err
	}
	return &Dir{w: d.w, fd: fd, fresh: created}, created, nil
}

// SetMeta gives d itself its owner, mode and times, through its fd.
func (d *Dir) SetMeta(m Meta) error { return d.w.apply(d.fd, m) }

// Writable makes sure the caller can add entries to d even if an earlier
// run left it read-only (a no-op for root, whom modes do not stop).
func (d *Dir) Writable() error {
	if os.Geteuid() == 0 {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return err
	}
	if st.Mode&0o700 == 0o700 {
		return nil
	}
	return unix.Fchmod(d.fd, uint32(st.Mode)&0o7777|0o700)
}

// apply sets owner (when w.Owners), xattrs, mode and times on the open
// fd. The owner goes first: chown clears set-id bits. The mode comes after
// the xattrs: an access ACL sets the group bits, and the mode (whose group
// bits are the ACL's mask) agrees with it.
func (w *Writer) apply(fd int, m Meta) error {
	if w.Owners && !m.NoOwner {
		if err := unix.Fchown(fd, int(m.Uid), int(m.Gid)); err != nil {
			return fmt.Errorf("setting owner: %w", err)
		}
	}
	if m.SetXattrs {
		if err := w.setXattrs(fd, "", m.Xattrs); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(fd, m.Perm&0o7777); err != nil {
		return fmt.Errorf("setting mode: %w", err)
	}
	if err := futimens(fd, m.Atime, m.Mtime); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// tempHexLen is the length of the random part of a temporary name.
const tempHexLen = 16

// IsTemp reports whether name has exactly the shape of this writer's
// temporary names (TempPrefix and 16 hex digits), as a killed run leaves.
func (w *Writer) IsTemp(name string) bool {
	rest, ok := strings.CutPrefix(name, w.TempPrefix)
	if !ok || len(rest) != tempHexLen {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil && strings.ToLower(rest) == rest
}

// Saved is a directory's own metadata, taken before it is filled, so a
// directory that was already there can be given back exactly what it had.
func (d *Dir) Saved() (Meta, error) {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return Meta{}, err
	}
	return Meta{Perm: uint32(st.Mode) & 0o7777, Uid: st.Uid, Gid: st.Gid, Atime: st.Atim, Mtime: st.Mtim}, nil
}

// tempName returns a fresh temporary name for d.
func (d *Dir) tempName() string {
	var b [8]byte
	rand.Read(b[:])
	return d.w.TempPrefix + hex.EncodeToString(b[:])
}

// WriteFile writes name through a temporary file: fill writes the bytes,
// then the metadata is applied to the open file, and only then is it
// renamed to name. Without replace an existing name is ErrExists and is
// left alone; with replace it is replaced (a directory is removed first).
// On any failure, ctx's cancellation included, the temporary file is
// removed and name is untouched.
func (d *Dir) WriteFile(ctx context.Context, name string, m Meta, replace bool, fill func(w io.Writer) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tmp := d.tempName()
	fd, err := unix.Openat(d.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	if d.w.Sparse {
		sf := &sparseFile{f: f}
		if err = fill(sf); err == nil {
			err = sf.finish()
		}
	} else {
		err = fill(f)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = d.w.apply(fd, m)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing: %w", cerr)
	}
	if err == nil {
		err = d.rename(tmp, name, replace)
	}
	if err != nil {
		unix.Unlinkat(d.fd, tmp, 0)
	}
	return err
}

// Symlink creates the symlink name → target through a temporary name, with
// m's owner and times (a symlink has no mode of its own).
func (d *Dir) Symlink(name, target string, m Meta, replace bool) error {
	tmp := d.tempName()
	if err := unix.Symlinkat(target, d.fd, tmp); err != nil {
		return fmt.Errorf("creating symlink: %w", err)
	}
	err := d.linkMeta(tmp, m)
	if err == nil {
		err = d.rename(tmp, name, replace)
	}
	if err != nil {
		unix.Unlinkat(d.fd, tmp, 0)
	}
	return err
}

// linkMeta sets a symlink's owner and times without following it.
func (d *Dir) linkMeta(name string, m Meta) error {
	if d.w.Owners && !m.NoOwner {
		if err := unix.Fchownat(d.fd, name, int(m.Uid), int(m.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("setting owner: %w", err)
		}
	}
	ts := []unix.Timespec{m.Atime, m.Mtime}
	if err := unix.UtimesNanoAt(d.fd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// RemoveAll removes name and, for a directory, everything below it,
// without following symlinks. A read-only directory an earlier run left
// is made writable first, so it can be emptied.
func (d *Dir) RemoveAll(name string) error {
	err := unix.Unlinkat(d.fd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	sub, _, err := d.Sub(name, false)
	if err != nil {
		return err
	}
	if err := sub.Writable(); err != nil {
		sub.Close()
		return err
	}
	names, err := sub.Names()
	if err == nil {
		for _, n := range names {
			if err = sub.RemoveAll(n); err != nil {
				break
			}
		}
	}
	sub.Close()
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(d.fd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// UpToDate reports whether name is already a regular file of size bytes
// with m's mtime — rsync's quick check — and then gives it m's mode and
// owner where only those differ. The atime is not compared: reading the
// source changes it, and that alone is no reason to write again. In a
// directory this run made, nothing is up to date.
func (d *Dir) UpToDate(name string, size int64, m Meta) bool {
	if d.fresh {
		return false
	}
	st, err := d.Lstat(name)
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != size || !sameTime(st.Mtim, m.Mtime) {
		return false
	}
	if uint32(st.Mode)&0o7777 != m.Perm&0o7777 || d.ownerDiffers(&st, m) || !d.xattrsMatch(name, m) {
		return d.FixMeta(name, m) == nil
	}
	return true
}

// ownerDiffers reports whether st's owner is not the one m gives.
func (d *Dir) ownerDiffers(st *unix.Stat_t, m Meta) bool {
	return d.w.Owners && !m.NoOwner && (st.Uid != m.Uid || st.Gid != m.Gid)
}

// LinkUpToDate reports whether name is already a symlink to target, and
// gives it m's times and owner where those differ (never, in a directory
// this run made).
func (d *Dir) LinkUpToDate(name, target string, m Meta) bool {
	if d.fresh {
		return false
	}
	st, err := d.Lstat(name)
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return false
	}
	buf := make([]byte, len(target)+1)
	n, err := unix.Readlinkat(d.fd, name, buf)
	if err != nil || n != len(target) || string(buf[:n]) != target {
		return false
	}
	if !sameTime(st.Mtim, m.Mtime) || d.ownerDiffers(&st, m) {
		return d.linkMeta(name, m) == nil
	}
	return true
}

// Borrow wraps an fd the caller keeps owning (an OpenRoot check looking at
// the directory it is given); the Dir must not be closed or kept.
func (w *Writer) Borrow(fd int) *Dir { return &Dir{w: w, fd: fd} }

// RemoveTemps removes the temporary files a killed run left in d (files
// and symlinks named as IsTemp says) unless keep claims the name (a real
// entry of the tree may look like one). It returns how many it removed.
func (d *Dir) RemoveTemps(keep func(name string) bool) (int, error) {
	names, err := d.Names()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		if !d.w.IsTemp(name) || (keep != nil && keep(name)) {
			continue
		}
		st, err := d.Lstat(name)
		if err != nil || (st.Mode&unix.S_IFMT != unix.S_IFREG && st.Mode&unix.S_IFMT != unix.S_IFLNK) {
			continue
		}
		if err := unix.Unlinkat(d.fd, name, 0); err == nil {
			n++
		}
	}
	return n, nil
}

// replaceWith renames tmp over name, removing a directory in its way
// first (rename cannot replace a directory with a file).
func (d *Dir) replaceWith(tmp, name string) error {
	if st, err := d.Lstat(name); err == nil && uint32(st.Mode)&unix.S_IFMT == unix.S_IFDIR {
		if err := d.RemoveAll(name); err != nil {
			return err
		}
	}
	if err := unix.Renameat(d.fd, tmp, d.fd, name); err != nil {
		return fmt.Errorf("renaming into place: %w", err)
	}
	return nil
}
