//go:build linux

package reverse

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/naming"
	"github.com/efs-project/efs/record"
)

// TestRequestAllocs pins the parts of a FUSE request's work in this
// package that allocate nothing (BenchmarkFUSESmallFiles counts the rest).
func TestRequestAllocs(t *testing.T) {
	h := &dirHandle{items: make([]Item, 1000)}
	v := &view{}
	buf := make([]byte, 10)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"errno(nil)", func() { errno(nil) }},
		{"Readdirent", func() {
			if h.pos == len(h.items) {
				h.pos = 0
			}
			h.Readdirent(context.Background())
		}},
		{"READ reply", func() { v.result(buf).Done() }},
	} {
		if n := testing.AllocsPerRun(100, c.f); n != 0 {
			t.Errorf("%s allocates %v times, want 0", c.name, n)
		}
	}
}

// TestSyscallPathAllocs: the paths of openat2 and of the xattr calls are
// passed from the stack, as long as they fit its buffer.
func TestSyscallPathAllocs(t *testing.T) {
	dir := t.TempDir()
	rvWrite(t, filepath.Join(dir, "f"), []byte("x"))
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(root)
	buf := make([]byte, 256)
	for _, c := range []struct {
		name string
		f    func() error
	}{
		{"openBeneath", func() error {
			fd, err := openBeneath(root, "f", unix.O_RDONLY|unix.O_CLOEXEC)
			if err == nil {
				unix.Close(fd)
			}
			return err
		}},
		{"listxattrat", func() error {
			_, err := listxattrat(root, "f", buf)
			if err == unix.ENOSYS || err == unix.ENOTSUP {
				err = nil
			}
			return err
		}},
		{"getxattrat", func() error {
			_, err := getxattrat(root, "f", "user.none", buf)
			if err == unix.ENOSYS || err == unix.ENOTSUP || err == unix.ENODATA {
				err = nil
			}
			return err
		}},
	} {
		if err := c.f(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n := testing.AllocsPerRun(100, func() { c.f() }); n != 0 {
			t.Errorf("%s allocates %v times, want 0", c.name, n)
		}
	}
	// A path too long for the buffer still works, and a NUL is EINVAL.
	long := strings.Repeat("d/", 300) + "f"
	if _, err := openBeneath(root, long, unix.O_RDONLY); err != unix.ENOENT {
		t.Errorf("openBeneath of a long missing path: %v, want ENOENT", err)
	}
	if _, err := openBeneath(root, "f\x00", unix.O_RDONLY); err != unix.EINVAL {
		t.Errorf("openBeneath of a path with a NUL: %v, want EINVAL", err)
	}
}

// TestResolveInto: the item resolveInto finds keeps its entry in the room
// the caller gave (the FUSE lookup's, on its stack), and is the one
// Resolve finds.
func TestResolveInto(t *testing.T) {
	plain := t.TempDir()
	rvWrite(t, filepath.Join(plain, "d", "file"), []byte("x"))
	rvWrite(t, filepath.Join(plain, "d", exLongName), []byte("y"))
	tree, _, _ := rvTree(t, plain, Options{})
	d := Dir{Rel: "d", View: viewPath(tree, "d")}
	_, short := split(viewPath(tree, "d/file"))
	_, long := split(viewPath(tree, "d/"+exLongName))
	for _, name := range []string{short, long, long + naming.CompanionSuffix} {
		var e Entry
		it, err := tree.resolveInto(d, name, &e)
		if err != nil {
			t.Fatal(err)
		}
		if it.Entry != &e {
			t.Errorf("%s: the item's entry is not the room given", it.Name)
		}
		want, err := tree.Resolve(d, name)
		if err != nil {
			t.Fatal(err)
		}
		if it.Name != want.Name || it.Kind != want.Kind || it.Attr != want.Attr || *it.Entry != *want.Entry || string(it.Data) != string(want.Data) {
			t.Errorf("%s: resolveInto gives %+v, Resolve %+v", name, it, want)
		}
	}
}

// TestKeptXattrAllocs: reading the xattrs of an entry that has only
// xattrs a record does not keep (as security.selinux on every file of
// some systems) allocates nothing.
func TestKeptXattrAllocs(t *testing.T) {
	plain := t.TempDir()
	p := filepath.Join(plain, "f")
	rvWrite(t, p, nil)
	if err := unix.Lsetxattr(p, "trusted.label", []byte("v"), 0); err != nil {
		t.Skipf("cannot set a trusted xattr: %v", err)
	}
	tree, _, _ := rvTree(t, plain, Options{})
	fd, err := unix.Open(plain, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	x := &xattrReader{t: tree}
	var dst []record.Xattr
	if dst, err = x.kept(fd, "f", false, dst); err != nil || len(dst) != 0 {
		t.Fatalf("kept = %v, %v; want none", dst, err)
	}
	if n := testing.AllocsPerRun(100, func() { x.kept(fd, "f", false, dst[:0]) }); n != 0 {
		t.Errorf("kept allocates %v times, want 0", n)
	}
}
