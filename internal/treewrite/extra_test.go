//go:build unix

package treewrite

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSparseWrite: zeros in aligned pieces become holes, anywhere in the
// file and at its end, and the bytes read back are the same.
func TestSparseWrite(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	d.w.Sparse = true
	const size = 64 << 20
	data := make([]byte, size)
	copy(data[100:], "head")         // inside the first piece
	copy(data[20<<20+4000:], "edge") // across a piece boundary
	copy(data[40<<20:], "middle")    // at a piece's start
	// The last 24 MiB are zeros: a hole up to the size.
	for _, chunk := range []int{1, 4096, 5000, 1 << 20} {
		name := "f" + strings.Repeat("x", chunk%7)
		err := d.WriteFile(context.Background(), name, meta(0o644, 1e9), true, func(w io.Writer) error {
			for off := 0; off < size; off += chunk {
				if _, err := w.Write(data[off:min(off+chunk, size)]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("chunk %d: read back %d bytes (%v), differ from the %d written", chunk, len(got), err, size)
		}
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Blocks*512 > 1<<20 {
			t.Errorf("chunk %d: %d bytes allocated for a file of 4 non-zero pieces", chunk, st.Blocks*512)
		}
		fd, err := unix.Open(p, unix.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		hole, err := unix.Seek(fd, 0, unix.SEEK_HOLE)
		unix.Close(fd)
		if err != nil || hole != 4096 {
			t.Errorf("chunk %d: first hole at %d (%v), want 4096", chunk, hole, err)
		}
	}
}

// TestSparseWriteShortFile: a file shorter than a piece, all zeros, is
// still its full size.
func TestSparseWriteShortFile(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	d.w.Sparse = true
	if err := d.WriteFile(context.Background(), "z", meta(0o644, 1e9), false, write(strings.Repeat("\x00", 10))); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "z")); err != nil || fi.Size() != 10 {
		t.Errorf("zero file: %v, %v", fi, err)
	}
}

// getx reads one xattr, "" when it is missing.
func getx(t *testing.T, p, name string) string {
	t.Helper()
	v, err := getXattr(p, name)
	if errors.Is(err, errNoXattr) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

// TestXattrs: SetXattrs gives files and directories exactly their xattrs
// of the managed kinds, removing others of those kinds and keeping the
// rest; UpToDate sees a missing xattr and fixes it without a rewrite.
func TestXattrs(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	d.w.XattrKinds = func(n string) bool { return strings.HasPrefix(n, "user.k") }
	m := meta(0o640, 1e9)
	m.SetXattrs = true
	m.Xattrs = []Xattr{{"user.k1", []byte("one")}, {"user.k2", nil}}
	if err := d.WriteFile(context.Background(), "f", m, false, write("x")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "f")
	if getx(t, p, "user.k1") != "one" {
		t.Fatalf("xattr not set")
	}
	if _, err := getXattr(p, "user.k2"); err != nil {
		t.Errorf("empty xattr: %v", err)
	}
	// An extra managed xattr and a lost one: UpToDate fixes both in place.
	unix.Setxattr(p, "user.kextra", []byte("x"), 0)
	unix.Setxattr(p, "user.other", []byte("kept"), 0)
	unix.Removexattr(p, "user.k1")
	ino := inode(t, p)
	if !d.UpToDate("f", 1, m) {
		t.Fatal("UpToDate failed")
	}
	if getx(t, p, "user.k1") != "one" || getx(t, p, "user.kextra") != "" || getx(t, p, "user.other") != "kept" || inode(t, p) != ino {
		t.Errorf("after UpToDate: k1 %q extra %q other %q", getx(t, p, "user.k1"), getx(t, p, "user.kextra"), getx(t, p, "user.other"))
	}
	// Directories through SetMeta.
	sub, _, err := d.Sub("d", false)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	unix.Setxattr(filepath.Join(dir, "d"), "user.kold", []byte("x"), 0)
	if err := sub.SetMeta(m); err != nil {
		t.Fatal(err)
	}
	if dp := filepath.Join(dir, "d"); getx(t, dp, "user.k1") != "one" || getx(t, dp, "user.kold") != "" {
		t.Errorf("directory xattrs: k1 %q old %q", getx(t, dp, "user.k1"), getx(t, dp, "user.kold"))
	}
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestNoOwner: as root, NoOwner leaves a file, directory or symlink owned
// by the writer, whatever Uid and Gid say.
func TestNoOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("owners are set only as root")
	}
	dir := t.TempDir()
	d := open(t, dir)
	m := meta(0o640, 1e9)
	m.Uid, m.Gid, m.NoOwner = 65534, 65534, true
	if err := d.WriteFile(context.Background(), "f", m, false, write("x")); err != nil {
		t.Fatal(err)
	}
	if err := d.Symlink("l", "f", m, false); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"f", "l"} {
		var st unix.Stat_t
		unix.Lstat(filepath.Join(dir, n), &st)
		if st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s: owner %d:%d, want 0:0", n, st.Uid, st.Gid)
		}
	}
}

// TestLink: Link replaces a name by a hard link of another file, in
// another directory too; again it is a no-op; it never follows a symlink.
func TestLink(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	ctx := context.Background()
	sub, _, err := d.Sub("sub", false)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	d.WriteFile(ctx, "a", meta(0o644, 1e9), false, write("same"))
	sub.WriteFile(ctx, "b", meta(0o644, 1e9), false, write("same"))
	if linked, err := sub.Link(d, "a", "b"); err != nil || !linked {
		t.Fatalf("Link: %v %v", linked, err)
	}
	if inode(t, filepath.Join(dir, "a")) != inode(t, filepath.Join(dir, "sub", "b")) {
		t.Error("not linked")
	}
	if linked, err := sub.Link(d, "a", "b"); err != nil || linked {
		t.Errorf("Link again: %v %v", linked, err)
	}
	noTemps(t, dir)
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("secret"), 0o600)
	os.Symlink(outside, filepath.Join(dir, "sym"))
	if _, err := sub.Link(d, "sym", "b"); err == nil {
		t.Error("Link followed a symlink source")
	}
	if _, err := d.Open("sym"); !errors.Is(err, ErrNotDir) {
		t.Errorf("Open of a symlink: %v", err)
	}
	if _, err := d.Open("missing"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Open of a missing directory: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "missing")); err == nil {
		t.Error("Open created the directory")
	}
}
