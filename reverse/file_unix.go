//go:build unix

package reverse

import (
	"io"

	"golang.org/x/sys/unix"
)

// plainFD is an open plaintext file, read with pread(2).
type plainFD struct{ fd int }

// ReadAt reads len(p) bytes at off, as (*os.File).ReadAt does: it is
// short only with an error, io.EOF at the end of the file. It is safe for
// concurrent use.
func (f *plainFD) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Pread(f.fd, p[n:], off+int64(n))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return n, err
		case m == 0:
			return n, io.EOF
		}
		n += m
	}
	return n, nil
}
