//go:build linux

package forward

import (
	"bytes"
	"log/slog"
	"strings"
	"syscall"
	"testing"

	"github.com/efs-project/efs/record"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// testView is a view for node-level tests, its log in buf.
func testView(v2 bool, buf *bytes.Buffer) *view {
	return &view{log: slog.New(slog.NewTextHandler(buf, nil)), v2: v2, uid: 4242, gid: 4343}
}

// storedStat is what the storage says of a file: mode 0644 (it dropped the
// set-id bits), its own owner and times.
func storedStat(size int64) syscall.Stat_t {
	return syscall.Stat_t{
		Mode: syscall.S_IFREG | 0o6755, Uid: 1000, Gid: 1000, Nlink: 1, Size: size, Ino: 77,
		Mtim: syscall.Timespec{Sec: 1111}, Atim: syscall.Timespec{Sec: 2222}, Ctim: syscall.Timespec{Sec: 3333},
	}
}

// TestAttrFromRecord: in v2 every attribute shown comes from the record
// entry, none from the storage's stat; only the inode number is the
// storage's.
func TestAttrFromRecord(t *testing.T) {
	var log bytes.Buffer
	m := &record.Entry{Name: "secret.txt", Type: record.File, Mode: 0o4750, UID: 7, GID: 8, MtimeSec: -5, MtimeNsec: 123456789, Size: 10}
	n := &node{v: testView(true, &log), rel: "dir/secret.txt", crel: "abc/def", meta: m}
	st := storedStat(10)
	var out fuse.Attr
	n.attr(&out, &st, 77)
	want := fuse.Attr{Ino: 77, Size: 10, Blocks: 1, Mode: syscall.S_IFREG | 0o4750, Nlink: 1,
		Owner: fuse.Owner{Uid: 7, Gid: 8}}
	want.Mtime, want.Mtimensec = uint64(m.MtimeSec), m.MtimeNsec
	want.Atime, want.Atimensec, want.Ctime, want.Ctimensec = want.Mtime, want.Mtimensec, want.Mtime, want.Mtimensec
	out.Blksize, out.Rdev = 0, 0
	if out != want {
		t.Errorf("attr\n%+v\nwant\n%+v", out, want)
	}
	if log.Len() != 0 {
		t.Errorf("logged for an entry in sync: %s", log.String())
	}

	// Another size in the storage: the stored, authenticated content is
	// what a read returns, so its size is shown, with its mtime (it is not
	// the version the record lists), and the entry logged once by
	// ciphertext path.
	st = storedStat(12)
	for range 2 {
		n.attr(&out, &st, 77)
	}
	if out.Size != 12 || out.Mode != syscall.S_IFREG|0o4750 || out.Uid != 7 || out.Mtime != 1111 || out.Mtimensec != 0 {
		t.Errorf("size differs: %+v; want the stored size and mtime, the record's mode and owner", out)
	}
	if got := strings.Count(log.String(), "path=abc/def"); got != 1 {
		t.Errorf("logged %d times, want once:\n%s", got, log.String())
	}
	if strings.Contains(log.String(), "secret") {
		t.Errorf("a plaintext name reached the log:\n%s", log.String())
	}
}

// TestAttrNotInRecord: a v2 entry its record does not list is shown as
// restore writes it: stored mode & 0777, the mounting user as owner, the
// stored mtime. A v1 entry keeps the storage's attributes.
func TestAttrNotInRecord(t *testing.T) {
	var log bytes.Buffer
	st := storedStat(3)
	var out fuse.Attr
	(&node{v: testView(true, &log), crel: "xyz"}).attr(&out, &st, 77)
	if out.Mode != syscall.S_IFREG|0o755 || out.Uid != 4242 || out.Gid != 4343 || out.Mtime != 1111 || out.Size != 3 {
		t.Errorf("not in the record: %+v", out)
	}
	(&node{v: testView(false, &log), crel: "xyz"}).attr(&out, &st, 77)
	if out.Mode != syscall.S_IFREG|0o6755 || out.Uid != 1000 || out.Mtime != 1111 || out.Ctime != 3333 {
		t.Errorf("v1: %+v", out)
	}
}

// TestAttrSymlinkFromRecord: a symlink the storage dropped is shown from
// its record entry alone, with its target's length as size.
func TestAttrSymlinkFromRecord(t *testing.T) {
	var log bytes.Buffer
	m := &record.Entry{Name: "l", Type: record.Symlink, Mode: 0o777, UID: 1, GID: 2, MtimeSec: 9, Size: 6, Target: "a/b/c."}
	n := &node{v: testView(true, &log), crel: "abc", meta: m, fromRecord: true}
	var st syscall.Stat_t
	var out fuse.Attr
	n.attr(&out, &st, 1<<63|5)
	if out.Mode != syscall.S_IFLNK|0o777 || out.Size != 6 || out.Nlink != 1 || out.Ino != 1<<63|5 || out.Uid != 1 || out.Mtime != 9 {
		t.Errorf("symlink from the record: %+v", out)
	}
	if got, errno := n.Readlink(t.Context()); errno != 0 || string(got) != m.Target {
		t.Errorf("readlink: %q, %v", got, errno)
	}
}

// TestXattrs: a v2 entry's xattrs come from its record, with the sizes and
// errors getxattr(2) and listxattr(2) expect; v1 answers ENOSYS, once for
// the whole mount; a v2 entry without a record entry has none, ENODATA;
// a name outside what records carry is EOPNOTSUPP.
func TestXattrs(t *testing.T) {
	var log bytes.Buffer
	acl := []byte{2, 0, 0, 0, 1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff}
	m := &record.Entry{Type: record.File, Xattrs: []record.Xattr{
		{Name: record.ACLAccess, Value: acl},
		{Name: "user.empty", Value: nil},
		{Name: "user.tag", Value: []byte("blue")},
	}}
	n := &node{v: testView(true, &log), meta: m}
	ctx := t.Context()
	buf := make([]byte, 64)
	for _, c := range []struct {
		name string
		want []byte
	}{{record.ACLAccess, acl}, {"user.empty", []byte{}}, {"user.tag", []byte("blue")}} {
		sz, errno := n.Getxattr(ctx, c.name, buf)
		if errno != 0 || !bytes.Equal(buf[:sz], c.want) {
			t.Errorf("getxattr %s: %q, %v", c.name, buf[:sz], errno)
		}
	}
	if sz, errno := n.Getxattr(ctx, "user.tag", buf[:2]); errno != syscall.ERANGE || sz != 4 {
		t.Errorf("getxattr into a short buffer: %d, %v; want 4, ERANGE", sz, errno)
	}
	if sz, errno := n.Getxattr(ctx, "user.tag", nil); errno != syscall.ERANGE || sz != 4 {
		t.Errorf("getxattr size query: %d, %v", sz, errno)
	}
	if _, errno := n.Getxattr(ctx, "user.other", buf); errno != syscall.ENODATA {
		t.Errorf("getxattr user.other: %v, want ENODATA", errno)
	}
	// Names no record carries: not supported (so that ls stops probing
	// security.selinux), with or without a record entry, never ENOSYS.
	bare := &node{v: testView(true, &log)}
	for _, name := range []string{"security.selinux", "security.capability", "trusted.x", "system.nfs4_acl", "user."} {
		for _, n := range []*node{n, bare} {
			if _, errno := n.Getxattr(ctx, name, buf); errno != syscall.EOPNOTSUPP {
				t.Errorf("getxattr %s: %v, want EOPNOTSUPP", name, errno)
			}
		}
	}
	list := record.ACLAccess + "\x00user.empty\x00user.tag\x00"
	if sz, errno := n.Listxattr(ctx, buf); errno != 0 || string(buf[:sz]) != list {
		t.Errorf("listxattr: %q, %v", buf[:sz], errno)
	}
	if sz, errno := n.Listxattr(ctx, nil); errno != syscall.ERANGE || int(sz) != len(list) {
		t.Errorf("listxattr size query: %d, %v", sz, errno)
	}

	if _, errno := bare.Getxattr(ctx, "user.tag", buf); errno != syscall.ENODATA {
		t.Errorf("v2, no record entry: getxattr %v, want ENODATA", errno)
	}
	if sz, errno := bare.Listxattr(ctx, buf); errno != 0 || sz != 0 {
		t.Errorf("v2, no record entry: listxattr %d, %v", sz, errno)
	}
	v1 := &node{v: testView(false, &log)}
	if _, errno := v1.Getxattr(ctx, "user.tag", buf); errno != syscall.ENOSYS {
		t.Errorf("v1: getxattr %v, want ENOSYS", errno)
	}
	if _, errno := v1.Listxattr(ctx, buf); errno != syscall.ENOSYS {
		t.Errorf("v1: listxattr %v, want ENOSYS", errno)
	}
}

// TestInoFromRecord: a symlink recreated from the record gets an inode
// number of its own, the same on every lookup, clear of the storage's.
func TestInoFromRecord(t *testing.T) {
	stored := Entry{CRel: "a/b", Stat: syscall.Stat_t{Ino: 42}}
	if got := ino(&stored); got != 42 {
		t.Errorf("stored entry: ino %d, want the storage's 42", got)
	}
	m := &record.Entry{Type: record.Symlink, Target: "t", Size: 1}
	a, b := Entry{CRel: "a/b", Meta: m, FromRecord: true}, Entry{CRel: "a/c", Meta: m, FromRecord: true}
	ia, ib := ino(&a), ino(&b)
	if ia>>63 != 1 || ib>>63 != 1 || ia == ib || ino(&a) != ia {
		t.Errorf("from the record: inos %#x, %#x", ia, ib)
	}
}
