package treewrite

// What a restore needs beyond export's files, symlinks and modes: xattrs
// (ACLs included), holes for the zeros of sparse files, and hard links.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/efs-project/efs/internal/sys/unix"
)

// Xattr is one extended attribute an entry is given.
type Xattr struct {
	Name  string
	Value []byte
}

// setXattrs makes the xattrs of the file at fd, among the names
// w.XattrKinds reports, exactly xs: it removes the others of those kinds
// (an access or default ACL a new file or directory inherited from its
// parent) and sets xs. path, if not empty, is used instead of fd (an
// O_PATH fd takes no xattr calls; its /proc/self/fd link does).
func (w *Writer) setXattrs(fd int, path string, xs []Xattr) error {
	have, err := listXattrs(fd, path)
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(xs))
	for _, x := range xs {
		want[x.Name] = true
	}
	for _, name := range have {
		if want[name] || w.XattrKinds == nil || !w.XattrKinds(name) {
			continue
		}
		if path != "" {
			err = unix.Removexattr(path, name)
		} else {
			err = unix.Fremovexattr(fd, name)
		}
		if err != nil && !errors.Is(err, errNoXattr) {
			return fmt.Errorf("removing an xattr: %w", err)
		}
	}
	for _, x := range xs {
		if path != "" {
			err = unix.Setxattr(path, x.Name, x.Value, 0)
		} else {
			err = unix.Fsetxattr(fd, x.Name, x.Value, 0)
		}
		if err != nil {
			return fmt.Errorf("setting an xattr: %w", err)
		}
	}
	return nil
}

// xattrsMatch reports whether the file at fd (or path, when set) has exactly xs among the
// names w.XattrKinds reports.
func (w *Writer) xattrsMatch(fd int, path string, xs []Xattr) bool {
	have, err := listXattrs(fd, path)
	if err != nil {
		return false
	}
	n := 0
	for _, name := range have {
		if w.XattrKinds != nil && w.XattrKinds(name) {
			n++
		}
	}
	if n != len(xs) {
		return false
	}
	for _, x := range xs {
		v, err := xattrOf(fd, path, x.Name)
		if err != nil || !bytes.Equal(v, x.Value) {
			return false
		}
	}
	return true
}

// listXattrs lists the xattr names of fd (or path, when set). A file
// system without xattrs has none.
func listXattrs(fd int, path string) ([]string, error) {
	buf := make([]byte, 1024)
	for {
		var n int
		var err error
		if path != "" {
			n, err = unix.Listxattr(path, buf)
		} else {
			n, err = unix.Flistxattr(fd, buf)
		}
		switch {
		case errors.Is(err, unix.ERANGE):
			buf = make([]byte, 2*len(buf))
			continue
		case errors.Is(err, unix.ENOTSUP):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("listing xattrs: %w", err)
		}
		var names []string
		for _, s := range strings.Split(string(buf[:n]), "\x00") {
			if s != "" {
				names = append(names, s)
			}
		}
		return names, nil
	}
}

// getXattr reads one xattr of path.
func getXattr(path, name string) ([]byte, error) { return xattrOf(-1, path, name) }

// xattrOf reads one xattr of fd (or path, when set).
func xattrOf(fd int, path, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		var n int
		var err error
		if path != "" {
			n, err = unix.Getxattr(path, name, buf)
		} else {
			n, err = unix.Fgetxattr(fd, name, buf)
		}
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// holeSize is the granularity of the holes a sparse write leaves: the
// page and block size of every common file system.
const holeSize = 4096

// sparseFile writes through to f but skips every piece of holeSize bytes
// (aligned to the file offset) that is all zeros, so a fresh file gets
// holes where the source had zeros; finish sets the size the skipped
// tail needs. Skipping zeros is always correct on a new, empty file:
// unwritten bytes read as zeros.
type sparseFile struct {
	f    *os.File
	off  int64
	size int64 // the file's size: the end of the last write
}

var zeroBlock [holeSize]byte

func (s *sparseFile) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		// The next piece ends at the next aligned boundary.
		n := holeSize - int(s.off%holeSize)
		n = min(n, len(p))
		if bytes.Equal(p[:n], zeroBlock[:n]) {
			s.off += int64(n)
			p = p[n:]
			continue
		}
		// Write the run of pieces up to the next all-zero one at once.
		end := n
		for end < len(p) {
			m := min(holeSize, len(p)-end)
			if bytes.Equal(p[end:end+m], zeroBlock[:m]) {
				break
			}
			end += m
		}
		w, err := s.f.WriteAt(p[:end], s.off)
		s.off += int64(w)
		s.size = s.off
		if err != nil {
			return total - len(p) + w, err
		}
		p = p[end:]
	}
	return total, nil
}

// finish gives the file its full size when a run of zeros at the end was
// skipped, not written (a truncate costs a metadata update per file).
func (s *sparseFile) finish() error {
	if s.size == s.off {
		return nil
	}
	if err := s.f.Truncate(s.off); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	return nil
}

// Open opens the existing subdirectory name without following a
// symlink and without creating it.
func (d *Dir) Open(name string) (*Dir, error) {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			err = ErrNotDir
		}
		return nil, err
	}
	return &Dir{w: d.w, fd: fd}, nil
}

// Link makes name in d a hard link of the regular file srcName in src,
// atomically replacing what name was (a link to a temporary name, renamed
// over name), so name is never missing. linked is false when name already
// is that file. Neither name is followed through a symlink.
func (d *Dir) Link(src *Dir, srcName, name string) (linked bool, err error) {
	from, err := src.Lstat(srcName)
	if err != nil {
		return false, err
	}
	if from.Mode&unix.S_IFMT != unix.S_IFREG {
		return false, errors.New("hard link source is not a regular file")
	}
	if to, err := d.Lstat(name); err == nil && to.Dev == from.Dev && to.Ino == from.Ino {
		return false, nil
	}
	tmp := d.tempName()
	if err := unix.Linkat(src.fd, srcName, d.fd, tmp, 0); err != nil {
		return false, fmt.Errorf("linking: %w", err)
	}
	if err := unix.Renameat(d.fd, tmp, d.fd, name); err != nil {
		unix.Unlinkat(d.fd, tmp, 0)
		return false, fmt.Errorf("renaming into place: %w", err)
	}
	// A rename between two links of one file does nothing: had name
	// become src's file since the check, tmp would still be there.
	unix.Unlinkat(d.fd, tmp, 0)
	return true, nil
}
