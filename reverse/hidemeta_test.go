//go:build linux

package reverse

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/refcrypt"
	"github.com/efs-project/efs/internal/vectors"
	"github.com/efs-project/efs/naming"
	"github.com/efs-project/efs/record"
)

// TestHiddenMtimeVectors recomputes the hidden-mtime vectors, which
// vectorgen computes from HMAC-SHA256 as FORMAT.md spells it.
func TestHiddenMtimeVectors(t *testing.T) {
	vs, err := vectors.Load("../testdata/vectors", "hidden-mtime")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 4 {
		t.Fatalf("%d hidden-mtime vectors, want at least 4", len(vs))
	}
	seen := map[int64]bool{}
	for _, v := range vs {
		path := string(v.MustHex(t, "path_hex"))
		mt := unix.Timespec{Sec: v.MustInt(t, "mtime_sec"), Nsec: v.MustInt(t, "mtime_nsec")}
		got := hiddenMtime(v.MustHex(t, "file_id_key"), path, mt)
		if want := v.MustInt(t, "view_mtime_sec"); got != want {
			t.Errorf("%s: %d, want %d", v.Name, got, want)
		}
		seen[got] = true
	}
	if len(seen) != len(vs) {
		t.Errorf("%d vectors give %d distinct pseudo-mtimes", len(vs), len(seen))
	}
}

// hmTree is a Tree over plain whose config hides metadata.
func hmTree(t *testing.T, plain string) *Tree {
	t.Helper()
	s := config.Defaults()
	s.Flags |= config.FlagHideMetadata
	kdf := config.KDF{Salt: bytes.Repeat([]byte{7}, 16), Time: 1, MemoryKiB: 1024, Threads: 1}
	cfg, mk, err := config.Create([]byte("pw"), s, kdf, "test")
	if err == nil {
		mk.Wipe()
		err = cfg.WriteNew(filepath.Join(plain, config.FileName))
	}
	if err != nil {
		t.Fatal(err)
	}
	tree, _ := exTree(t, plain, nil)
	if !tree.HidesMetadata() {
		t.Fatal("the tree does not hide metadata")
	}
	return tree
}

// plainTimes is every mtime, in seconds, of the entries below plain (the
// config included).
func plainTimes(t *testing.T, plain string) map[int64]string {
	t.Helper()
	times := map[int64]string{}
	filepath.WalkDir(plain, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		times[st.Mtim.Sec] = p
		return nil
	})
	return times
}

// checkHidden fails unless a is what a view with hidden metadata shows: the
// uniform mode of its type, the test's user, one mtime in every field, no
// fraction of a second, and none of the plaintext's times.
func checkHidden(t *testing.T, what string, a *Attr, real map[int64]string) {
	t.Helper()
	perm := map[uint32]uint32{unix.S_IFREG: 0o600, unix.S_IFDIR: 0o700, unix.S_IFLNK: 0o777}[a.Type()]
	if perm == 0 || a.Mode != a.Type()|perm {
		t.Errorf("%s: mode %#o", what, a.Mode)
	}
	if a.Uid != uint32(os.Geteuid()) || a.Gid != uint32(os.Getegid()) {
		t.Errorf("%s: owner %d:%d, want the serving user %d:%d", what, a.Uid, a.Gid, os.Geteuid(), os.Getegid())
	}
	if a.Mtime.Nsec != 0 || a.Atime != a.Mtime || a.Ctime != a.Mtime || a.Mtime.Sec < 946684800 || a.Mtime.Sec >= 946684800+1<<30 {
		t.Errorf("%s: times %+v %+v %+v", what, a.Atime, a.Mtime, a.Ctime)
	}
	if p, ok := real[a.Mtime.Sec]; ok {
		t.Errorf("%s: shows the real mtime of %s", what, p)
	}
}

// hmWalk calls f for every item of the view below d, with its view path.
func hmWalk(t *testing.T, tree *Tree, d Dir, f func(view string, it *Item)) {
	t.Helper()
	items, err := tree.List(d)
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		it := &items[i]
		if it.Err != nil {
			continue
		}
		v := join(d.View, it.Name)
		f(v, it)
		if it.Kind == ItemEntry && it.Entry.IsDir() {
			hmWalk(t, tree, Dir{Rel: it.Entry.Rel, View: v}, f)
		}
	}
}

// TestHiddenMetadataModel: with --hide-metadata, every item of the model
// (entries of every type, the root, efs.toml, companions, records) shows
// the uniform mode, the serving user and a pseudo-mtime; Stat agrees with
// List; the pseudo-mtimes are those FORMAT.md specifies, stable while the
// plaintext is, and they change exactly for the entry whose mtime changed;
// the records still carry the real metadata.
func TestHiddenMetadataModel(t *testing.T) {
	plain := t.TempDir()
	recPopulate(t, plain)
	tree := hmTree(t, plain)
	real := plainTimes(t, plain)

	root, err := tree.Root()
	if err != nil {
		t.Fatal(err)
	}
	checkHidden(t, "the root", &root.Attr, real)
	var rst unix.Stat_t
	unix.Lstat(plain, &rst)
	if want := hiddenMtime(tree.keys.FileID(), "", rst.Mtim); root.Attr.Mtime.Sec != want {
		t.Errorf("the root's mtime %d, want %d", root.Attr.Mtime.Sec, want)
	}
	before := map[string]Attr{}
	kinds := map[ItemKind]int{}
	types := map[uint32]int{}
	hmWalk(t, tree, Dir{}, func(v string, it *Item) {
		checkHidden(t, v, &it.Attr, real)
		kinds[it.Kind]++
		types[it.Attr.Type()]++
		before[v] = it.Attr
		var want int64
		switch it.Kind {
		case ItemEntry:
			want = hiddenMtime(tree.keys.FileID(), it.Entry.Rel, it.Entry.Stat.Mtim)
		case ItemConfig, ItemCompanion:
			var cst unix.Stat_t
			unix.Lstat(filepath.Join(plain, config.FileName), &cst)
			want = hiddenMtime(tree.keys.FileID(), config.FileName, cst.Mtim)
		case ItemRecord:
			return // its keyed mtime: TestRecordContents
		}
		if it.Attr.Mtime.Sec != want {
			t.Errorf("%s: mtime %d, want %d", v, it.Attr.Mtime.Sec, want)
		}
	})
	if kinds[ItemEntry] < 10 || kinds[ItemCompanion] != 1 || kinds[ItemConfig] != 1 || kinds[ItemRecord] != 3 || types[unix.S_IFLNK] != 3 {
		t.Fatalf("walked %v items by kind, %v by type: the tree lacks some", kinds, types)
	}
	// Stat of each Ref agrees.
	hmWalk(t, tree, Dir{}, func(v string, it *Item) {
		d, _ := split(v)
		dir := Dir{View: d}
		if it.Entry != nil {
			dir.Rel, _ = split(it.Entry.Rel)
		}
		if it.Kind == ItemRecord {
			return // its Ref needs its directory's Rel, which the walk has
		}
		a, err := tree.Stat(dir.Child(it))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if a != it.Attr {
			t.Errorf("%s: Stat %+v, List %+v", v, a, it.Attr)
		}
	})

	// One entry's mtime changes, by a nanosecond: its own pseudo-mtime and
	// its directory's record change, nothing else.
	p := filepath.Join(plain, "sticky/inner")
	var st unix.Stat_t
	unix.Lstat(p, &st)
	st.Mtim.Nsec++
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{st.Mtim, st.Mtim}, 0); err != nil {
		t.Fatal(err)
	}
	changed := map[string]bool{}
	hmWalk(t, tree, Dir{}, func(v string, it *Item) {
		if before[v] != it.Attr {
			changed[v] = true
		}
	})
	sticky := viewPath(tree, "sticky")
	want := map[string]bool{join(sticky, naming.RecordName): true, viewPath(tree, "sticky/inner"): true}
	if !reflect.DeepEqual(changed, want) {
		t.Errorf("changed %v, want %v", changed, want)
	}

	// The records keep the real metadata.
	dest := exDest(t)
	exExport(t, tree, dest)
	for _, rel := range []string{"", "sticky"} {
		view := filepath.Join(dest, viewPath(tree, rel))
		self, got := recDecode(t, tree, rel, mustRead(t, filepath.Join(view, naming.RecordName)))
		wantSelf, want := recWant(t, tree, plain, rel, view)
		if !reflect.DeepEqual(recNormal(got), recNormal(want)) {
			t.Errorf("record of %q:\n%+v\nwant\n%+v", rel, got, want)
		}
		if rel == "" && !reflect.DeepEqual(recNormal([]record.Entry{*self}), recNormal([]record.Entry{*wantSelf})) {
			t.Errorf("the root's own entry %+v, want %+v", self, wantSelf)
		}
	}
}

// TestHiddenMetadataExport: an export with hidden metadata writes what the
// model shows (no real mode, owner or time reaches the destination), a
// second export changes nothing, and a changed file rewrites exactly that
// file and its directory's record.
func TestHiddenMetadataExport(t *testing.T) {
	plain := t.TempDir()
	recPopulate(t, plain)
	tree := hmTree(t, plain)
	real := plainTimes(t, plain)
	dest := exDest(t)
	exExport(t, tree, dest)

	model := map[string]Attr{"": {}}
	hmWalk(t, tree, Dir{}, func(v string, it *Item) { model[v] = it.Attr })
	root, _ := tree.Root()
	model[""] = root.Attr
	n := 0
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dest, p)
		if rel == "." {
			rel = ""
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		// ctime is the kernel's, atime follows reads: export sets
		// neither apart from mtime.
		a := Attr{Mode: st.Mode, Uid: st.Uid, Gid: st.Gid, Atime: st.Mtim, Mtime: st.Mtim, Ctime: st.Mtim}
		checkHidden(t, "exported /"+rel, &a, real)
		m, ok := model[rel]
		if !ok {
			t.Errorf("the export has /%s, the model does not", rel)
		} else if m.Mtime != st.Mtim || m.Mode != st.Mode {
			t.Errorf("exported /%s: mode %#o mtime %d, the model's %#o %d", rel, st.Mode, st.Mtim.Sec, m.Mode, m.Mtime.Sec)
		}
		n++
		return nil
	})
	if n != len(model) {
		t.Errorf("%d entries exported, the model has %d", n, len(model))
	}

	if rep := exExport(t, tree, dest); rep.Written != 0 || rep.Removed != 0 {
		t.Errorf("a second export: %+v, want nothing written", rep)
	}
	inner := filepath.Join(dest, viewPath(tree, "sticky/inner"))
	rec := filepath.Join(dest, viewPath(tree, "sticky"), naming.RecordName)
	oldInner, oldRec := exInode(t, inner), exInode(t, rec)
	later := time.Date(2024, 5, 6, 7, 8, 10, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(plain, "sticky/inner"), later, later); err != nil {
		t.Fatal(err)
	}
	if rep := exExport(t, tree, dest); rep.Written != 2 {
		t.Errorf("after one touch: %+v, want 2 written (the file and its record)", rep)
	}
	if exInode(t, inner) == oldInner || exInode(t, rec) == oldRec {
		t.Error("the touched file or its record was not rewritten")
	}
}

// TestHiddenMatchesReference: with hidden metadata, an export is what the
// reference encryptor, written from FORMAT.md alone, writes: the same
// paths, bytes and targets, and the same modes and mtimes on every one.
func TestHiddenMatchesReference(t *testing.T) {
	plain := t.TempDir()
	recPopulate(t, plain)
	tree := hmTree(t, plain)
	rk, rs, err := refcrypt.Unlock(mustRead(t, filepath.Join(plain, config.FileName)), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if rs.Flags&2 == 0 {
		t.Fatal("the reference does not read the flag")
	}
	dest, ref := exDest(t), t.TempDir()
	exExport(t, tree, dest)
	if err := refcrypt.Write(rk, rs, plain, ref); err != nil {
		t.Fatal(err)
	}
	snap := func(root string) map[string]string {
		out := map[string]string{}
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, p)
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				t.Fatal(err)
			}
			what := "dir"
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFLNK:
				target, _ := os.Readlink(p)
				what = "link " + target
			case unix.S_IFREG:
				what = string(mustRead(t, p))
			}
			out[rel] = fmt.Sprintf("%o %d.%09d %s", st.Mode, st.Mtim.Sec, st.Mtim.Nsec, what)
			return nil
		})
		return out
	}
	got, want := snap(dest), snap(ref)
	for rel, w := range want {
		if g, ok := got[rel]; !ok {
			t.Errorf("the export lacks %s", rel)
		} else if g != w {
			t.Errorf("%s differs from the reference's: %.40q, want %.40q", rel, g, w)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			t.Errorf("the export has %s, the reference does not", rel)
		}
	}
	if len(got) < 15 {
		t.Errorf("only %d paths compared", len(got))
	}
}
