package forward

import "github.com/efs-project/efs/internal/sys/syscall"

// openStored opens a stored file of the backup for reading without
// following a symlink and without blocking on a FIFO the storage put in a
// file's place (O_NONBLOCK has no effect on regular files). It retries
// when the open is interrupted: syscall.Open does not (os.Open does), and
// a FUSE source that honours the kernel's interrupts answers EINTR
// whenever the Go runtime signals the opening thread, which it does all
// the time, so a restore through such a mount failed "interrupted system
// call".
func openStored(path string) (int, error) {
	return retryEINTR(func() (int, error) {
		return syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	})
}

// retryEINTR calls open until it is not interrupted.
func retryEINTR(open func() (int, error)) (int, error) {
	for {
		fd, err := open()
		if err != syscall.EINTR {
			return fd, err
		}
	}
}
