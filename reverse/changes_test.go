//go:build linux

package reverse

// Tests of the view while the plaintext tree changes under it (issue 9,
// "Never lose a backup"): files swapped for FIFOs, edited in place, grown
// while read, the root directory recreated.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/internal/testenv"
	"github.com/efs-project/efs/keys"
	"github.com/efs-project/efs/naming"
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

// tmpfsDir mounts a small tmpfs (which takes file sizes up to 2^63-1) and
// returns it; it needs root.
func tmpfsDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		testenv.SkipOrFail(t, "cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// TestTooLarge: a sparse plaintext file larger than content.MaxPlainSize
// overflowed the size mapping (a negative size, then EIO and ????????? in
// ls). It is left out of the view with one log line by view path, and
// export reports it as failed; a file of exactly MaxPlainSize is shown.
func TestTooLarge(t *testing.T) {
	t.Run("model", func(t *testing.T) {
		tree, _, _ := rvTree(t, t.TempDir(), Options{})
		max := content.MaxPlainSize(tree.BlockSize())
		for size, want := range map[int64]error{0: nil, max: nil, max + 1: ErrTooLarge, 1<<63 - 1: ErrTooLarge} {
			st := unix.Stat_t{Mode: unix.S_IFREG | 0o644, Size: size}
			if err := tree.tooLarge(&st); err != want {
				t.Errorf("file of %d bytes: %v, want %v", size, err, want)
			}
			if st.Mode = unix.S_IFDIR | 0o755; tree.tooLarge(&st) != nil {
				t.Errorf("directory of size %d is too large", size)
			}
		}
	})
	plain := tmpfsDir(t)
	tree, _, logs := rvTree(t, plain, Options{})
	max := content.MaxPlainSize(tree.BlockSize())
	for name, size := range map[string]int64{"huge": max + 1, "edge": max, "small": 5} {
		rvWrite(t, filepath.Join(plain, name), nil)
		if err := os.Truncate(filepath.Join(plain, name), size); err != nil {
			testenv.SkipOrFail(t, "this tmpfs takes no file of %d bytes: %v", size, err)
		}
	}
	huge, edge := viewPath(tree, "huge"), viewPath(tree, "edge")

	items, err := tree.List(Dir{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		switch it.Name {
		case huge:
			if !errors.Is(it.Err, ErrTooLarge) {
				// Fatal: the rest would try to encrypt exabytes.
				t.Fatalf("List: huge file has Err %v, want ErrTooLarge", it.Err)
			}
		case edge:
			if it.Err != nil || it.Attr.Size != content.CipherSize(max, tree.BlockSize()) || it.Attr.Size < 0 {
				t.Errorf("List: file of MaxPlainSize: size %d, %v", it.Attr.Size, it.Err)
			}
		}
	}
	if _, err := tree.Resolve(Dir{}, huge); !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrTooLarge) {
		t.Errorf("Resolve of the huge file: %v, want ErrNotFound and ErrTooLarge", err)
	}

	mnt := rvMount(t, tree)
	names := rvDirents(t, mnt)
	if _, ok := names[huge]; ok {
		t.Error("the huge file is listed")
	}
	for name := range names { // what ls -l does: no ?????????
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(mnt, name), &st); err != nil || st.Size < 0 {
			t.Errorf("stat %s: size %d, %v", name, st.Size, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(mnt, huge)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lookup of the huge file: %v, want ENOENT", err)
	}
	rvDirents(t, mnt) // a second listing logs nothing new
	if n := strings.Count(logs.String(), "leaves out"); n != 1 || !strings.Contains(logs.String(), huge) {
		t.Errorf("want one log line naming the view path, got %d:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), "huge") {
		t.Errorf("the log names the plaintext:\n%s", logs)
	}

	// Export, without the edge file (exabytes of ciphertext to write).
	if err := os.Remove(filepath.Join(plain, "edge")); err != nil {
		t.Fatal(err)
	}
	dest := exDest(t)
	rep, err := Export(context.Background(), tree, dest, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 1 || rep.Failures[0].Stored != "/"+huge || !errors.Is(rep.Failures[0].Err, ErrTooLarge) {
		t.Errorf("export failures %v, want the huge file", rep.Failures)
	}
	if _, err := os.Lstat(filepath.Join(dest, huge)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("export wrote the huge file: %v", err)
	}
}

// TestPathTooLong: encrypted names are longer than plaintext names, so a
// deep plaintext path can give a view path over PATH_MAX, which sync
// tools cannot open ("File name too long"). Such an entry is left out of
// the view with a log line (a prefix of its view path), and export
// reports it as failed.
func TestPathTooLong(t *testing.T) {
	plain := t.TempDir()
	tree, _, logs := rvTree(t, plain, Options{})
	const marker = "QZXJ"
	long := marker + strings.Repeat("x", 116) // a 120-byte name: 218 bytes in the view
	// Directories of long names down to where one more would not fit
	// (with its record).
	const record = len("/" + naming.RecordName)
	rel, view := "", ""
	for {
		e := tree.namer.Entry(rel, long)
		if len(view)+1+len(e.Name)+record > MaxViewPath {
			break
		}
		rel, view = join(rel, long), join(view, e.Name)
	}
	rvWrite(t, filepath.Join(plain, rel, long, "below"), []byte("unreachable"))
	rvWrite(t, filepath.Join(plain, rel, "f"), []byte("fits"))
	tooLong := join(view, tree.namer.Entry(rel, long).Name)
	fits := join(view, tree.namer.Entry(rel, "f").Name)
	if len(fits) > MaxViewPath || len(tooLong)+record <= MaxViewPath {
		t.Fatalf("test tree: view paths of %d and %d bytes", len(fits), len(tooLong))
	}

	d := Dir{Rel: rel, View: view}
	items, err := tree.List(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("List: %d items, want 3 (with the record)", len(items))
	}
	for _, it := range items {
		var want error
		if join(view, it.Name) == tooLong {
			want = ErrPathTooLong
		}
		if it.Err != want {
			t.Errorf("List: %d-byte view path has Err %v, want %v", len(join(view, it.Name)), it.Err, want)
		}
	}
	if _, err := tree.Resolve(d, filepath.Base(tooLong)); !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrPathTooLong) {
		t.Errorf("Resolve of the entry: %v, want ErrNotFound and ErrPathTooLong", err)
	}

	mnt := rvMount(t, tree)
	names := rvDirents(t, filepath.Join(mnt, view))
	if _, ok := names[filepath.Base(fits)]; !ok || len(names) != 2 {
		t.Errorf("the deep directory lists %d entries, want the one that fits and the record", len(names))
	}
	if !strings.Contains(logs.String(), "leaves out") || !strings.Contains(logs.String(), "bytes="+strconv.Itoa(len(tooLong))) {
		t.Errorf("no log line for the entry left out:\n%s", logs)
	}
	if strings.Contains(logs.String(), marker) || strings.Contains(logs.String(), tooLong) {
		t.Errorf("the log carries a plaintext name or the whole view path:\n%s", logs)
	}

	rep, err := Export(context.Background(), tree, exDest(t), ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 1 || rep.Failures[0].Stored != "/"+tooLong || !errors.Is(rep.Failures[0].Err, ErrPathTooLong) {
		t.Errorf("export failures %v, want the entry whose path is too long", rep.Failures)
	}
}

// TestPathTooLongCompanion: a long name whose stand-in fits but whose
// companion does not is left out with it, or a restore could not give it
// back its name.
func TestPathTooLongCompanion(t *testing.T) {
	tree, _, _ := rvTree(t, t.TempDir(), Options{})
	e := Entry{Plain: strings.Repeat("n", 200), Rel: strings.Repeat("n", 200), Entry: tree.namer.Entry("", strings.Repeat("n", 200))}
	e.Stat.Mode = unix.S_IFREG | 0o644
	if !e.Long() {
		t.Fatal("not a long name")
	}
	for _, c := range []struct {
		viewLen int
		want    error
	}{
		{MaxViewPath - 1 - len(e.Companion()), nil},
		{MaxViewPath - len(e.Companion()), ErrPathTooLong},
		{MaxViewPath - 1 - len(e.Name), ErrPathTooLong},
		{MaxViewPath - len(e.Name), ErrPathTooLong},
	} {
		it, comp := tree.entryItems(Dir{View: strings.Repeat("v", c.viewLen)}, &e, nil)
		if it.Err != c.want || comp.Err != c.want {
			t.Errorf("directory view path of %d bytes: entry %v, companion %v, want %v", c.viewLen, it.Err, comp.Err, c.want)
		}
	}
}

// names lists the view names of directory d.
func names(t *testing.T, tree *Tree, d Dir) []string {
	t.Helper()
	items, err := tree.List(d)
	if err != nil {
		t.Fatalf("List(%q): %v", d.View, err)
	}
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

// TestModelFollowsRoot: the view kept its fd on the directory it was
// opened on. After `rm -rf plain; cp -a src plain` it showed the deleted,
// empty directory (and rsync --delete emptied the backup); after `mv plain
// old; mkdir plain` it went on showing old. It follows the path: errors
// while the path is missing or has no fitting config, the new directory
// once it has one.
func TestModelFollowsRoot(t *testing.T) {
	parent := t.TempDir()
	plain := filepath.Join(parent, "plain")
	rvWrite(t, filepath.Join(plain, "a"), []byte("a"))
	rvWrite(t, filepath.Join(plain, "sub", "b"), []byte("b"))
	tree, _ := exTree(t, plain, nil)
	src := filepath.Join(parent, "src")
	if out, err := exec.Command("cp", "-a", plain, src).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	root, err := tree.Root()
	if err != nil {
		t.Fatal(err)
	}
	before := names(t, tree, Dir{})
	a, err := tree.Resolve(Dir{}, viewPath(tree, "a"))
	if err != nil {
		t.Fatal(err)
	}
	unavailable := func(when string) {
		t.Helper()
		if _, err := tree.List(Dir{}); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: List of the root: %v, want ErrUnavailable", when, err)
		}
		if _, err := tree.Resolve(Dir{}, viewPath(tree, "a")); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Resolve: %v, want ErrUnavailable", when, err)
		}
		if _, err := tree.Resolve(Dir{}, naming.ConfigName); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Resolve of efs.toml: %v, want ErrUnavailable", when, err)
		}
		if _, err := tree.Root(); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Root: %v, want ErrUnavailable", when, err)
		}
	}

	// Held open, the old a keeps its inode number: the file system cannot
	// hand it to the new a, which would then be the same file to Stat.
	held, err := os.Open(filepath.Join(plain, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := os.RemoveAll(plain); err != nil {
		t.Fatal(err)
	}
	unavailable("root removed")
	if err := os.Mkdir(plain, 0o755); err != nil {
		t.Fatal(err)
	}
	unavailable("root recreated, empty")
	rvWrite(t, filepath.Join(plain, "a"), []byte("a"))
	unavailable("root recreated, no config yet")
	if out, err := exec.Command("cp", "-a", src+"/.", plain).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	if got := names(t, tree, Dir{}); !slices.Equal(got, before) {
		t.Errorf("the recreated root lists %v, want %v", got, before)
	}
	if got := names(t, tree, Dir{Rel: "sub", View: viewPath(tree, "sub")}); len(got) != 2 || !slices.Contains(got, filepath.Base(viewPath(tree, "sub/b"))) || !slices.Contains(got, naming.RecordName) {
		t.Errorf("the recreated root's subdirectory lists %v", got)
	}
	if _, err := tree.Stat(Dir{}.Child(&a)); !errors.Is(err, ErrStale) {
		t.Errorf("Stat of a file of the old root: %v, want ErrStale", err)
	}
	if r, err := tree.Root(); err != nil || r.Attr.Ino != root.Attr.Ino {
		t.Errorf("the root's inode number changed with the directory: %v", err)
	}

	// mv plain old; mkdir plain: the view leaves old, and shows the new
	// directory once it has a config that fits.
	if err := os.Rename(plain, filepath.Join(parent, "old")); err != nil {
		t.Fatal(err)
	}
	rvWrite(t, filepath.Join(plain, "new"), nil)
	unavailable("root renamed away")
	kdf := config.KDF{Salt: bytes.Repeat([]byte{7}, 16), Time: 1, MemoryKiB: 1024, Threads: 1}
	other := config.Defaults()
	other.BlockSize = 8192
	c, mk, err := config.Create([]byte("pw"), other, kdf, "test")
	if err != nil {
		t.Fatal(err)
	}
	mk.Wipe()
	if err := c.WriteNew(filepath.Join(plain, config.FileName)); err != nil {
		t.Fatal(err)
	}
	unavailable("new root with a config of other settings")
	c, mk, err = config.Create([]byte("pw"), config.Defaults(), kdf, "test")
	if err != nil {
		t.Fatal(err)
	}
	mk.Wipe()
	if err := c.Replace(filepath.Join(plain, config.FileName)); err != nil {
		t.Fatal(err)
	}
	unavailable("new root with a config for another key (efs init again)")
	cfg, err := os.ReadFile(filepath.Join(parent, "old", config.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plain, config.FileName), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := names(t, tree, Dir{}); len(got) != 3 || !slices.Contains(got, viewPath(tree, "new")) || !slices.Contains(got, naming.ConfigName) {
		t.Errorf("the new root lists %v, want its file, efs.toml and efs.dir", got)
	}
}

// TestModelFollowsRootConfigOutside: with the config outside the tree
// (--config), a recreated root needs none of its own.
func TestModelFollowsRootConfigOutside(t *testing.T) {
	parent := t.TempDir()
	plain := filepath.Join(parent, "plain")
	rvWrite(t, filepath.Join(plain, "a"), nil)
	tree, _ := exTree(t, plain, nil)
	cfg := filepath.Join(parent, "cfg.toml")
	if err := os.Rename(filepath.Join(plain, config.FileName), cfg); err != nil {
		t.Fatal(err)
	}
	tree2, err := New(plain, tree.keys, Options{Settings: tree.settings, ConfigPath: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer tree2.Close()
	if err := os.RemoveAll(plain); err != nil {
		t.Fatal(err)
	}
	if _, err := tree2.List(Dir{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("List of a removed root: %v, want ErrUnavailable", err)
	}
	rvWrite(t, filepath.Join(plain, "b"), nil)
	if got := names(t, tree2, Dir{}); len(got) != 3 || !slices.Contains(got, viewPath(tree2, "b")) {
		t.Errorf("the recreated root lists %v, want its file, efs.toml and efs.dir", got)
	}
}

// decrypt decrypts a view file's bytes for plaintext path rel.
func decrypt(keys *keys.Keys, rel string, ct []byte) ([]byte, error) {
	if len(ct) < content.HeaderSize {
		return nil, errors.New("shorter than a header")
	}
	h, err := content.ParseHeader(ct[:content.HeaderSize])
	if err != nil {
		return nil, err
	}
	f, err := content.NewFile(keys.Content(), h, rel)
	if err != nil {
		return nil, err
	}
	plainSize, err := content.PlainSize(int64(len(ct)), h.BlockSize())
	if err != nil {
		return nil, err
	}
	out := make([]byte, plainSize)
	n, err := f.DecryptAt(out, 0, int64(len(ct)), bytes.NewReader(ct))
	if err != nil && err != io.EOF {
		return nil, err
	}
	return out[:n], nil
}

// TestFUSEGrowingFile: a file that grew while a sync tool read it was
// copied torn: the kernel had the size of an earlier lookup and read that
// many bytes of a ciphertext laid out for the larger size, which does not
// authenticate. While a writer appends, every copy that two concurrent
// readers take (stat, then read to EOF) must be one complete version of
// the file, as it was at some moment.
func TestFUSEGrowingFile(t *testing.T) {
	t.Run("unpadded", func(t *testing.T) { fuseGrowingFile(t, config.Defaults()) })
	padded := config.Defaults()
	padded.Flags |= config.FlagPadme
	t.Run("padded", func(t *testing.T) { fuseGrowingFile(t, padded) })
}

func fuseGrowingFile(t *testing.T, s config.Settings) {
	plain := t.TempDir()
	p := filepath.Join(plain, "f")
	const readers, copies = 2, 40
	const start, step, steps = 100_000, 3001, 8 // steps appended per copy
	all := make([]byte, start+readers*copies*steps*step)
	rand.Read(all)
	rvWrite(t, p, all[:start])
	tree, keys, _ := rvTree(t, plain, Options{Settings: s})
	mnt := rvMount(t, tree)
	vf := filepath.Join(mnt, viewPath(tree, "f"))

	// Each copy kicks the writer, which appends while the copy runs; the
	// file so grows by a bounded amount, whatever the machine's speed.
	app := e2e.StartAppender(p, all, start, step, steps, readers)
	var torn, failed atomic.Int32
	var wg sync.WaitGroup
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < copies; i++ {
				app.Kick()
				if _, err := os.Stat(vf); err != nil {
					failed.Add(1)
					continue
				}
				ct, err := os.ReadFile(vf)
				if err != nil {
					failed.Add(1)
					continue
				}
				got, err := decrypt(keys, "f", ct)
				if err != nil || len(got) < start || !bytes.Equal(got, all[:len(got)]) {
					torn.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if err := app.Stop(); err != nil {
		t.Fatal(err)
	}
	if torn.Load() != 0 || failed.Load() != 0 {
		t.Errorf("of %d copies of a growing file, %d were torn and %d failed", readers*copies, torn.Load(), failed.Load())
	}
}

// TestFUSEFollowsRoot: the mounted view answers EIO while its root's path
// is missing, never an empty directory, and shows the directory recreated
// there; the root's inode number does not change. Readers list the view
// all along (run with -race).
func TestFUSEFollowsRoot(t *testing.T) {
	parent := t.TempDir()
	plain := filepath.Join(parent, "plain")
	rvWrite(t, filepath.Join(plain, "a"), []byte("a"))
	tree, _ := exTree(t, plain, nil)
	src := filepath.Join(parent, "src")
	if out, err := exec.Command("cp", "-a", plain, src).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	mnt := rvMount(t, tree)
	var before unix.Stat_t
	if err := unix.Stat(mnt, &before); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var empty atomic.Int32
	var wg sync.WaitGroup
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if ents, err := os.ReadDir(mnt); err == nil && len(ents) == 0 {
					empty.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		if err := os.RemoveAll(plain); err != nil {
			t.Fatal(err)
		}
		if _, err := os.ReadDir(mnt); !errors.Is(err, syscall.EIO) {
			t.Errorf("listing the view of a removed root: %v, want EIO", err)
		}
		if out, err := exec.Command("cp", "-a", src, plain).CombinedOutput(); err != nil {
			t.Fatalf("cp -a: %v\n%s", err, out)
		}
		ents, err := os.ReadDir(mnt)
		if err != nil || len(ents) != 3 {
			t.Errorf("listing the view of the recreated root: %d entries, %v", len(ents), err)
		}
	}
	close(stop)
	wg.Wait()
	if empty.Load() != 0 {
		t.Errorf("the view listed an empty root %d times", empty.Load())
	}
	var after unix.Stat_t
	if err := unix.Stat(mnt, &after); err != nil || after.Ino != before.Ino {
		t.Errorf("the view root's inode number changed from %d to %d (%v)", before.Ino, after.Ino, err)
	}
}
