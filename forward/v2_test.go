//go:build unix

package forward

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/naming"
	"github.com/efs-project/efs/record"
	"golang.org/x/sys/unix"
)

var asRoot = os.Geteuid() == 0

// POSIX ACL tags of the kernel's xattr form.
const (
	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclMask     = 0x10
	aclOther    = 0x20
	aclNoID     = 0xffffffff
)

// acl is the kernel's xattr form of an ACL: version 2, then per entry
// tag (u16), permissions (u16), id (u32), little-endian.
func acl(entries ...[3]uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, uint16(e[0]))
		b = binary.LittleEndian.AppendUint16(b, uint16(e[1]))
		b = binary.LittleEndian.AppendUint32(b, e[2])
	}
	return b
}

// namedACL grants user 1000 perm besides owner, group and other.
func namedACL(owner, perm, other uint32) []byte {
	return acl([3]uint32{aclUserObj, owner, aclNoID}, [3]uint32{aclUser, perm, 1000},
		[3]uint32{aclGroupObj, perm, aclNoID}, [3]uint32{aclMask, perm, aclNoID}, [3]uint32{aclOther, other, aclNoID})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// setTime sets p's mtime (and atime) without following a symlink.
func setTime(t *testing.T, p string, sec, nsec int64) {
	t.Helper()
	ts := []unix.Timespec{{Sec: sec, Nsec: nsec}, {Sec: sec, Nsec: nsec}}
	must(t, unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW))
}

// fixDirTimes gives every directory below root (root too) an mtime of
// its own, deepest first, once their entries are made.
func fixDirTimes(t *testing.T, root string) {
	t.Helper()
	var dirs []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		setTime(t, dirs[i], 1_500_000_000+int64(i), int64(i)*1000+7)
	}
}

// longTarget is a symlink target too long for a stored link: only the
// record holds it.
var longTarget = strings.Repeat("t/", 1750)

// richTree is a tree with everything a record restores.
func richTree(t *testing.T, plain string) {
	t.Helper()
	w := func(rel, data string, perm uint32) string {
		p := filepath.Join(plain, rel)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(data), 0o600))
		must(t, syscall.Chmod(p, perm))
		return p
	}
	w("setuid", "suid", 0o4755)
	w("setgid", "sgid", 0o2750)
	w("private", "mine", 0o600)
	w("old", "1960", 0o644)
	setTime(t, filepath.Join(plain, "old"), -315619200, 123456789)
	w("future", "2100", 0o644)
	setTime(t, filepath.Join(plain, "future"), 4102444800, 999999999)
	owned := w("owned", "theirs", 0o640)
	if asRoot {
		must(t, os.Lchown(owned, 1234, 5678))
	}
	x := w("xattr", "attrs", 0o644)
	must(t, unix.Setxattr(x, "user.comment", []byte("hello"), 0))
	must(t, unix.Setxattr(x, "user.empty", nil, 0))
	must(t, unix.Setxattr(x, record.ACLAccess, namedACL(6, 4, 0), 0))
	must(t, os.MkdirAll(filepath.Join(plain, "sticky"), 0o755))
	must(t, syscall.Chmod(filepath.Join(plain, "sticky"), 0o1777))
	must(t, os.MkdirAll(filepath.Join(plain, "acl"), 0o755))
	must(t, unix.Setxattr(filepath.Join(plain, "acl"), record.ACLDefault, namedACL(7, 5, 0), 0))
	must(t, unix.Setxattr(filepath.Join(plain, "acl"), "user.tag", []byte("dir"), 0))
	w("acl/inherited", "inherits the default ACL", 0o640)
	h := w("a/h1", "linked", 0o640)
	must(t, os.MkdirAll(filepath.Join(plain, "b"), 0o755))
	must(t, os.Link(h, filepath.Join(plain, "b", "h2")))
	must(t, os.Link(h, filepath.Join(plain, "h3")))
	w("a/deep/file", "deep", 0o644)
	must(t, os.MkdirAll(filepath.Join(plain, "empty"), 0o700))
	must(t, os.Symlink(longTarget, filepath.Join(plain, "longlink")))
	must(t, os.Symlink("private", filepath.Join(plain, "link")))
	setTime(t, filepath.Join(plain, "link"), 1_400_000_000, 42)
	if asRoot {
		must(t, os.Lchown(filepath.Join(plain, "link"), 1234, 5678))
	}
	sp, err := os.Create(filepath.Join(plain, "sparse"))
	must(t, err)
	sp.WriteAt([]byte("start"), 0)
	sp.WriteAt([]byte("middle"), 512<<10)
	must(t, sp.Truncate(1<<20))
	sp.Close()
	must(t, syscall.Chmod(plain, 0o750))
	fixDirTimes(t, plain)
}

// sameTree compares the restored tree dest with the plaintext: types,
// modes, owners (as root), mtimes, sizes, contents, targets, xattrs and
// hard links; with root, also the root directories themselves.
func sameTree(t *testing.T, plain, dest string, root bool) {
	t.Helper()
	links := map[uint64]uint64{} // plaintext inode → restored inode
	var cmp func(rel string)
	cmp = func(rel string) {
		p, d := filepath.Join(plain, rel), filepath.Join(dest, rel)
		var ps, ds unix.Stat_t
		must(t, unix.Lstat(p, &ps))
		if err := unix.Lstat(d, &ds); err != nil {
			t.Errorf("%q: %v", rel, err)
			return
		}
		if rel != "" || root {
			if ps.Mode != ds.Mode || ps.Mtim != ds.Mtim || asRoot && (ps.Uid != ds.Uid || ps.Gid != ds.Gid) {
				t.Errorf("%q: mode %o mtime %v owner %d:%d, want %o %v %d:%d", rel, ds.Mode, ds.Mtim, ds.Uid, ds.Gid, ps.Mode, ps.Mtim, ps.Uid, ps.Gid)
			}
			if ps.Mode&unix.S_IFMT != unix.S_IFLNK {
				typ := record.File
				if ps.Mode&unix.S_IFMT == unix.S_IFDIR {
					typ = record.Dir
				}
				if px, dx := keptXattrs(t, p, typ), keptXattrs(t, d, typ); !equalXattrs(px, dx) {
					t.Errorf("%q: xattrs %q, want %q", rel, dx, px)
				}
			}
		}
		switch ps.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			pb, _ := os.ReadFile(p)
			db, _ := os.ReadFile(d)
			if !bytes.Equal(pb, db) {
				t.Errorf("%q: contents differ", rel)
			}
			if ps.Nlink > 1 {
				if in, ok := links[ps.Ino]; ok && in != ds.Ino {
					t.Errorf("%q: not a hard link of its group", rel)
				}
				links[ps.Ino] = ds.Ino
			} else if ds.Nlink != 1 {
				t.Errorf("%q: %d links", rel, ds.Nlink)
			}
		case unix.S_IFLNK:
			pt, _ := os.Readlink(p)
			dt, _ := os.Readlink(d)
			if pt != dt {
				t.Errorf("%q: target of %d bytes, want %d", rel, len(dt), len(pt))
			}
		case unix.S_IFDIR:
			pe, _ := os.ReadDir(p)
			de, _ := os.ReadDir(d)
			var pn, dn []string
			for _, e := range pe {
				if !(rel == "" && e.Name() == config.FileName) {
					pn = append(pn, e.Name())
				}
			}
			for _, e := range de {
				dn = append(dn, e.Name())
			}
			if strings.Join(pn, "/") != strings.Join(dn, "/") {
				t.Errorf("%q: holds %q, want %q", rel, dn, pn)
			}
			for _, n := range pn {
				cmp(join(rel, n))
			}
		}
	}
	cmp("")
}

func equalXattrs(a, b []record.Xattr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// quiet fails unless the report has no failure and nothing out of sync.
func quiet(t *testing.T, what string, rep Report) {
	t.Helper()
	if len(rep.Failures) != 0 || len(rep.OutOfSync) != 0 || rep.Unauthenticated {
		t.Fatalf("%s: failures %v, out of sync %v, unauthenticated %v", what, rep.Failures, rep.OutOfSync, rep.Unauthenticated)
	}
}

// TestV2RestoreExact: a v2 backup restores every mode, owner, mtime,
// xattr, ACL, hard link, empty directory, long symlink target and hole of
// the plaintext, the root's own metadata included, and a tree that did
// not change reports nothing.
func TestV2RestoreExact(t *testing.T) {
	v := newV2(t, config.Defaults(), richTree)
	rep, err := Check(context.Background(), v.b, WalkOptions{})
	must(t, err)
	quiet(t, "fsck", rep)
	if rep.Symlinks != 2 || rep.Files != 13 {
		t.Errorf("fsck counted %d files, %d symlinks", rep.Files, rep.Symlinks)
	}
	dest := filepath.Join(t.TempDir(), "new")
	rep = restoreAll(t, v.b, dest, nil, WalkOptions{})
	quiet(t, "restore", rep)
	sameTree(t, v.plain, dest, true)
	var st unix.Stat_t
	must(t, unix.Stat(filepath.Join(dest, "sparse"), &st))
	if st.Blocks*512 > 64<<10 {
		t.Errorf("sparse file takes %d bytes", st.Blocks*512)
	}
	// Again: everything is in place, nothing is written or relinked.
	before := inodeOf(t, filepath.Join(dest, "b", "h2"))
	rep = restoreAll(t, v.b, dest, nil, WalkOptions{})
	quiet(t, "second restore", rep)
	if rep.Files != 0 || rep.Skipped != 15 {
		t.Errorf("second restore wrote %d, skipped %d", rep.Files, rep.Skipped)
	}
	sameTree(t, v.plain, dest, true)
	if inodeOf(t, filepath.Join(dest, "b", "h2")) != before {
		t.Error("second restore relinked a hard link in place")
	}
	// Forced: written again, the same.
	rep = restoreAll(t, v.b, dest, nil, WalkOptions{Force: true})
	quiet(t, "forced restore", rep)
	sameTree(t, v.plain, dest, true)
}

func inodeOf(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Lstat(p, &st))
	return st.Ino
}

// TestV2StorageMetadataIgnored: what the storage says about modes, owners
// and times is not restored; the records' metadata is, and a storage that
// changed it is no report.
func TestV2StorageMetadataIgnored(t *testing.T) {
	v := newV2(t, config.Defaults(), richTree)
	for _, rel := range []string{"private", "a", "a/h1"} {
		p := v.cpath(rel)
		must(t, syscall.Chmod(p, 0o4777))
		if asRoot {
			must(t, os.Lchown(p, 4321, 4321))
		}
		setTime(t, p, 1, 0)
	}
	rep, err := Check(context.Background(), v.b, WalkOptions{})
	must(t, err)
	quiet(t, "fsck", rep)
	dest := filepath.Join(t.TempDir(), "new")
	quiet(t, "restore", restoreAll(t, v.b, dest, nil, WalkOptions{}))
	sameTree(t, v.plain, dest, true)
}

// TestV2InheritedACLRemoved: a file restored into a directory of DEST with
// a default ACL gets exactly its record's ACLs, not an inherited one.
func TestV2InheritedACLRemoved(t *testing.T) {
	v := newV2(t, config.Defaults(), richTree)
	dest := t.TempDir()
	must(t, os.Mkdir(filepath.Join(dest, "a"), 0o755))
	must(t, unix.Setxattr(filepath.Join(dest, "a"), record.ACLDefault, namedACL(7, 7, 7), 0))
	quiet(t, "restore", restoreAll(t, v.b, dest, nil, WalkOptions{}))
	for _, rel := range []string{"a/h1", "a/deep/file"} {
		if x := listX(t, filepath.Join(dest, rel)); len(x) != 0 {
			t.Errorf("%s: xattrs %q", rel, x)
		}
	}
	if x := listX(t, filepath.Join(dest, "a", "deep")); len(x) != 0 {
		t.Errorf("a/deep: xattrs %q", x)
	}
}

// TestV2Interrupted: a restore cancelled after its first file, run again,
// gives the exact tree, hard links included.
func TestV2Interrupted(t *testing.T) {
	v := newV2(t, config.Defaults(), richTree)
	dest := filepath.Join(t.TempDir(), "new")
	ctx, cancel := context.WithCancel(context.Background())
	var once bool
	_, err := Restore(ctx, v.b, dest, nil, WalkOptions{Workers: 1, Progress: func(files int, bytes int64) {
		if files > 0 && !once {
			once = true
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted restore: %v", err)
	}
	quiet(t, "second run", restoreAll(t, v.b, dest, nil, WalkOptions{}))
	sameTree(t, v.plain, dest, true)
}

// TestV2PathRestore: a path restore gives the directories it makes on the
// way their records' metadata, links the members of a group it restores,
// recreates a symlink the storage dropped, and reports a listed file the
// storage lacks as out of sync.
func TestV2PathRestore(t *testing.T) {
	v := newV2(t, config.Defaults(), richTree)
	must(t, os.Remove(v.cpath("link")))
	must(t, os.Remove(v.cpath("private")))
	dest := t.TempDir()
	rep := restoreAll(t, v.b, dest, []string{"a/deep/file", "b/h2", "h3", "link", "private"}, WalkOptions{})
	if len(rep.Failures) != 0 || len(rep.OutOfSync) != 1 || rep.OutOfSync[0].Path != "private" || !errors.Is(rep.OutOfSync[0].Err, ErrOutOfSync) {
		t.Fatalf("path restore: failures %v, out of sync %v", rep.Failures, rep.OutOfSync)
	}
	for _, rel := range []string{"a", "a/deep"} {
		var ps, ds unix.Stat_t
		must(t, unix.Lstat(filepath.Join(v.plain, rel), &ps))
		must(t, unix.Lstat(filepath.Join(dest, rel), &ds))
		if ps.Mode != ds.Mode || ps.Mtim != ds.Mtim {
			t.Errorf("%s: mode %o mtime %v, want %o %v", rel, ds.Mode, ds.Mtim, ps.Mode, ps.Mtim)
		}
	}
	if inodeOf(t, filepath.Join(dest, "b", "h2")) != inodeOf(t, filepath.Join(dest, "h3")) {
		t.Error("hard links restored apart")
	}
	if target, err := os.Readlink(filepath.Join(dest, "link")); err != nil || target != "private" {
		t.Errorf("dropped symlink: %q, %v", target, err)
	}
}

// TestV2Sparse: a 200 MB file of a few data blocks and holes comes back
// with holes, not 200 MB of zeros.
func TestV2Sparse(t *testing.T) {
	const size = 200 << 20
	v := newV2(t, config.Defaults(), func(t *testing.T, plain string) {
		f, err := os.Create(filepath.Join(plain, "big"))
		must(t, err)
		defer f.Close()
		for _, off := range []int64{0, 100 << 20, size - 10} {
			_, err := f.WriteAt([]byte("0123456789"), off)
			must(t, err)
		}
	})
	dest := t.TempDir()
	quiet(t, "restore", restoreAll(t, v.b, dest, nil, WalkOptions{}))
	p := filepath.Join(dest, "big")
	var st unix.Stat_t
	must(t, unix.Stat(p, &st))
	if st.Size != size || st.Blocks*512 > 1<<20 {
		t.Errorf("restored %d bytes taking %d on disk", st.Size, st.Blocks*512)
	}
	fd, err := unix.Open(p, unix.O_RDONLY, 0)
	must(t, err)
	defer unix.Close(fd)
	if hole, err := unix.Seek(fd, 0, unix.SEEK_HOLE); err != nil || hole != 4096 {
		t.Errorf("first hole at %d (%v)", hole, err)
	}
	if data, err := unix.Seek(fd, 4096, unix.SEEK_DATA); err != nil || data != 100<<20&^4095 {
		t.Errorf("data after the first hole at %d (%v)", data, err)
	}
	buf := make([]byte, 10)
	for _, off := range []int64{0, 100 << 20, size - 10} {
		if _, err := unix.Pread(fd, buf, off); err != nil || string(buf) != "0123456789" {
			t.Errorf("at %d: %q %v", off, buf, err)
		}
	}
}

// smallTree is the tamper matrix's tree. With name_max 100 the name of
// "long…" is stored under a stand-in.
var longName = "long" + strings.Repeat("n", 76)

func smallTree(t *testing.T, plain string) {
	t.Helper()
	for rel, data := range map[string]string{"f": "hello", "g": "world", "del": "deleted later", "sub/x": "x", "sub2/y": "y", longName: "long"} {
		p := filepath.Join(plain, rel)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(data), 0o640))
	}
	must(t, syscall.Chmod(filepath.Join(plain, "del"), 0o4750))
	if asRoot {
		must(t, os.Lchown(filepath.Join(plain, "del"), 1234, 1234))
		must(t, os.Lchown(filepath.Join(plain, "f"), 1234, 5678))
	}
	must(t, os.Symlink("f", filepath.Join(plain, "link")))
	must(t, os.Symlink("../f", filepath.Join(plain, "sub", "link")))
	fixDirTimes(t, plain)
}

// litter is what sync tools leave.
var litter = []string{".stfolder", ".DS_Store", "desktop.ini", "x (conflicted copy).txt", "a.rclonelink"}

// TestV2Tamper: each way a storage can change a v2 backup is caught by
// Check and by Restore, as damage (bytes efs never wrote) or as out of
// sync (entries and records that disagree), and nothing else is reported.
func TestV2Tamper(t *testing.T) {
	settings := config.Defaults()
	settings.NameMax = 100
	copyFile := func(t *testing.T, from, to string) {
		data, err := os.ReadFile(from)
		must(t, err)
		os.Remove(to)
		must(t, os.WriteFile(to, data, 0o644))
	}
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, v *v2)
		damaged func(v *v2) []string // stored paths; "*" for any one
		oos     []string             // plaintext paths
		foreign int
		check   func(t *testing.T, v *v2, dest string)
	}{
		{name: "chmod-chown", tamper: func(t *testing.T, v *v2) {
			for _, rel := range []string{"f", "sub"} {
				must(t, syscall.Chmod(v.cpath(rel), 0o4755))
				if asRoot {
					must(t, os.Lchown(v.cpath(rel), 4321, 4321))
				}
			}
		}, check: func(t *testing.T, v *v2, dest string) { sameTree(t, v.plain, dest, true) }},
		{name: "file-replaced-by-dir", tamper: func(t *testing.T, v *v2) {
			must(t, os.Remove(v.cpath("f")))
			must(t, os.Mkdir(v.cpath("f"), 0o755))
		}, oos: []string{"f"}, check: func(t *testing.T, v *v2, dest string) {
			if _, err := os.Lstat(filepath.Join(dest, "f")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("retyped entry restored: %v", err)
			}
		}},
		{name: "file-deleted", tamper: func(t *testing.T, v *v2) {
			must(t, os.Remove(v.cpath("g")))
		}, oos: []string{"g"}},
		{name: "dir-deleted", tamper: func(t *testing.T, v *v2) {
			must(t, os.RemoveAll(v.cpath("sub2")))
		}, oos: []string{"sub2"}},
		{name: "symlinks-dropped", tamper: func(t *testing.T, v *v2) {
			must(t, os.Remove(v.cpath("link")))
			must(t, os.Remove(v.cpath("sub/link")))
		}, check: func(t *testing.T, v *v2, dest string) { sameTree(t, v.plain, dest, true) }},
		{name: "replayed", tamper: func(t *testing.T, v *v2) {
			keep := filepath.Join(t.TempDir(), "keep")
			copyFile(t, v.cpath("del"), keep)
			must(t, os.Remove(filepath.Join(v.plain, "del")))
			v.export(t)
			copyFile(t, keep, v.cpath("del"))
			must(t, syscall.Chmod(v.cpath("del"), 0o4750))
		}, oos: []string{"del"}, check: func(t *testing.T, v *v2, dest string) {
			var st unix.Stat_t
			must(t, unix.Lstat(filepath.Join(dest, "del"), &st))
			if st.Mode&0o7777 != 0o750 || st.Uid != uint32(os.Geteuid()) {
				t.Errorf("unlisted entry: mode %o owner %d", st.Mode&0o7777, st.Uid)
			}
		}},
		{name: "rolled-back", tamper: func(t *testing.T, v *v2) {
			keep := filepath.Join(t.TempDir(), "keep")
			copyFile(t, v.cpath("g"), keep)
			// A new version under a new inode: a new file ID.
			tmp := filepath.Join(v.plain, "g.new")
			must(t, os.WriteFile(tmp, []byte("WORLD"), 0o640))
			must(t, os.Rename(tmp, filepath.Join(v.plain, "g")))
			v.export(t)
			copyFile(t, keep, v.cpath("g"))
		}, oos: []string{"g"}, check: func(t *testing.T, v *v2, dest string) {
			if b, _ := os.ReadFile(filepath.Join(dest, "g")); string(b) != "world" {
				t.Errorf("rolled-back file restored as %q", b)
			}
		}},
		{name: "symlink-replayed", tamper: func(t *testing.T, v *v2) {
			old, err := os.Readlink(v.cpath("link"))
			must(t, err)
			must(t, os.Remove(filepath.Join(v.plain, "link")))
			must(t, os.Symlink("g", filepath.Join(v.plain, "link")))
			v.export(t)
			must(t, os.Remove(v.cpath("link")))
			must(t, os.Symlink(old, v.cpath("link")))
		}, oos: []string{"link"}, check: func(t *testing.T, v *v2, dest string) {
			if target, _ := os.Readlink(filepath.Join(dest, "link")); target != "g" {
				t.Errorf("symlink restored to %q, want the record's", target)
			}
		}},
		{name: "double-spelling", tamper: func(t *testing.T, v *v2) {
			stand := v.cpath(longName)
			full, err := os.ReadFile(stand + naming.CompanionSuffix)
			must(t, err)
			copyFile(t, stand, filepath.Join(v.cipher, string(full)))
		}, damaged: func(*v2) []string { return []string{"*"} }},
		{name: "companion-deleted", tamper: func(t *testing.T, v *v2) {
			must(t, os.Remove(v.cpath(longName)+naming.CompanionSuffix))
		}, damaged: func(v *v2) []string { return []string{v.crel(longName)} }, check: func(t *testing.T, v *v2, dest string) {
			if _, err := v.b.Lookup("", "", longName); !errors.Is(err, ErrDamaged) || errors.Is(err, ErrOutOfSync) || errors.Is(err, os.ErrNotExist) {
				t.Errorf("lookup of a long name without its companion: %v", err)
			}
		}},
		{name: "record-deleted", tamper: func(t *testing.T, v *v2) {
			must(t, os.Remove(filepath.Join(v.cipher, naming.RecordName)))
		}, damaged: func(*v2) []string { return []string{naming.RecordName} }, check: func(t *testing.T, v *v2, dest string) {
			// Everything is restored, as if the record did not list it.
			var st unix.Stat_t
			must(t, unix.Lstat(filepath.Join(dest, "del"), &st))
			if st.Mode&0o7777 != 0o750 {
				t.Errorf("entry of a directory without its record: mode %o", st.Mode&0o7777)
			}
			if b, _ := os.ReadFile(filepath.Join(dest, "sub", "x")); string(b) != "x" {
				t.Errorf("sub/x: %q", b)
			}
		}},
		{name: "record-flipped", tamper: func(t *testing.T, v *v2) {
			p := filepath.Join(v.cpath("sub"), naming.RecordName)
			data, err := os.ReadFile(p)
			must(t, err)
			data[len(data)-3] ^= 1
			os.Remove(p)
			must(t, os.WriteFile(p, data, 0o444))
		}, damaged: func(v *v2) []string { return []string{v.crel("sub") + "/" + naming.RecordName} }},
		{name: "record-moved", tamper: func(t *testing.T, v *v2) {
			copyFile(t, filepath.Join(v.cpath("sub2"), naming.RecordName), filepath.Join(v.cpath("sub"), naming.RecordName))
		}, damaged: func(v *v2) []string { return []string{v.crel("sub") + "/" + naming.RecordName} }},
		{name: "record-as-file", tamper: func(t *testing.T, v *v2) {
			copyFile(t, filepath.Join(v.cipher, naming.RecordName), v.cpath("g"))
		}, damaged: func(v *v2) []string { return []string{v.crel("g")} }},
		{name: "litter", tamper: func(t *testing.T, v *v2) {
			for _, dir := range []string{v.cipher, v.cpath("sub")} {
				for _, l := range litter {
					must(t, os.WriteFile(filepath.Join(dir, l), []byte("litter"), 0o644))
				}
			}
		}, foreign: 2 * len(litter), check: func(t *testing.T, v *v2, dest string) { sameTree(t, v.plain, dest, true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newV2(t, settings, smallTree)
			tc.tamper(t, v)
			var damaged []string
			if tc.damaged != nil {
				damaged = tc.damaged(v)
			}
			rep, err := Check(context.Background(), v.b, WalkOptions{})
			must(t, err)
			classes(t, "fsck", rep, damaged, tc.oos, tc.foreign)
			dest := filepath.Join(t.TempDir(), "new")
			rep = restoreAll(t, v.b, dest, nil, WalkOptions{})
			classes(t, "restore", rep, damaged, tc.oos, tc.foreign)
			if tc.check != nil {
				tc.check(t, v, dest)
			}
		})
	}
}

// classes checks that rep holds exactly the damage (stored paths; "*"
// for any one), the entries out of sync (plaintext paths) and the number
// of foreign names expected.
func classes(t *testing.T, what string, rep Report, damaged, oos []string, foreign int) {
	t.Helper()
	var gotD, gotO []string
	for _, f := range rep.Failures {
		if !errors.Is(f.Err, ErrDamaged) {
			t.Errorf("%s: a failure that is not damage: %v", what, f)
		}
		gotD = append(gotD, f.Stored)
	}
	for _, f := range rep.OutOfSync {
		if !errors.Is(f.Err, ErrOutOfSync) || errors.Is(f.Err, ErrDamaged) {
			t.Errorf("%s: out of sync %v", what, f)
		}
		gotO = append(gotO, f.Path)
	}
	if len(damaged) == 1 && damaged[0] == "*" && len(gotD) == 1 {
		gotD = damaged
	}
	sort.Strings(gotO)
	if strings.Join(gotD, "|") != strings.Join(damaged, "|") || strings.Join(gotO, "|") != strings.Join(oos, "|") || len(rep.Foreign) != foreign {
		t.Errorf("%s: damaged %q (want %q), out of sync %q (want %q), foreign %d (want %d)\nfailures %v\nout of sync %v",
			what, gotD, damaged, gotO, oos, len(rep.Foreign), foreign, rep.Failures, rep.OutOfSync)
	}
}

// TestV2Listing pins what ReadDir and Lookup give the mount: Meta for
// listed entries, FromRecord symlinks, RecordErr and Listing.OutOfSync for
// disagreements, and errors for listed entries that are not there.
func TestV2Listing(t *testing.T) {
	v := newV2(t, config.Defaults(), smallTree)
	keep := filepath.Join(t.TempDir(), "keep")
	data, _ := os.ReadFile(v.cpath("del"))
	os.WriteFile(keep, data, 0o644)
	must(t, os.Remove(filepath.Join(v.plain, "del")))
	v.export(t)
	must(t, os.WriteFile(v.cpath("del"), data, 0o644)) // replayed
	must(t, os.Remove(v.cpath("link")))                // dropped
	must(t, os.Remove(v.cpath("g")))                   // deleted

	l, err := v.b.ReadDir("", "")
	must(t, err)
	byName := map[string]Entry{}
	for _, e := range l.Entries {
		byName[e.Name] = e
	}
	if e := byName["f"]; e.Meta == nil || e.Meta.Size != 5 || e.FromRecord || e.RecordErr != nil {
		t.Errorf("listed entry: %+v", e)
	}
	if e := byName["link"]; !e.FromRecord || e.Meta == nil || e.Meta.Target != "f" || e.Kind != Symlink || e.CRel != v.crel("link") {
		t.Errorf("dropped symlink: %+v", e)
	}
	if e := byName["del"]; e.Meta != nil || !errors.Is(e.RecordErr, ErrOutOfSync) {
		t.Errorf("replayed entry: %+v", e)
	}
	if _, ok := byName["g"]; ok {
		t.Error("deleted entry listed")
	}
	var oos []string
	for _, f := range l.OutOfSync {
		oos = append(oos, f.Path+"="+f.Stored)
	}
	if want := "del=" + v.crel("del") + "|g=" + v.crel("g"); strings.Join(oos, "|") != want {
		t.Errorf("out of sync %q, want %q", oos, want)
	}
	if len(l.Damaged) != 0 {
		t.Errorf("damaged %v", l.Damaged)
	}

	if e, err := v.b.Lookup("", "", "f"); err != nil || e.Meta == nil {
		t.Errorf("lookup of a listed entry: %+v %v", e, err)
	}
	if e, err := v.b.Lookup("", "", "link"); err != nil || !e.FromRecord {
		t.Errorf("lookup of a dropped symlink: %+v %v", e, err)
	}
	if e, err := v.b.Lookup("", "", "del"); err != nil || !errors.Is(e.RecordErr, ErrOutOfSync) {
		t.Errorf("lookup of a replayed entry: %+v %v", e, err)
	}
	if _, err := v.b.Lookup("", "", "g"); !errors.Is(err, ErrOutOfSync) || !errors.Is(err, syscall.ENOENT) {
		t.Errorf("lookup of a deleted entry: %v", err)
	}
	if _, err := v.b.Lookup("", "", "nothing"); !errors.Is(err, syscall.ENOENT) || errors.Is(err, ErrOutOfSync) {
		t.Errorf("lookup of no entry: %v", err)
	}
	chain, err := v.b.ResolveChain("sub/x")
	if err != nil || chain[0].Meta == nil || chain[0].Meta.Name != "" || chain[1].Meta == nil || chain[2].Meta == nil {
		t.Errorf("ResolveChain: %v", err)
	}
	if target, err := v.b.Target(byName["link"]); err != nil || target != "f" {
		t.Errorf("target of a dropped symlink: %q %v", target, err)
	}
	f, err := v.b.Open("f", v.crel("f"))
	must(t, err)
	defer f.Close()
	if f.FileID() != byName["f"].Meta.FileID || f.CheckRecord(byName["f"].Meta) != nil {
		t.Error("file ID differs from the record's")
	}
	other := *byName["f"].Meta
	other.FileID[0] ^= 1
	if err := f.CheckRecord(&other); !errors.Is(err, ErrOutOfSync) {
		t.Errorf("CheckRecord of another version: %v", err)
	}
	if v.b.Format() != 2 {
		t.Errorf("Format %d", v.b.Format())
	}
}

// TestV2EmptyRootWithLitter: a v2 root whose record lists nothing is an
// empty tree, litter or not, not a backup read with the wrong name
// encoding (which a v1 reader cannot tell apart).
func TestV2EmptyRootWithLitter(t *testing.T) {
	v := newV2(t, config.Defaults(), nil)
	for _, l := range litter {
		must(t, os.WriteFile(filepath.Join(v.cipher, l), nil, 0o644))
	}
	rep, err := Check(context.Background(), v.b, WalkOptions{})
	must(t, err)
	quiet(t, "fsck of an empty tree", rep)
	if len(rep.Foreign) != len(litter) {
		t.Errorf("foreign %q", rep.Foreign)
	}

}

// TestV1Unauthenticated: a v1 backup's report says its metadata is the
// storage's.
func TestV1Unauthenticated(t *testing.T) {
	b, _, _ := setup(t, v1Settings())
	rep, err := Check(context.Background(), b, WalkOptions{})
	must(t, err)
	if !rep.Unauthenticated || b.Format() != 1 {
		t.Errorf("v1 fsck: unauthenticated %v, format %d", rep.Unauthenticated, b.Format())
	}
	rep = restoreAll(t, b, t.TempDir(), nil, WalkOptions{})
	if !rep.Unauthenticated || len(rep.Failures) != 0 {
		t.Errorf("v1 restore: unauthenticated %v, failures %v", rep.Unauthenticated, rep.Failures)
	}
}

// TestV2Salvage: salvage works on a v2 backup, and the salvaged file gets
// its record's metadata.
func TestV2Salvage(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 3*4096/16)
	v := newV2(t, config.Defaults(), func(t *testing.T, plain string) {
		must(t, os.WriteFile(filepath.Join(plain, "f"), data, 0o600))
		must(t, syscall.Chmod(filepath.Join(plain, "f"), 0o4710))
	})
	p := v.cpath("f")
	ct, err := os.ReadFile(p)
	must(t, err)
	ct[24+4096+16+5] ^= 1 // block 1
	must(t, os.WriteFile(p, ct, 0o644))
	dest := t.TempDir()
	rep := restoreAll(t, v.b, dest, nil, WalkOptions{Salvage: true})
	if len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0].Err.Error(), "salvaged 2 of 3 blocks") || len(rep.OutOfSync) != 0 {
		t.Fatalf("salvage: %v %v", rep.Failures, rep.OutOfSync)
	}
	got, err := os.ReadFile(filepath.Join(dest, "f"+SalvageSuffix))
	want := append(append(bytes.Clone(data[:4096]), make([]byte, 4096)...), data[8192:]...)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("salvaged %d bytes, %v", len(got), err)
	}
	var st unix.Stat_t
	must(t, unix.Lstat(filepath.Join(dest, "f"+SalvageSuffix), &st))
	if st.Mode&0o7777 != 0o4710 {
		t.Errorf("salvaged file mode %o", st.Mode&0o7777)
	}
}

// TestV2RecordCache: a record changed after it was read is read again,
// whether the storage rewrote it in place or replaced it.
func TestV2RecordCache(t *testing.T) {
	v := newV2(t, config.Defaults(), smallTree)
	sub := filepath.Join(v.cpath("sub"), naming.RecordName)
	sub2 := filepath.Join(v.cpath("sub2"), naming.RecordName)
	damaged := func() bool {
		l, err := v.b.ReadDir("sub", v.crel("sub"))
		must(t, err)
		_, lerr := v.b.Lookup("sub", v.crel("sub"), "x")
		return len(l.Damaged) == 1 && lerr == nil
	}
	if damaged() {
		t.Fatal("intact record damaged")
	}
	// Replaced by another directory's record (a new inode).
	data, err := os.ReadFile(sub2)
	must(t, err)
	tmp := sub + ".new"
	must(t, os.WriteFile(tmp, data, 0o444))
	must(t, os.Rename(tmp, sub))
	if !damaged() {
		t.Error("a replaced record was taken from the cache")
	}
	// Written in place, same size, mtime kept.
	v.export(t)
	if damaged() {
		t.Fatal("record written again is damaged")
	}
	var st unix.Stat_t
	must(t, unix.Stat(sub, &st))
	data, err = os.ReadFile(sub)
	must(t, err)
	data[len(data)-1] ^= 1
	time.Sleep(20 * time.Millisecond) // a ctime tick later
	must(t, os.Chmod(sub, 0o644))
	must(t, os.WriteFile(sub, data, 0o644))
	must(t, unix.UtimesNano(sub, []unix.Timespec{st.Atim, st.Mtim}))
	if !damaged() {
		t.Error("a record changed in place was taken from the cache")
	}
}
