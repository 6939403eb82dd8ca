//go:build unix

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// RichSparseSize is the size of the sparse file RichTree makes.
const RichSparseSize = 200 << 20

// Rich entries a test may look at by name.
const (
	RichSparse    = "data/sparse.img"
	RichLongLink  = "links/long"
	RichLinkGroup = "data/linked-a" // with data/linked-b and other/linked-c
)

// acl is the kernel's xattr form of a POSIX ACL (version 2, then entries
// of u16 tag, u16 permissions, u32 id, little-endian), here
// user::rwx user:<uid>:r-x group::r-x mask::r-x other::---.
func acl(uid uint32) []byte {
	var b []byte
	le := binary.LittleEndian
	b = le.AppendUint32(b, 2)
	for _, e := range []struct {
		tag, perm uint16
		id        uint32
	}{{0x01, 7, ^uint32(0)}, {0x02, 5, uid}, {0x04, 5, ^uint32(0)}, {0x10, 5, ^uint32(0)}, {0x20, 0, ^uint32(0)}} {
		b = le.AppendUint16(b, e.tag)
		b = le.AppendUint16(b, e.perm)
		b = le.AppendUint32(b, e.id)
	}
	return b
}

// RichTree fills dir with everything a restore must give back exactly and
// dumb storage drops: set-id and sticky modes, 0600 files, a foreign
// uid/gid (when root), nanosecond mtimes in 1970 and 2100, user xattrs,
// an access and a default ACL, a three-name hard-link group across two
// directories, empty directories, a 3,400-byte symlink target, dangling
// and absolute symlinks, and a 200 MB sparse file.
func RichTree(t testing.TB, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p := func(rel string) string { return filepath.Join(dir, rel) }
	for _, d := range []string{"data", "other", "links", "empty/nested-empty", "sticky", "setgid"} {
		must(os.MkdirAll(p(d), 0o755))
	}
	WriteFile(t, p("data/setuid-tool"), []byte("#!/bin/sh\necho hi\n"))
	must(os.Chmod(p("data/setuid-tool"), 0o4755))
	WriteFile(t, p("data/secret"), []byte("only for me"))
	must(os.Chmod(p("data/secret"), 0o600))
	WriteFile(t, p("data/setgid-file"), []byte("g"))
	must(os.Chmod(p("data/setgid-file"), 0o2750))
	must(os.Chmod(p("sticky"), 0o1777))
	must(os.Chmod(p("setgid"), 0o2775))
	WriteFile(t, p("data/empty-file"), nil)
	WriteFile(t, p(RichLinkGroup), bytes.Repeat([]byte("linked "), 1000))
	must(os.Link(p(RichLinkGroup), p("data/linked-b")))
	must(os.Link(p(RichLinkGroup), p("other/linked-c")))
	WriteFile(t, p("data/xattrs"), []byte("with attributes"))
	must(unix.Lsetxattr(p("data/xattrs"), "user.comment", []byte("a note"), 0))
	must(unix.Lsetxattr(p("data/xattrs"), "user.empty", nil, 0))
	must(unix.Lsetxattr(p("data/xattrs"), "user.binary", []byte{0, 1, 2, 255}, 0))
	WriteFile(t, p("data/acl"), []byte("with an ACL"))
	must(unix.Lsetxattr(p("data/acl"), "system.posix_acl_access", acl(4242), 0))
	must(unix.Lsetxattr(p("other"), "system.posix_acl_default", acl(4243), 0))
	must(unix.Lsetxattr(p("other"), "user.dir-note", []byte("on a directory"), 0))
	WriteFile(t, p("data/foreign-owner"), []byte("not mine"))
	if os.Geteuid() == 0 {
		must(os.Lchown(p("data/foreign-owner"), 12345, 54321))
		must(os.Lchown(p("sticky"), 23456, 65432))
	}
	// A sparse file: data at the start, in the middle and at the end.
	f, err := os.Create(p(RichSparse))
	must(err)
	must(f.Truncate(RichSparseSize))
	for _, off := range []int64{0, RichSparseSize / 2, RichSparseSize - 5000} {
		_, err := f.WriteAt(bytes.Repeat([]byte{0xab}, 5000), off)
		must(err)
	}
	must(f.Close())
	long := strings.Repeat("very-long-component/", 161) // 3,220 bytes
	long += strings.Repeat("x", 3400-len(long))
	must(os.Symlink(long, p(RichLongLink)))
	must(os.Symlink("../nowhere/at/all", p("links/dangling")))
	must(os.Symlink("/etc/hostname", p("links/absolute")))
	must(os.Symlink("../data/secret", p("links/relative")))
	// Times last, children before parents: nanoseconds, 1970 and 2100.
	times := map[string]unix.Timespec{
		"data/setuid-tool":   {Sec: 1, Nsec: 5},
		"data/secret":        {Sec: 4102444800, Nsec: 999999999},
		"data/xattrs":        {Sec: 1234567890, Nsec: 123456789},
		"links/long":         {Sec: 86400, Nsec: 1},
		"links/dangling":     {Sec: 4102444801, Nsec: 7},
		"empty/nested-empty": {Sec: 100, Nsec: 200},
		"empty":              {Sec: 4102444802, Nsec: 3},
		"data":               {Sec: 1500000000, Nsec: 42},
	}
	keys := make([]string, 0, len(times))
	for k := range times {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, k := range keys {
		ts := times[k]
		must(unix.UtimesNanoAt(unix.AT_FDCWD, p(k), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
	}
}

// ExactTree checks that every entry below want is below got with the same
// type, full mode (set-id and sticky bits), owner, mtime to the
// nanosecond, size, content, symlink target, user xattrs and ACLs; that
// hard links in want are hard links in got; that sparse files are sparse
// in got too. The roots are compared as well (their metadata), but the
// plaintext config is left out.
func ExactTree(t testing.TB, want, got string) {
	t.Helper()
	bad := 0
	groups := map[uint64]string{} // want inode → first got path
	err := filepath.Walk(want, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if bad > 10 {
			return filepath.SkipAll
		}
		rel, _ := filepath.Rel(want, p)
		if rel == plainConfig {
			return nil
		}
		q := filepath.Join(got, rel)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("%s: "+format, append([]any{rel}, args...)...)
			bad++
		}
		var a, b unix.Stat_t
		if err := unix.Lstat(p, &a); err != nil {
			return err
		}
		if err := unix.Lstat(q, &b); err != nil {
			fail("%v", err)
			return nil
		}
		if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.Mtim != b.Mtim {
			fail("mode %o uid %d gid %d mtime %d.%09d, want mode %o uid %d gid %d mtime %d.%09d",
				b.Mode, b.Uid, b.Gid, b.Mtim.Sec, b.Mtim.Nsec, a.Mode, a.Uid, a.Gid, a.Mtim.Sec, a.Mtim.Nsec)
		}
		if xa, xb := xattrsOf(t, p), xattrsOf(t, q); xa != xb {
			fail("xattrs %q, want %q", xb, xa)
		}
		switch a.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			ta, _ := os.Readlink(p)
			tb, _ := os.Readlink(q)
			if ta != tb {
				fail("target of %d bytes differs (want %d bytes)", len(tb), len(ta))
			}
		case unix.S_IFREG:
			if a.Size != b.Size {
				fail("size %d, want %d", b.Size, a.Size)
			} else if hashFile(t, p) != hashFile(t, q) {
				fail("content differs")
			}
			if a.Blocks*512 < a.Size/2 && b.Blocks*512 >= b.Size/2 {
				fail("not sparse: %d blocks of 512 for %d bytes (plaintext: %d blocks)", b.Blocks, b.Size, a.Blocks)
			}
			if a.Nlink > 1 {
				if first, ok := groups[a.Ino]; ok {
					var f unix.Stat_t
					unix.Lstat(first, &f)
					if f.Ino != b.Ino || f.Dev != b.Dev {
						fail("not a hard link of %s", first)
					}
				} else {
					groups[a.Ino] = q
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// xattrsOf lists the user xattrs and ACLs of p as one comparable string.
func xattrsOf(t testing.TB, p string) string {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		if err == syscall.ENOTSUP {
			return ""
		}
		t.Fatalf("listing xattrs of %s: %v", p, err)
	}
	var names []string
	for _, name := range strings.Split(strings.TrimSuffix(string(buf[:n]), "\x00"), "\x00") {
		if strings.HasPrefix(name, "user.") || strings.HasPrefix(name, "system.posix_acl_") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var out strings.Builder
	for _, name := range names {
		v := make([]byte, 64<<10)
		n, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			t.Fatalf("reading xattr %s of %s: %v", name, p, err)
		}
		out.WriteString(name + "=" + string(v[:n]) + "\n")
	}
	return out.String()
}

func hashFile(t testing.TB, p string) [32]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}
