//go:build linux

package reverse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPlainFDReadAt: a plaintext file's reads behave as (*os.File).ReadAt,
// which the content encryption relies on: full reads inside the file, a
// short one only with io.EOF, at the end.
func TestPlainFDReadAt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	data := bytes.Repeat([]byte("0123456789"), 100)
	rvWrite(t, p, data)
	of, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer of.Close()
	f := &plainFD{int(of.Fd())}
	for _, c := range []struct {
		off, n, want int
		err          error
	}{
		{0, 1000, 1000, nil},
		{10, 100, 100, nil},
		{990, 10, 10, nil},
		{990, 20, 10, io.EOF},
		{1000, 1, 0, io.EOF},
		{2000, 1, 0, io.EOF},
	} {
		buf := make([]byte, c.n)
		n, err := f.ReadAt(buf, int64(c.off))
		if n != c.want || err != c.err || !bytes.Equal(buf[:n], data[min(c.off, len(data)):][:n]) {
			t.Errorf("ReadAt(%d bytes at %d) = %d, %v; want %d, %v", c.n, c.off, n, err, c.want, c.err)
		}
	}
	buf := make([]byte, 100)
	if allocs := testing.AllocsPerRun(100, func() { f.ReadAt(buf, 0) }); allocs != 0 {
		t.Errorf("ReadAt allocates %v times, want 0", allocs)
	}
}

// TestFileClosed: a File closed is closed for good. It reads its fd with
// pread, not through an *os.File, so it guards the fd itself: a second
// Close must not close another file's fd that took the number since, and
// a read after Close must not read one.
func TestFileClosed(t *testing.T) {
	plain := t.TempDir()
	rvWrite(t, filepath.Join(plain, "f"), []byte("data"))
	tree, _, _ := rvTree(t, plain, Options{})
	f, err := tree.Open("f")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: %v, want os.ErrClosed", err)
	}
	if _, err := f.ReadAt(make([]byte, 10), 0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadAt after Close: %v, want os.ErrClosed", err)
	}
}

// TestFileCloseWhileRead closes Files while they are read (run it with
// -race): a read either completes with the whole ciphertext or finds the
// file closed.
func TestFileCloseWhileRead(t *testing.T) {
	plain := t.TempDir()
	rvWrite(t, filepath.Join(plain, "f"), bytes.Repeat([]byte{7}, 100<<10))
	tree, _, _ := rvTree(t, plain, Options{})
	for range 20 {
		f, err := tree.Open("f")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				buf := make([]byte, f.Size())
				n, err := f.ReadAt(buf, 0)
				if err != io.EOF && !errors.Is(err, os.ErrClosed) || err == io.EOF && int64(n) != f.Size() {
					t.Errorf("ReadAt = %d, %v; want %d, io.EOF or os.ErrClosed", n, err, f.Size())
				}
			})
		}
		f.Close()
		wg.Wait()
	}
}

// TestReadNames: a listing reads every name of a directory larger than
// its buffer, without . and .., from the directory's own fd, which the
// record's *at calls go on using.
func TestReadNames(t *testing.T) {
	plain := t.TempDir()
	want := map[string]bool{}
	for i := range 1000 { // some 40 KiB of dirents
		name := fmt.Sprintf("entry-%04d-%s", i, strings.Repeat("x", 20))
		rvWrite(t, filepath.Join(plain, "d", name), nil)
		want[name] = true
	}
	tree, _, _ := rvTree(t, plain, Options{})
	l, err := tree.readDir("d")
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	if len(l.entries) != len(want) {
		t.Errorf("listed %d entries, want %d", len(l.entries), len(want))
	}
	for i := range l.entries {
		if !want[l.entries[i].Plain] {
			t.Errorf("listed %q", l.entries[i].Plain)
		}
	}
	var st unix.Stat_t
	if err := unix.Fstatat(l.fd, "entry-0000-"+strings.Repeat("x", 20), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Errorf("fstatat on the listed directory's fd: %v", err)
	}
}
