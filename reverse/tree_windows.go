package reverse

// Windows, through internal/sys/unix's NT handles: openRel walks one
// component at a time (each opened relative to its directory's handle,
// no symlink or junction followed), and no entry has xattrs.

import (
	"io"

	"golang.org/x/sys/windows"

	"github.com/efs-project/efs/internal/sys/unix"
)

// errNoXattr is what reading an xattr the entry does not have returns.
const errNoXattr = unix.ENOTSUP

// openBeneath is ENOSYS: only Linux has openat2.
func openBeneath(rootFD int, rel string, flags int) (int, error) {
	return -1, unix.ENOSYS
}

// listxattrat is ENOTSUP: Windows keeps no xattrs efs could show.
func listxattrat(dfd int, path string, dest []byte) (int, error) { return 0, unix.ENOTSUP }

// getxattrat is ENOTSUP: Windows keeps no xattrs efs could show.
func getxattrat(dfd int, path, name string, dest []byte) (int, error) { return 0, unix.ENOTSUP }

// plainFD is an open plaintext file (a synchronous handle), read with
// ReadFile at an offset.
type plainFD struct{ fd int }

// ReadAt reads len(p) bytes at off, as (*os.File).ReadAt does: it is
// short only with an error, io.EOF at the end of the file. It is safe for
// concurrent use.
func (f *plainFD) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		at := off + int64(n)
		ov := windows.Overlapped{Offset: uint32(at), OffsetHigh: uint32(at >> 32)}
		var done uint32
		err := windows.ReadFile(windows.Handle(f.fd), p[n:min(len(p), n+1<<30)], &done, &ov)
		switch {
		case err == windows.ERROR_HANDLE_EOF:
			return n, io.EOF
		case err != nil:
			return n, err
		case done == 0:
			return n, io.EOF
		}
		n += int(done)
	}
	return n, nil
}

// readNames lists the names in the directory fd (but . and ..).
func (t *Tree) readNames(fd int) ([]string, error) { return readNamesDup(fd) }
