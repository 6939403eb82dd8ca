package unix

import "golang.org/x/sys/unix"

// ReadDirNames appends the names in the directory fd (but . and ..) to
// names, reading with getdents(2) on fd itself into buf: no dup(2),
// close(2) or *os.File with its finalizer per listing, and the *at calls a
// caller makes on fd later do not depend on its offset. Linux only; the
// reverse view and efs mount list their directories with it.
func ReadDirNames(fd int, buf []byte, names []string) ([]string, error) {
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}
