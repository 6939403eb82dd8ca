//go:build linux

package reverse

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/naming"
	"golang.org/x/sys/unix"
)

// TestModel checks the model without a mount: what List shows, that
// Resolve and Stat agree with it item by item, and the attribute rules.
func TestModel(t *testing.T) {
	plain := t.TempDir()
	long := strings.Repeat("n", 200)
	rvWrite(t, filepath.Join(plain, "f"), []byte("twelve bytes"))
	rvWrite(t, filepath.Join(plain, "d", long), nil)
	if err := os.Symlink("f", filepath.Join(plain, "l")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(plain, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree, _, _ := rvTree(t, plain, Options{})
	var cfgSt unix.Stat_t
	if err := unix.Stat(filepath.Join(plain, ".efs.toml"), &cfgSt); err != nil {
		t.Fatal(err)
	}
	root, err := tree.Root()
	if err != nil {
		t.Fatal(err)
	}
	if r := (Dir{}).Child(&root); r.Dir != (Dir{}) || r.Type != unix.S_IFDIR {
		t.Fatalf("root ref %+v", r)
	}

	// check lists d and compares every item with Resolve and Stat.
	check := func(d Dir, want map[string]ItemKind) []Item {
		t.Helper()
		items, err := tree.List(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != len(want) {
			t.Fatalf("%q lists %d items, want %d", d.View, len(items), len(want))
		}
		for i := range items {
			it := &items[i]
			if i > 0 && items[i-1].Name >= it.Name {
				t.Errorf("%q: listing not sorted at %q", d.View, it.Name)
			}
			if k, ok := want[it.Name]; !ok || k != it.Kind {
				t.Errorf("%q: unexpected item %q (kind %d)", d.View, it.Name, it.Kind)
			}
			got, err := tree.Resolve(d, it.Name)
			// A record reads its symlinks' targets, which sets their
			// atime (relatime): the listing saw the one before.
			got.Attr.Atime = it.Attr.Atime
			if err != nil || got.Attr != it.Attr || got.Kind != it.Kind || string(got.Data) != string(it.Data) || string(got.Record) != string(it.Record) {
				t.Errorf("%q: Resolve(%q) = %+v, %v; listed %+v", d.View, it.Name, got.Attr, err, it.Attr)
			}
			a, err := tree.Stat(d.Child(it))
			a.Atime = it.Attr.Atime
			if err != nil || a != it.Attr {
				t.Errorf("%q: Stat(%q) = %+v, %v; listed %+v", d.View, it.Name, a, err, it.Attr)
			}
		}
		return items
	}
	dView := viewPath(tree, "d")
	items := check(Dir{}, map[string]ItemKind{
		viewPath(tree, "f"): ItemEntry, viewPath(tree, "l"): ItemEntry, dView: ItemEntry, naming.ConfigName: ItemConfig,
		naming.RecordName: ItemRecord,
	})
	for _, it := range items {
		switch it.Name {
		case viewPath(tree, "f"):
			if it.Attr.Size != content.CipherSize(12, tree.BlockSize()) || it.Attr.Nlink != 1 || it.Entry.Rel != "f" {
				t.Errorf("file attributes %+v", it.Attr)
			}
		case dView:
			if it.Attr.Nlink != 2 || it.Attr.Type() != unix.S_IFDIR {
				t.Errorf("directory attributes %+v", it.Attr)
			}
		case naming.ConfigName:
			if it.Attr.Mode != unix.S_IFREG|0o400 || it.Attr.Mtime != cfgSt.Mtim || it.Attr.Atime != cfgSt.Mtim || it.Attr.Ctime != cfgSt.Mtim || string(it.Data) != "# test config\n" {
				t.Errorf("efs.toml attributes %+v", it.Attr)
			}
		}
	}
	d := Dir{Rel: "d", View: dView}
	e := tree.namer.Entry("d", long)
	items = check(d, map[string]ItemKind{e.Name: ItemEntry, e.Companion(): ItemCompanion, naming.RecordName: ItemRecord})
	comp := items[slices.IndexFunc(items, func(it Item) bool { return it.Kind == ItemCompanion })]
	if string(comp.Data) != e.Full || comp.Attr.Mode != unix.S_IFREG|0o444 || comp.Attr.Mtime != cfgSt.Mtim || comp.Attr.Uid != cfgSt.Uid || comp.Entry.Rel != "d/"+long {
		t.Errorf("companion %+v", comp)
	}
	if comp.Attr.Ino != tree.virtualIno(inoKindCompanion, dView+"/"+e.Companion()) {
		t.Error("companion inode number is not keyed on its view path")
	}

	// Names the view does not have.
	for _, c := range []struct {
		d    Dir
		name string
	}{
		{Dir{}, "fifo"}, {Dir{}, viewPath(tree, "fifo")}, {Dir{}, ".efs.toml"}, {Dir{}, viewPath(tree, ".efs.toml")},
		{d, naming.ConfigName}, {Dir{}, tree.namer.LongName(e.Full)}, {Dir{}, e.Companion()}, {d, e.Full},
	} {
		if _, err := tree.Resolve(c.d, c.name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Resolve(%q, %q) = %v, want ErrNotFound", c.d.View, c.name, err)
		}
	}

	// A replaced entry is stale for its old Ref; a removed one is gone.
	f, _ := tree.Resolve(Dir{}, viewPath(tree, "f"))
	ref := Dir{}.Child(&f)
	rvWrite(t, filepath.Join(plain, "f.new"), nil)
	if err := os.Rename(filepath.Join(plain, "f.new"), filepath.Join(plain, "f")); err != nil {
		t.Fatal(err)
	}
	if _, err := tree.Stat(ref); !errors.Is(err, ErrStale) {
		t.Errorf("Stat of a replaced file: %v, want ErrStale", err)
	}
	os.Remove(filepath.Join(plain, "f"))
	if _, err := tree.Stat(ref); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("Stat of a removed file: %v, want ENOENT", err)
	}
	cref := d.Child(&comp)
	if err := os.Remove(filepath.Join(plain, "d", long)); err != nil {
		t.Fatal(err)
	}
	if _, err := tree.Stat(cref); err == nil {
		t.Error("companion of a removed long name still stats")
	}
}

// TestModelConfigFollowsFile: efs.toml shows the config file as it is now,
// but only a valid config with the view's settings; while the config is
// missing from the tree, the whole view is unavailable (a tree being
// emptied or recreated must not reach the backup), and shows again once
// it is back.
func TestModelConfigFollowsFile(t *testing.T) {
	plain := t.TempDir()
	cfgPath := filepath.Join(plain, config.FileName)
	kdf := config.KDF{Salt: bytes.Repeat([]byte{7}, 16), Time: 1, MemoryKiB: 1024, Threads: 1}
	first, mk, err := config.Create([]byte(rvPassword), config.Defaults(), kdf, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer mk.Wipe()
	if err := first.WriteNew(cfgPath); err != nil {
		t.Fatal(err)
	}
	tree, _, logs := rvTree(t, plain, Options{})
	replace := func(c *config.Config) []byte {
		t.Helper()
		if err := c.Replace(cfgPath); err != nil {
			t.Fatal(err)
		}
		return c.Marshal()
	}
	create := func(s config.Settings) *config.Config {
		t.Helper()
		c, mk, err := config.Create([]byte(rvPassword), s, kdf, "test")
		if err != nil {
			t.Fatal(err)
		}
		mk.Wipe()
		return c
	}
	shows := func() []byte {
		t.Helper()
		it, err := tree.Resolve(Dir{}, naming.ConfigName)
		if err != nil {
			t.Fatal(err)
		}
		return it.Data
	}
	other := config.Defaults()
	other.NameMax = 143
	replace(create(other))
	if !bytes.Equal(shows(), first.Marshal()) {
		t.Error("a config with other settings is shown")
	}
	// efs init run again: the same settings, another master key.
	replace(create(config.Defaults()))
	if !bytes.Equal(shows(), first.Marshal()) {
		t.Error("a config for another master key is shown")
	}
	if !strings.Contains(logs.String(), "another master key") {
		t.Errorf("no log line for the config of another key:\n%s", logs)
	}
	// efs passwd: the same key, wrapped anew.
	c, err := config.Parse(first.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ChangePassword(mk, []byte("new")); err != nil {
		t.Fatal(err)
	}
	good := replace(c)
	if !bytes.Equal(shows(), good) {
		t.Error("the replaced config is not shown")
	}
	if err := os.Rename(cfgPath, cfgPath+".away"); err != nil {
		t.Fatal(err)
	}
	if _, err := tree.Resolve(Dir{}, naming.ConfigName); !errors.Is(err, ErrUnavailable) {
		t.Errorf("efs.toml without a config in the tree: %v, want ErrUnavailable", err)
	}
	if _, err := tree.List(Dir{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("List without a config in the tree: %v, want ErrUnavailable", err)
	}
	if err := os.Rename(cfgPath+".away", cfgPath); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shows(), good) {
		t.Error("the config back in the tree is not shown")
	}
}

// BenchmarkList lists a directory of 5000 small files, as OPENDIR does
// for `ls -l` and rsync (entries, their attributes and the record).
func BenchmarkList(b *testing.B) {
	plain := b.TempDir()
	for i := range 5000 {
		if err := os.WriteFile(filepath.Join(plain, fmt.Sprintf("entry-%07d.txt", i)), []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	tree, _ := exTree(b, plain, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tree.List(Dir{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSortItems checks the index sorts against a plain sort: listings in
// order, out of order, and with the extra items anywhere.
func TestSortItems(t *testing.T) {
	names := []string{"m", "b", "efs.dir", "z", "a", "efs.toml", "c", "efs.l.x", "efs.l.x.name"}
	for _, n := range []int{0, 1, 2, 5, len(names)} {
		for _, presorted := range []bool{true, false} {
			var items, extra []Item
			var entries []Entry
			for _, name := range names[:n] {
				items = append(items, Item{Name: name})
				entries = append(entries, Entry{Entry: naming.Entry{Name: name}})
			}
			if presorted {
				slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.Name, b.Name) })
				slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
			}
			extra = []Item{{Name: "efs.toml"}, {Name: "efs.dir"}}
			want := slices.Sorted(slices.Values(append(slices.Clone(names[:n]), "efs.toml", "efs.dir")))
			var got []string
			for _, it := range sortItems(items, extra) {
				got = append(got, it.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("n=%d presorted=%v: sortItems gives %q, want %q", n, presorted, got, want)
			}
			got = got[:0]
			for _, e := range sortByName(entries) {
				got = append(got, e.Name)
			}
			if want := slices.Sorted(slices.Values(slices.Clone(names[:n]))); !slices.Equal(got, want) {
				t.Errorf("n=%d presorted=%v: sortByName gives %q, want %q", n, presorted, got, want)
			}
		}
	}
}

// TestListSpread: a directory large enough for spread lists the same
// items, with the same record, on all cores as on one.
func TestListSpread(t *testing.T) {
	plain := t.TempDir()
	for i := range 3 * minSpread {
		p := filepath.Join(plain, fmt.Sprintf("entry-%05d", i))
		switch i % 7 {
		case 0:
			if err := os.Symlink(fmt.Sprintf("target-%d", i), p); err != nil {
				t.Fatal(err)
			}
		case 1:
			if err := os.Mkdir(p, 0o750); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, bytes.Repeat([]byte{byte(i)}, i%100), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if i%5 == 0 && i%7 != 0 {
			if err := unix.Setxattr(p, "user.n", []byte(fmt.Sprint(i)), 0); err != nil && !errors.Is(err, unix.ENOTSUP) {
				t.Fatal(err)
			}
		}
	}
	if err := os.Link(filepath.Join(plain, "entry-00002"), filepath.Join(plain, "hardlink")); err != nil {
		t.Fatal(err)
	}
	tree, _ := exTree(t, plain, nil)
	list := func(procs int) []Item {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		items, err := tree.List(Dir{})
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	list(1) // reading the symlinks sets their atimes once (relatime)
	one, all := list(1), list(4)
	if len(one) < 3*minSpread {
		t.Fatalf("listed %d items", len(one))
	}
	if len(one) != len(all) {
		t.Fatalf("%d items on one core, %d on all", len(one), len(all))
	}
	for i := range one {
		a, b := one[i], all[i]
		if a.Name != b.Name || a.Attr != b.Attr || a.Kind != b.Kind || !bytes.Equal(a.Record, b.Record) || (a.Err == nil) != (b.Err == nil) {
			t.Fatalf("item %d: %q %+v on one core, %q %+v on all", i, a.Name, a.Attr, b.Name, b.Attr)
		}
		if a.Kind == ItemRecord && len(a.Record) == 0 {
			t.Fatal("no record")
		}
	}
}
