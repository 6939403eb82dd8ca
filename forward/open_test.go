package forward

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestRetryEINTR: an interrupted open is retried, any other error is not.
func TestRetryEINTR(t *testing.T) {
	calls := 0
	fd, err := retryEINTR(func() (int, error) {
		calls++
		if calls < 3 {
			return -1, syscall.EINTR
		}
		return 7, nil
	})
	if fd != 7 || err != nil || calls != 3 {
		t.Errorf("after two EINTR: fd %d, err %v, %d calls; want 7, nil, 3", fd, err, calls)
	}
	calls = 0
	if _, err := retryEINTR(func() (int, error) { calls++; return -1, syscall.ENOENT }); err != syscall.ENOENT || calls != 1 {
		t.Errorf("ENOENT: err %v after %d calls, want ENOENT after 1", err, calls)
	}
	dir := t.TempDir()
	if err := os.Symlink("x", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	if _, err := openStored(filepath.Join(dir, "l")); err != syscall.ELOOP {
		t.Errorf("openStored of a symlink: %v, want ELOOP", err)
	}
}
