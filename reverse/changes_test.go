package reverse

// Tests of the view while the plaintext tree changes under it (issue 9,
// "Never lose a backup"): files swapped for FIFOs, edited in place, grown
// while read, the root directory recreated.

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hangGuard is how long a call that must not block may take before the
// test calls it hung. It measures nothing: a working call returns in
// microseconds, a broken one never.
const hangGuard = 10 * time.Second

// notHung runs f and fails the test if it has not returned within
// hangGuard; unblock then releases it (so that the test can end).
func notHung(t *testing.T, what string, f func() error, unblock func()) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(hangGuard):
		unblock()
		<-done
		t.Fatalf("%s blocks", what)
		return nil
	}
}

// openWriter opens the FIFO at p for writing without blocking, which
// releases a reader blocked in open(2) on it.
func openWriter(p string) {
	if fd, err := unix.Open(p, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
		unix.Close(fd)
	}
}

// TestOpenFIFO: a FIFO in place of a plaintext file must not block Open
// (it waited for a writer for ever, and the view's reader with it).
func TestOpenFIFO(t *testing.T) {
	plain := t.TempDir()
	p := filepath.Join(plain, "f")
	if err := unix.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	tree, _, _ := rvTree(t, plain, Options{})
	err := notHung(t, "Open of a FIFO", func() error {
		f, err := tree.Open("f")
		if err == nil {
			f.Close()
		}
		return err
	}, func() { openWriter(p) })
	if !errors.Is(err, ErrNotRegular) {
		t.Errorf("Open of a FIFO: %v, want ErrNotRegular", err)
	}
}

// TestFUSEFIFOSwap swaps a plaintext file for a FIFO between the view's
// lookup and open: the open fails at once and the mount stays up.
func TestFUSEFIFOSwap(t *testing.T) {
	plain := t.TempDir()
	p := filepath.Join(plain, "f")
	rvWrite(t, p, []byte("regular"))
	rvWrite(t, filepath.Join(plain, "g"), []byte("other"))
	tree, _, _ := rvTree(t, plain, Options{})
	mnt := rvMount(t, tree)
	vf := filepath.Join(mnt, viewPath(tree, "f"))
	if _, err := os.Stat(vf); err != nil { // the lookup
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	err := notHung(t, "opening the view of a FIFO", func() error {
		_, err := os.ReadFile(vf)
		return err
	}, func() { openWriter(p) })
	if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ESTALE) {
		t.Errorf("reading a file swapped for a FIFO: %v, want ENOENT or ESTALE", err)
	}
	if _, err := os.ReadFile(filepath.Join(mnt, viewPath(tree, "g"))); err != nil {
		t.Errorf("the mount does not answer after the FIFO: %v", err)
	}
}

// TestFUSEInPlaceEdit: a plaintext file edited in place with its size and
// mtime kept (touch -d) must not be served from the kernel's cached pages
// of the old version.
func TestFUSEInPlaceEdit(t *testing.T) {
	plain := t.TempDir()
	p := filepath.Join(plain, "f")
	old := bytes.Repeat([]byte("old version "), 10000)
	rvWrite(t, p, old)
	tree, keys, _ := rvTree(t, plain, Options{})
	mnt := rvMount(t, tree)
	vf := filepath.Join(mnt, viewPath(tree, "f"))
	ct, err := os.ReadFile(vf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rvDecrypt(t, keys, "f", ct), old) {
		t.Fatal("first read does not decrypt to the plaintext")
	}
	edited := bytes.ToUpper(old)
	editInPlace(t, p, edited)
	if ct, err = os.ReadFile(vf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rvDecrypt(t, keys, "f", ct), edited) {
		t.Error("after an in-place edit with size and mtime kept, the view serves the old version")
	}
}
