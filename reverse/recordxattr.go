package reverse

// Reading what a directory record keeps of an entry besides its lstat:
// its symlink target and its xattrs (record.KeptXattr), relative to the
// directory's fd and never following a symlink. xattrs are read with
// listxattrat/getxattrat (Linux 6.13), the cheapest way (about 0.9 µs per
// entry without xattrs, as cheap as an fstatat), or on older kernels with
// llistxattr/lgetxattr on /proc/self/fd/<dirfd>/<name> (about 1.7 µs:
// procfs resolves the magic link on every call). Opening each entry would
// need read permission and show up as an open to watchers.

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/efs-project/efs/internal/sys/unix"
	"github.com/efs-project/efs/record"
)

// errVanished: the entry was removed since its directory was listed; the
// record leaves it out.
var errVanished = errors.New("vanished")

// errNoProc: the kernel has no getxattrat and /proc is not mounted, so
// xattrs cannot be read without following symlinks.
var errNoProc = errors.New("cannot read xattrs: the kernel is older than 6.13 and /proc is not mounted")

// Ways of reading xattrs, in Tree.xattrVia.
const (
	xattrAt   = iota // listxattrat and getxattrat
	xattrProc        // l*xattr on /proc/self/fd/<dirfd>/<name>
)

// xattrReader reads the record's part of entries of one directory; its
// buffers are reused from entry to entry. Not safe for concurrent use.
type xattrReader struct {
	t    *Tree
	list []byte // listxattr buffer
	val  []byte // getxattr buffer
	link []byte // readlink buffer
}

// readlink is the target of the symlink name in dfd.
func (x *xattrReader) readlink(dfd int, name string) (string, error) {
	if x.link == nil {
		x.link = make([]byte, unix.PathMax)
	}
	n, err := unix.Readlinkat(dfd, name, x.link)
	switch {
	case err == unix.ENOENT || err == unix.EINVAL || err == unix.ENOTDIR:
		return "", errVanished // gone, or no longer a symlink
	case err != nil:
		return "", err
	case n == 0 || n >= len(x.link):
		return "", fmt.Errorf("symlink target of %d bytes", n)
	}
	return string(x.link[:n]), nil
}

// kept appends to dst the xattrs a record keeps of entry name in dfd (""
// for dfd itself), sorted by name.
func (x *xattrReader) kept(dfd int, name string, isDir bool, dst []record.Xattr) ([]record.Xattr, error) {
	if x.list == nil {
		x.list = make([]byte, 4096)
	}
	n, err := x.call(dfd, name, func(path string, at bool) (int, error) {
		return x.listInto(dfd, path, at, name == "")
	})
	switch {
	case err == unix.ENOTSUP: // a file system without xattrs
		return dst, nil
	case err != nil:
		return dst, err
	case n == 0:
		return dst, nil
	}
	start := len(dst)
	// A name becomes a string only once kept: most entries with xattrs
	// have none a record keeps (security.*), and the list was copied
	// into a string and split for each of them.
	for rest := x.list[:n]; len(rest) > 0; {
		var b []byte
		b, rest, _ = bytes.Cut(rest, []byte{0})
		if !record.KeptXattr(string(b)) {
			continue
		}
		a := string(b)
		if a == record.ACLDefault && !isDir {
			continue
		}
		v, err := x.call(dfd, name, func(path string, at bool) (int, error) {
			return x.valueInto(dfd, path, a, at, name == "")
		})
		switch {
		case err == errNoXattr || err == unix.ENOTSUP:
			continue // removed since the list
		case err != nil:
			return dst, err
		}
		dst = append(dst, record.Xattr{Name: a, Value: slices.Clone(x.val[:v])})
	}
	slices.SortFunc(dst[start:], func(a, b record.Xattr) int { return strings.Compare(a.Name, b.Name) })
	return dst, nil
}

// call runs op on entry name of dfd the way this kernel allows: op gets
// the path to use and whether it is relative to dfd (the *xattrat calls)
// or a /proc path. It turns the errors of a vanished entry into
// errVanished, and EOPNOTSUPP into ENOTSUP.
func (x *xattrReader) call(dfd int, name string, op func(path string, at bool) (int, error)) (int, error) {
	via := x.t.xattrVia.Load()
	var n int
	var err error
	if via == xattrAt || name == "" {
		n, err = op(name, true)
		if err == unix.ENOSYS && name != "" {
			x.t.xattrVia.Store(xattrProc)
			via = xattrProc
		}
	}
	if via == xattrProc && name != "" {
		n, err = op("/proc/self/fd/"+strconv.Itoa(dfd)+"/"+name, false)
	}
	switch err {
	case nil:
		return n, nil
	case unix.ENOENT, unix.ENOTDIR:
		if via == xattrProc && name != "" {
			var st unix.Stat_t
			if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				return 0, errNoProc // the entry is there; /proc is not
			}
		}
		return 0, errVanished
	}
	return 0, err
}

// listInto lists the xattr names of path into x.list, growing it as
// needed; self lists dfd's own.
func (x *xattrReader) listInto(dfd int, path string, at, self bool) (int, error) {
	for range 8 {
		var n int
		var err error
		switch {
		case self:
			n, err = unix.Flistxattr(dfd, x.list)
		case at:
			n, err = listxattrat(dfd, path, x.list)
		default:
			n, err = unix.Llistxattr(path, x.list)
		}
		if err != unix.ERANGE {
			return n, err
		}
		x.list = make([]byte, 2*len(x.list)) // the list grew since the size probe
	}
	return 0, unix.ERANGE
}

// valueInto reads the value of xattr a of path into x.val, growing it as
// needed, and returns its length.
func (x *xattrReader) valueInto(dfd int, path, a string, at, self bool) (int, error) {
	if x.val == nil {
		x.val = make([]byte, 4096)
	}
	for range 8 {
		var n int
		var err error
		switch {
		case self:
			n, err = unix.Fgetxattr(dfd, a, x.val)
		case at:
			n, err = getxattrat(dfd, path, a, x.val)
		default:
			n, err = unix.Lgetxattr(path, a, x.val)
		}
		if err != unix.ERANGE {
			return n, err
		}
		if len(x.val) > record.MaxXattrValue {
			break
		}
		x.val = make([]byte, 2*len(x.val))
	}
	return 0, unix.ERANGE
}
