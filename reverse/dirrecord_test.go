//go:build linux

package reverse

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/refcrypt"
	"github.com/efs-project/efs/internal/testenv"
	"github.com/efs-project/efs/internal/treesnap"
	"github.com/efs-project/efs/naming"
	"github.com/efs-project/efs/record"
)

// rawACL is the kernel's xattr form of a POSIX ACL (version 2, then
// tag, perm, id per entry): owner rw, user 1234 r, group r, mask r, other
// r. It is not equivalent to a mode, so the kernel keeps it as an xattr.
func rawACL() []byte {
	const undefined = 0xffffffff
	b := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range []struct {
		tag, perm uint16
		id        uint32
	}{{0x01, 6, undefined}, {0x02, 4, 1234}, {0x04, 4, undefined}, {0x10, 4, undefined}, {0x20, 4, undefined}} {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		b = binary.LittleEndian.AppendUint32(b, e.id)
	}
	return b
}

// recSetxattr sets an xattr, and skips what the file system does not take
// (it logs it: the test then checks less).
func recSetxattr(t *testing.T, p, name string, value []byte) bool {
	t.Helper()
	err := unix.Lsetxattr(p, name, value, 0)
	if errors.Is(err, unix.ENOTSUP) {
		t.Logf("the file system takes no %s: not tested", name)
		return false
	}
	if err != nil {
		t.Fatalf("setxattr %s: %v", name, err)
	}
	return true
}

// recPopulate builds the tree of the record tests: set-id, sticky and
// private modes, times before 1970 and after 2038 to the nanosecond,
// xattrs and ACLs, a hard-link group of three names in two directories,
// an empty directory, symlinks (a target of 3,400 bytes, a dangling and
// an absolute one), and what a record leaves out (a FIFO, .efs.toml).
func recPopulate(t *testing.T, plain string) {
	t.Helper()
	p := func(rel string) string { return filepath.Join(plain, rel) }
	base := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	exWrite(t, p("setuid"), []byte("s"), base)
	exWrite(t, p("private"), []byte("private bytes"), time.Date(1960, 3, 4, 5, 6, 7, 987654321, time.UTC))
	exWrite(t, p("future"), []byte("future bytes"), time.Date(2100, 1, 1, 0, 0, 0, 500000000, time.UTC))
	exWrite(t, p("xattrs"), []byte("has xattrs"), base)
	exWrite(t, p("sticky/inner"), []byte("inner"), base)
	exWrite(t, p("linked"), []byte("one file, three names"), base)
	exWrite(t, p(strings.Repeat("n", 200)), []byte("long name"), base)
	for _, l := range []string{"linked2", "sticky/linked3"} {
		if err := os.Link(p("linked"), p(l)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(p("empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	for target, link := range map[string]string{
		strings.Repeat("t/", 1700): "longtarget", "does/not/exist": "dangling", "/etc/passwd": "absolute",
	} {
		if err := os.Symlink(target, p(link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mkfifo(p("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for rel, mode := range map[string]os.FileMode{"setuid": 0o4755 | os.ModeSetuid, "private": 0o600, "sticky": 0o777 | os.ModeSticky, ".": 0o750} {
		if err := os.Chmod(p(rel), mode); err != nil {
			t.Fatal(err)
		}
	}
	recSetxattr(t, p("xattrs"), "user.test", []byte("value"))
	recSetxattr(t, p("xattrs"), "user.empty", nil)
	recSetxattr(t, p("xattrs"), record.ACLAccess, rawACL())
	recSetxattr(t, p("sticky"), record.ACLDefault, rawACL())
	recSetxattr(t, p("sticky"), "user.dir", []byte("d"))
	recSetxattr(t, plain, "user.root", []byte("r"))
	exFixDirTimes(t, plain, base)
}

// recWant is what a record of the plaintext directory dir (rel) must
// hold, built from lstat, readlink and l*xattr of each entry; a file's ID
// is read from its view file's header (view: the directory in the view).
func recWant(t *testing.T, tree *Tree, plain, rel, view string) (*record.Entry, []record.Entry) {
	t.Helper()
	entry := func(name string) record.Entry {
		p := filepath.Join(plain, rel, name)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		e := record.Entry{Name: name, Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid, MtimeSec: st.Mtim.Sec, MtimeNsec: uint32(st.Mtim.Nsec)}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			e.Type, e.Size = record.File, uint64(st.Size)
			f, err := os.Open(filepath.Join(view, tree.namer.Entry(rel, name).Name))
			if err != nil {
				t.Fatal(err)
			}
			var h [content.HeaderSize]byte
			if _, err := io.ReadFull(f, h[:]); err != nil {
				t.Fatal(err)
			}
			f.Close()
			copy(e.FileID[:], h[8:])
			if st.Nlink > 1 {
				e.Link = record.LinkGroup(tree.keys.FileID(), 0, st.Ino)
			}
		case unix.S_IFDIR:
			e.Type = record.Dir
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				t.Fatal(err)
			}
			e.Type, e.Target, e.Size = record.Symlink, target, uint64(len(target))
			return e
		}
		buf := make([]byte, 65536)
		n, err := unix.Llistxattr(p, buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range strings.Split(string(buf[:n]), "\x00") {
			if record.KeptXattr(a) {
				v := make([]byte, 65536)
				m, err := unix.Lgetxattr(p, a, v)
				if err != nil {
					t.Fatal(err)
				}
				e.Xattrs = append(e.Xattrs, record.Xattr{Name: a, Value: v[:m]})
			}
		}
		slices.SortFunc(e.Xattrs, func(a, b record.Xattr) int { return strings.Compare(a.Name, b.Name) })
		return e
	}
	ents, err := os.ReadDir(filepath.Join(plain, rel))
	if err != nil {
		t.Fatal(err)
	}
	var want []record.Entry
	for _, d := range ents { // ReadDir sorts by name, bytewise
		if rel == "" && d.Name() == config.FileName || d.Type()&os.ModeNamedPipe != 0 {
			continue
		}
		want = append(want, entry(d.Name()))
	}
	if rel != "" {
		return nil, want
	}
	self := entry(".")
	self.Name = ""
	return &self, want
}

// recDecode authenticates and decodes the view bytes ct of the record of
// directory rel.
func recDecode(t *testing.T, tree *Tree, rel string, ct []byte) (*record.Entry, []record.Entry) {
	t.Helper()
	r, err := record.Open(tree.recordKeys(), rel, bytes.NewReader(ct), int64(len(ct)))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("record of %q: %v", rel, err)
	}
	self, entries, err := record.Decode(plain, rel == "")
	if err != nil {
		t.Fatalf("record of %q: %v", rel, err)
	}
	return self, entries
}

// recNormal makes empty xattr lists and values nil, for DeepEqual.
func recNormal(es []record.Entry) []record.Entry {
	for i := range es {
		if len(es[i].Xattrs) == 0 {
			es[i].Xattrs = nil
		}
		for j := range es[i].Xattrs {
			if len(es[i].Xattrs[j].Value) == 0 {
				es[i].Xattrs[j].Value = nil
			}
		}
	}
	return es
}

// recMtime is the view mtime of a record with view bytes ct (FORMAT.md,
// Sealing), from its header's file ID.
func recMtime(ct []byte) int64 {
	return 946684800 + int64(binary.BigEndian.Uint32(ct[8:12])&(1<<30-1))
}

// TestRecordContents reads efs.dir through a mount and checks that it
// authenticates and holds exactly the entries of the plaintext directory
// with their metadata, and that the view shows it as FORMAT.md says.
func TestRecordContents(t *testing.T) {
	plain := t.TempDir()
	recPopulate(t, plain)
	tree, _, _ := rvTree(t, plain, Options{})
	mnt := rvMount(t, tree)
	var secrets []string // plaintext names, and a target
	filepath.WalkDir(plain, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != plain {
			secrets = append(secrets, d.Name())
		}
		return err
	})
	secrets = append(secrets, "does/not/exist", "/etc/passwd")

	for _, rel := range []string{"", "sticky", "empty"} {
		view := filepath.Join(mnt, viewPath(tree, rel))
		p := filepath.Join(view, naming.RecordName)
		ct, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		self, got := recDecode(t, tree, rel, ct)
		wantSelf, want := recWant(t, tree, plain, rel, view)
		if !reflect.DeepEqual(recNormal(got), recNormal(want)) {
			t.Errorf("record of %q:\n%+v\nwant\n%+v", rel, got, want)
		}
		if rel == "" {
			if self == nil || !reflect.DeepEqual(recNormal([]record.Entry{*self}), recNormal([]record.Entry{*wantSelf})) {
				t.Errorf("the root's own entry %+v, want %+v", self, wantSelf)
			}
		}
		for _, s := range secrets {
			if bytes.Contains(ct, []byte(s)) {
				t.Errorf("record of %q carries plaintext %q", rel, s)
			}
		}
		var st, dst unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		unix.Lstat(filepath.Join(plain, rel), &dst)
		if st.Mode != unix.S_IFREG|0o444 || st.Nlink != 1 || st.Size != int64(len(ct)) || st.Uid != dst.Uid || st.Gid != dst.Gid ||
			st.Mtim.Sec != recMtime(ct) || st.Mtim.Nsec != 0 {
			t.Errorf("record of %q: stat %+v (%d bytes)", rel, st, len(ct))
		}
		if _, ok := rvDirents(t, view)[naming.RecordName]; !ok {
			t.Errorf("%q does not list its record", rel)
		}
	}

	// What the record of the root says, entry by entry.
	_, got := recDecode(t, tree, "", mustRead(t, filepath.Join(mnt, naming.RecordName)))
	byName := make(map[string]record.Entry)
	for _, e := range got {
		byName[e.Name] = e
	}
	_, sticky := recDecode(t, tree, "sticky", mustRead(t, filepath.Join(mnt, viewPath(tree, "sticky"), naming.RecordName)))
	for _, e := range sticky {
		byName["sticky/"+e.Name] = e
	}
	for name, mode := range map[string]uint32{"setuid": 0o4755, "private": 0o600, "sticky": 0o1777} {
		if byName[name].Mode != mode {
			t.Errorf("%s: mode %#o, want %#o", name, byName[name].Mode, mode)
		}
	}
	if e := byName["private"]; e.MtimeSec != time.Date(1960, 3, 4, 5, 6, 7, 0, time.UTC).Unix() || e.MtimeNsec != 987654321 {
		t.Errorf("1960 mtime: %d.%09d", e.MtimeSec, e.MtimeNsec)
	}
	if e := byName["future"]; e.MtimeSec != 4102444800 || e.MtimeNsec != 500000000 {
		t.Errorf("2100 mtime: %d.%09d", e.MtimeSec, e.MtimeNsec)
	}
	var xattrs []string
	for _, name := range []string{"xattrs", "sticky"} {
		for _, x := range byName[name].Xattrs {
			xattrs = append(xattrs, name+":"+x.Name)
		}
	}
	if !slices.Contains(xattrs, "xattrs:user.test") || !slices.Contains(xattrs, "sticky:user.dir") {
		t.Errorf("the record lacks user xattrs: %v", xattrs)
	}
	t.Logf("xattrs in the records: %v", xattrs)
	link := byName["linked"].Link
	if link == ([16]byte{}) || byName["linked2"].Link != link || byName["sticky/linked3"].Link != link || byName["setuid"].Link != ([16]byte{}) {
		t.Error("the three names of one file are not one link group, or a single file has one")
	}
	if e := byName["longtarget"]; e.Target != strings.Repeat("t/", 1700) {
		t.Errorf("long target: %d bytes in the record", len(e.Target))
	}
	if _, ok := byName[strings.Repeat("n", 200)]; !ok || len(got) != 12 {
		t.Errorf("the root's record lists %d entries, want 12 with the long name", len(got))
	}

	// The long target: readlink gives the stand-in, stat its length.
	vlink := filepath.Join(mnt, viewPath(tree, "longtarget"))
	target, err := os.Readlink(vlink)
	if err != nil {
		t.Fatalf("readlink of a 3,400-byte target: %v", err)
	}
	var lst unix.Stat_t
	unix.Lstat(vlink, &lst)
	if !strings.HasPrefix(target, naming.TargetPrefix) || len(target) != naming.LongNameLen || lst.Size != int64(len(target)) {
		t.Errorf("long target shows as %q, size %d", target, lst.Size)
	}
	if _, err := tree.namer.DecryptTarget("longtarget", target); !errors.Is(err, naming.ErrLongTarget) {
		t.Errorf("the stand-in decrypts: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRecordModel: Resolve and Stat of efs.dir compute the record again;
// a v1 tree has none.
func TestRecordModel(t *testing.T) {
	plain := t.TempDir()
	recPopulate(t, plain)
	tree, _, _ := rvTree(t, plain, Options{})
	d := Dir{Rel: "sticky", View: viewPath(tree, "sticky")}
	it, err := tree.Resolve(d, naming.RecordName)
	if err != nil {
		t.Fatal(err)
	}
	ref := d.Child(&it)
	if it.Kind != ItemRecord || ref.Rel != "sticky" || it.Attr.Ino != tree.virtualIno(inoKindRecord, d.View+"/"+naming.RecordName) {
		t.Fatalf("record item %+v, ref %+v", it, ref)
	}
	if a, err := tree.Stat(ref); err != nil || a != it.Attr {
		t.Fatalf("Stat = %+v, %v; Resolve gave %+v", a, err, it.Attr)
	}
	if err := os.Chmod(filepath.Join(plain, "sticky", "inner"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := tree.Stat(ref)
	if err != nil || a.Mtime == it.Attr.Mtime {
		t.Errorf("Stat after a chmod in the directory: mtime %v, before %v (%v)", a.Mtime, it.Attr.Mtime, err)
	}
	again, _ := tree.Resolve(d, naming.RecordName)
	if bytes.Equal(again.Record, it.Record) || again.Attr != a {
		t.Error("Resolve after a chmod gives the old record, or not what Stat says")
	}

	// Kernels before 6.13 read xattrs through /proc: the same record.
	for _, d := range []Dir{{}, d} {
		tree.xattrVia.Store(xattrAt)
		at, err := tree.Resolve(d, naming.RecordName)
		if err != nil {
			t.Fatal(err)
		}
		tree.xattrVia.Store(xattrProc)
		proc, err := tree.Resolve(d, naming.RecordName)
		if err != nil || !bytes.Equal(at.Record, proc.Record) {
			t.Errorf("%q: the record read through /proc differs (%v)", d.Rel, err)
		}
	}

	v1 := config.Defaults()
	v1.Version = 1
	tree1, _, _ := rvTree(t, plain, Options{Settings: v1})
	if _, err := tree1.Resolve(Dir{}, naming.RecordName); !errors.Is(err, ErrNotFound) {
		t.Errorf("a v1 view resolves efs.dir: %v", err)
	}
	for _, name := range names(t, tree1, Dir{}) {
		if name == naming.RecordName {
			t.Error("a v1 view lists efs.dir")
		}
	}
}

// TestRecordDeterministic: two mounts of the same tree show the same
// record bytes and mtimes.
func TestRecordDeterministic(t *testing.T) {
	plain := t.TempDir()
	recPopulate(t, plain)
	read := func() map[string]string {
		tree, _, _ := rvTree(t, plain, Options{})
		mnt := t.TempDir()
		server, err := Mount(tree, mnt, MountOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer server.Unmount()
		out := make(map[string]string)
		for _, rel := range []string{"", "sticky", "empty"} {
			p := filepath.Join(mnt, viewPath(tree, rel), naming.RecordName)
			var st unix.Stat_t
			if err := unix.Stat(p, &st); err != nil {
				t.Fatal(err)
			}
			out[rel] = string(mustRead(t, p)) + "@" + time.Unix(st.Mtim.Sec, st.Mtim.Nsec).String()
		}
		return out
	}
	if a, b := read(), read(); !reflect.DeepEqual(a, b) {
		t.Error("records differ across remounts")
	}
}

// TestRecordErrors: a directory whose record cannot be encoded (an entry
// with more xattrs than a record takes) keeps efs.dir in its listing,
// answers EIO for it with one log line, and export reports it and keeps
// its earlier copy.
func TestRecordErrors(t *testing.T) {
	plain := tmpfsDir(t)
	tree, _, logs := rvTree(t, plain, Options{})
	rvWrite(t, filepath.Join(plain, "f"), []byte("x"))
	dest := exDest(t)
	exExport(t, tree, dest)
	before := mustRead(t, filepath.Join(dest, naming.RecordName))
	for i := range record.MaxXattrs + 1 {
		if err := unix.Setxattr(filepath.Join(plain, "f"), "user.x"+string(rune('a'+i%26))+strings.Repeat("y", i/26), nil, 0); err != nil {
			skipNoXattrs(t, err)
		}
	}
	items, err := tree.List(Dir{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(items, func(it Item) bool { return it.Kind == ItemRecord })
	if i < 0 || !errors.Is(items[i].Err, ErrRecord) || items[i].Attr.Ino == 0 {
		t.Fatalf("record item %+v", items[i])
	}
	mnt := rvMount(t, tree)
	if _, ok := rvDirents(t, mnt)[naming.RecordName]; !ok {
		t.Error("efs.dir is not listed")
	}
	if _, err := os.Lstat(filepath.Join(mnt, naming.RecordName)); !errors.Is(err, syscall.EIO) {
		t.Errorf("stat of a record that cannot be computed: %v, want EIO", err)
	}
	rvDirents(t, mnt)
	if n := strings.Count(logs.String(), `msg="cannot compute the directory record"`); n != 1 || !strings.Contains(logs.String(), "1025 xattrs") {
		t.Errorf("%d log lines about the record, want 1:\n%s", n, logs)
	}
	rep, err := Export(t.Context(), tree, dest, ExportOptions{})
	if err != nil || len(rep.Failures) != 1 || rep.Failures[0].Stored != "/"+naming.RecordName || !errors.Is(rep.Failures[0].Err, ErrRecord) {
		t.Errorf("export: %v, failures %v", err, rep.Failures)
	}
	if !bytes.Equal(mustRead(t, filepath.Join(dest, naming.RecordName)), before) {
		t.Error("export did not keep the earlier record")
	}
}

// skipNoXattrs skips a test on a tmpfs without user xattrs (before
// Linux 6.6).
func skipNoXattrs(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.ENOSPC) {
		t.Skipf("this tmpfs takes no user xattrs: %v", err)
	}
	t.Fatal(err)
}

// recRsync runs rsync -a --itemize-changes from the view into dst and
// returns the paths it itemized (changed or new).
func recRsync(t *testing.T, src, dst string) []string {
	t.Helper()
	out, err := exec.Command("rsync", "-a", "--itemize-changes", src+"/", dst+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("rsync: %v\n%s", err, out)
	}
	var paths []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			paths = append(paths, strings.TrimSuffix(f[1], "/"))
		}
	}
	slices.Sort(paths)
	return paths
}

// TestRecordChanges: when one plaintext file changes — its content, only
// its mode, or only a user xattr — exactly its view entry (if the change
// shows there) and its directory's record change, bytes and mtime, as
// rsync's quick check and export's rewrites see them; nothing else does.
func TestRecordChanges(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		testenv.SkipOrFail(t, "no rsync: %v", err)
	}
	plain := t.TempDir()
	base := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, rel := range []string{"a/f1", "a/f2", "b/g", "r"} {
		exWrite(t, filepath.Join(plain, rel), []byte("first "+rel), base)
	}
	tree, _ := exTree(t, plain, nil)
	// After the config: an mtime of now could equal that of the new
	// copy's directory (coarse clock), which rsync then leaves alone.
	exFixDirTimes(t, plain, base)
	mnt := rvMount(t, tree)
	copyDir, dest := t.TempDir(), exDest(t)
	if got := recRsync(t, mnt, copyDir); len(got) != 11 { // ., 2 dirs, 4 files, efs.toml, 3 records
		t.Fatalf("first rsync copied %v", got)
	}
	exExport(t, tree, dest)
	f1 := filepath.Join(plain, "a", "f1")
	vf1, vrec := viewPath(tree, "a/f1"), viewPath(tree, "a")+"/"+naming.RecordName
	for _, c := range []struct {
		name    string
		change  func() error
		entry   bool // the change shows in the file's view entry
		written int  // by export: the file's bytes (not for a mode) and the record
	}{
		{"content", func() error { return os.WriteFile(f1, []byte("second version"), 0o640) }, true, 2},
		{"mode", func() error { return os.Chmod(f1, 0o600) }, true, 1},
		{"xattr", func() error { return unix.Setxattr(f1, "user.changed", []byte("yes"), 0) }, false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var before unix.Stat_t
			if err := unix.Stat(filepath.Join(mnt, vrec), &before); err != nil {
				t.Fatal(err)
			}
			if err := c.change(); err != nil {
				if errors.Is(err, unix.ENOTSUP) {
					t.Skipf("no user xattrs here: %v", err)
				}
				t.Fatal(err)
			}
			time.Sleep(1100 * time.Millisecond) // the kernel's attribute cache
			want := []string{vrec}
			if c.entry {
				want = append(want, vf1)
			}
			slices.Sort(want)
			if got := recRsync(t, mnt, copyDir); !slices.Equal(got, want) {
				t.Errorf("rsync itemized %v, want %v", got, want)
			}
			var after unix.Stat_t
			if err := unix.Stat(filepath.Join(mnt, vrec), &after); err != nil {
				t.Fatal(err)
			}
			if after.Mtim == before.Mtim {
				t.Error("the record's mtime did not change")
			}
			rep := exExport(t, tree, dest)
			if rep.Written != c.written || rep.Removed != 0 {
				t.Errorf("export: %+v, want %d written", rep, c.written)
			}
			if d := treesnap.Diff(treesnap.Take(t, copyDir), treesnap.Take(t, dest), "rsync copy", "export"); len(d) > 0 {
				t.Errorf("the export differs from the rsync copy of the view:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// TestRecordLargeDir: stat and a full read of the record of a directory
// of 100,000 entries (fewer with -short or -race) work, and nothing of it
// stays in memory after the file is closed.
func TestRecordLargeDir(t *testing.T) {
	n := 100_000
	if testing.Short() || raceEnabled {
		n = 10_000
	}
	plain := t.TempDir()
	dir := filepath.Join(plain, "big")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		fd, err := unix.Open(filepath.Join(dir, "entry-"+strconv.Itoa(i)), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
	}
	tree, _, _ := rvTree(t, plain, Options{})
	mnt := rvMount(t, tree)
	p := filepath.Join(mnt, viewPath(tree, "big"), naming.RecordName)
	heap := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapInuse)
	}
	heap0, rss0 := heap(), testenv.StatusKiB(t, 0, "VmRSS")
	start := time.Now()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	statTime := time.Since(start)
	start = time.Now()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	readTime := time.Since(start)
	rss1 := testenv.StatusKiB(t, 0, "VmRSS")
	if int64(len(ct)) != st.Size {
		t.Fatalf("read %d bytes of a record of %d", len(ct), st.Size)
	}
	_, entries := recDecode(t, tree, "big", ct)
	if len(entries) != n {
		t.Fatalf("the record lists %d entries, want %d", len(entries), n)
	}
	entries, ct = nil, nil
	heapOpen := heap()
	f.Close()
	time.Sleep(100 * time.Millisecond) // the release reaches the server after close returns
	heapClosed := heap()
	t.Logf("%d entries: record of %d bytes; stat %v, open and read %v; RSS %d -> %d KiB; heap %d KiB, with the record open %d KiB, after close %d KiB",
		n, st.Size, statTime.Round(time.Millisecond), readTime.Round(time.Millisecond), rss0, rss1, heap0>>10, heapOpen>>10, heapClosed>>10)
	// An open record holds its plaintext, about its size, and nothing is
	// kept after release.
	const slack = 4 << 20 // go-fuse's buffers, the test's own garbage
	if heapOpen-heap0 > st.Size*5/4+slack {
		t.Errorf("an open record of %d KiB holds %d KiB", st.Size>>10, (heapOpen-heap0)>>10)
	}
	if heapClosed-heap0 > slack {
		t.Errorf("%d KiB still held after the record was closed", (heapClosed-heap0)>>10)
	}
}

// TestRecordSnapshot: a record changes without its directory's mtime
// changing, and a torn copy of two versions fails authentication. A
// reader must get one whole version: the one at its open, whatever size
// the kernel heard of before, and whatever changes while it reads.
func TestRecordSnapshot(t *testing.T) {
	plain := t.TempDir()
	for i := range 10 {
		rvWrite(t, filepath.Join(plain, "d", "f"+strconv.Itoa(i)), nil)
	}
	tree, _, _ := rvTree(t, plain, Options{})
	mnt := rvMount(t, tree)
	p := filepath.Join(mnt, viewPath(tree, "d"), naming.RecordName)
	grow := func(from, to int) {
		for i := from; i < to; i++ {
			rvWrite(t, filepath.Join(plain, "d", strings.Repeat("long name ", 10)+strconv.Itoa(i)), nil)
		}
	}
	count := func(ct []byte) int {
		t.Helper()
		_, entries := recDecode(t, tree, "d", ct)
		return len(entries)
	}

	// The kernel hears of the small record, the directory grows, then
	// the record is read: the new one, whole.
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	grow(10, 200)
	ct := mustRead(t, p)
	if int64(len(ct)) <= st.Size {
		t.Errorf("read %d bytes, the size the kernel had (%d) or less", len(ct), st.Size)
	}
	if got := count(ct); got != 200 {
		t.Errorf("the record read lists %d entries, want 200", got)
	}

	// Open, read a little, change the directory, read the rest: the
	// version of the open, which fstat describes.
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 100)
	if _, err := io.ReadFull(f, head); err != nil {
		t.Fatal(err)
	}
	grow(200, 400)
	rest, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	ct = append(head, rest...)
	var fst unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &fst); err != nil || fst.Size != int64(len(ct)) {
		t.Errorf("fstat of the open record: size %d (%v), it serves %d bytes", fst.Size, err, len(ct))
	}
	if got := count(ct); got != 200 {
		t.Errorf("the open record lists %d entries, want the 200 of its open", got)
	}
	if got := count(mustRead(t, p)); got != 400 {
		t.Errorf("a new open lists %d entries, want 400", got)
	}
}

// TestMatchesReference: an export of a v2 tree with every kind of entry is
// byte for byte what the reference encryptor, written from FORMAT.md alone,
// writes — names, contents, targets, companions and directory records.
func TestMatchesReference(t *testing.T) {
	plain := t.TempDir()
	recPopulate(t, plain)
	matchesReference(t, plain)
}

// matchesReference is TestMatchesReference of the tree plain (whose config
// exTree makes unless there is one).
func matchesReference(t *testing.T, plain string) {
	tree, _ := exTree(t, plain, nil)
	cfg, err := os.ReadFile(filepath.Join(plain, config.FileName))
	if err != nil {
		t.Fatal(err)
	}
	rk, rs, err := refcrypt.Unlock(cfg, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	dest, ref := exDest(t), t.TempDir()
	exExport(t, tree, dest)
	if err := refcrypt.Write(rk, rs, plain, ref); err != nil {
		t.Fatal(err)
	}
	// Paths, types and bytes: modes, owners and times of the reference's
	// own files differ on purpose (it writes them 0644 for damage tests).
	bytesOf := func(root string) map[string]string {
		out := make(map[string]string)
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, p)
			switch {
			case d.Type()&os.ModeSymlink != 0:
				target, _ := os.Readlink(p)
				out[rel] = "link " + target
			case d.IsDir():
				out[rel] = "dir"
			default:
				out[rel] = string(mustRead(t, p))
			}
			return nil
		})
		return out
	}
	got, want := bytesOf(dest), bytesOf(ref)
	for rel, w := range want {
		if g, ok := got[rel]; !ok {
			t.Errorf("the export lacks %s", rel)
		} else if g != w {
			t.Errorf("%s differs from the reference's", rel)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			t.Errorf("the export has %s, the reference does not", rel)
		}
	}
	if n := strings.Count(strings.Join(slices.Collect(maps.Keys(got)), "\n"), naming.RecordName); n != 3 {
		t.Errorf("%d records compared, want 3", n)
	}
}

// TestPathTooLongRecord: in v2 a directory whose path fits but whose
// record's does not is left out (a reader would find it damaged, its
// record missing); v1 has no records and shows it.
func TestPathTooLongRecord(t *testing.T) {
	for _, version := range []int{1, 2} {
		s := config.Defaults()
		s.Version = version
		tree, _, _ := rvTree(t, t.TempDir(), Options{Settings: s})
		e := Entry{Plain: "d", Rel: "d", Entry: tree.namer.Entry("", "d")}
		e.Stat.Mode = unix.S_IFDIR | 0o755
		for _, c := range []struct {
			free int // bytes left after the directory's view path
			v2   error
		}{
			{len("/" + naming.RecordName), nil},
			{len("/"+naming.RecordName) - 1, ErrPathTooLong},
			{0, ErrPathTooLong},
		} {
			d := Dir{View: strings.Repeat("v", MaxViewPath-c.free-len(e.Name)-1)}
			want := c.v2
			if version == 1 {
				want = nil
			}
			if err := tree.cannotShow(d, &e); err != want {
				t.Errorf("v%d, %d bytes left: %v, want %v", version, c.free, err, want)
			}
		}
	}
}
