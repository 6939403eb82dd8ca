//go:build linux

package reverse

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/fusemount"
	"github.com/efs-project/efs/internal/testenv"
	"github.com/efs-project/efs/keys"
	"github.com/efs-project/efs/naming"
)

// These tests mount the view in-process with go-fuse, so `go test -race`
// covers the FUSE code paths. The end-to-end tests in test/ drive the
// real binary.

const rvMasterKey = "00010203-04050607-08090a0b-0c0d0e0f-10111213-14151617-18191a1b-1c1d1e1f"

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rvPassword opens the configs tests make with config.Create.
const rvPassword = "pw"

// rvTree opens a Tree over plain with a logger writing into the returned
// buffer: with the keys of the config in plain if it has a real one (made
// with rvPassword), else with a fixed key and a fake config file.
func rvTree(t testing.TB, plain string, opts Options) (*Tree, *keys.Keys, *syncBuffer) {
	t.Helper()
	cfg := filepath.Join(plain, config.FileName)
	var mk *keys.MasterKey
	var err error
	if c, lerr := config.Load(cfg); lerr == nil {
		mk, err = c.Unlock([]byte(rvPassword))
	} else {
		mk, err = keys.ParseMasterKey(rvMasterKey)
	}
	if err != nil {
		t.Fatal(err)
	}
	keys, err := mk.Derive()
	mk.Wipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(keys.Wipe)
	if _, err := os.Stat(cfg); err != nil {
		if err := os.WriteFile(cfg, []byte("# test config\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logs := &syncBuffer{}
	if opts.Settings == (config.Settings{}) {
		opts.Settings = config.Defaults()
	}
	opts.ConfigPath = cfg
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	tree, err := New(plain, keys, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	return tree, keys, logs
}

// viewPath is the view path of plaintext path rel.
func viewPath(tree *Tree, rel string) string {
	v, _ := tree.namer.EncryptPath(rel)
	return v
}

// rvMount mounts the view of tree in-process and unmounts it at cleanup.
func rvMount(t testing.TB, tree *Tree) string {
	t.Helper()
	return rvMountAt(t, tree, t.TempDir())
}

// rvMountAt mounts the view of tree at mnt, as Mount does.
func rvMountAt(t testing.TB, tree *Tree, mnt string) string {
	t.Helper()
	testenv.RequireFUSE(t)
	server, err := Mount(tree, mnt, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 50; i++ {
			if server.Unmount() == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("cannot unmount %s", mnt)
	})
	return mnt
}

func rvWrite(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rvDirents lists dir with getdents64 and returns name → d_ino.
func rvDirents(t testing.TB, dir string) map[string]uint64 {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	out := make(map[string]uint64)
	buf := make([]byte, 8192)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return out
		}
		for b := buf[:n]; len(b) > 0; {
			ino := binary.LittleEndian.Uint64(b[0:8])
			reclen := binary.LittleEndian.Uint16(b[16:18])
			name := b[19:reclen]
			name = name[:bytes.IndexByte(name, 0)]
			if s := string(name); s != "." && s != ".." {
				out[s] = ino
			}
			b = b[reclen:]
		}
	}
}

// rvDecrypt decrypts a view file's bytes for plaintext path rel, failing
// the test on any error.
func rvDecrypt(t testing.TB, keys *keys.Keys, rel string, ct []byte) []byte {
	t.Helper()
	out, err := decrypt(keys, rel, ct)
	if err != nil {
		t.Fatalf("decrypting %s: %v", rel, err)
	}
	return out
}

func TestFUSEView(t *testing.T) {
	plain := t.TempDir()
	big := make([]byte, 3<<20+123)
	rand.Read(big)
	files := map[string][]byte{
		"empty":                               nil,
		"small.txt":                           []byte("very secret words"),
		"dir/big.bin":                         big,
		"dir/sub/" + strings.Repeat("n", 200): []byte("long name"),
	}
	for rel, data := range files {
		rvWrite(t, filepath.Join(plain, rel), data)
	}
	if err := os.Symlink("small.txt", filepath.Join(plain, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(plain, "small.txt"), filepath.Join(plain, "dir", "hardlink")); err != nil {
		t.Fatal(err)
	}
	files["dir/hardlink"] = files["small.txt"]
	if err := syscall.Mkfifo(filepath.Join(plain, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree, keys, logs := rvTree(t, plain, Options{})
	mnt := rvMount(t, tree)

	// Every file reads back, decrypts to its plaintext, and has the size
	// the size mapping predicts; every name is the Tree's view name.
	for rel, data := range files {
		vp := filepath.Join(mnt, viewPath(tree, rel))
		ct, err := os.ReadFile(vp)
		if err != nil {
			t.Fatalf("reading view of %s: %v", rel, err)
		}
		if want := content.CipherSize(int64(len(data)), tree.BlockSize()); int64(len(ct)) != want {
			t.Errorf("%s: %d ciphertext bytes, want %d", rel, len(ct), want)
		}
		if got := rvDecrypt(t, keys, rel, ct); !bytes.Equal(got, data) {
			t.Errorf("%s: view does not decrypt to the plaintext", rel)
		}
		if len(data) > 8 && bytes.Contains(ct, data[:8]) {
			t.Errorf("%s: plaintext visible in the view", rel)
		}
		st, err := os.Lstat(vp)
		if err != nil {
			t.Fatal(err)
		}
		if st.Sys().(*syscall.Stat_t).Nlink != 1 {
			t.Errorf("%s: nlink %d, want 1", rel, st.Sys().(*syscall.Stat_t).Nlink)
		}
	}
	a, _ := os.ReadFile(filepath.Join(mnt, viewPath(tree, "small.txt")))
	b, _ := os.ReadFile(filepath.Join(mnt, viewPath(tree, "dir/hardlink")))
	if bytes.Equal(a, b) {
		t.Error("hard links have the same ciphertext")
	}

	// Random-access reads match the whole-file read.
	whole, _ := os.ReadFile(filepath.Join(mnt, viewPath(tree, "dir/big.bin")))
	f, err := os.Open(filepath.Join(mnt, viewPath(tree, "dir/big.bin")))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int{{0, 1}, {17, 4000}, {4096, 70000}, {len(whole) - 100, 100}, {1 << 20, 1 << 20}} {
		buf := make([]byte, r[1])
		if _, err := f.ReadAt(buf, int64(r[0])); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, whole[r[0]:r[0]+r[1]]) {
			t.Errorf("range %v differs from the whole-file read", r)
		}
	}
	f.Close()

	// Root listing: efs.toml, a companion beside the long name's directory
	// entry, no fifo, no .efs.toml; d_ino equals the stat inode.
	root := rvDirents(t, mnt)
	if len(root) != 6 { // empty, small.txt, dir, link, efs.toml, efs.dir
		t.Errorf("root lists %d entries, want 6: %v", len(root), root)
	}
	if _, ok := root["efs.toml"]; !ok {
		t.Error("no efs.toml at the root")
	}
	for _, dir := range []string{mnt, filepath.Join(mnt, viewPath(tree, "dir/sub"))} {
		for name, ino := range rvDirents(t, dir) {
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(dir, name), &st); err != nil {
				t.Fatal(err)
			}
			if st.Ino != ino {
				t.Errorf("%s: d_ino %d, stat inode %d", name, ino, st.Ino)
			}
		}
	}
	sub := rvDirents(t, filepath.Join(mnt, viewPath(tree, "dir/sub")))
	long := filepath.Base(viewPath(tree, "dir/sub/"+strings.Repeat("n", 200)))
	if len(sub) != 3 {
		t.Errorf("dir/sub lists %v, want the long entry, its companion and the record", sub)
	}
	full, err := os.ReadFile(filepath.Join(mnt, viewPath(tree, "dir/sub"), long+".name"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tree.namer.DecryptName("dir/sub", string(full)); err != nil || got != strings.Repeat("n", 200) {
		t.Errorf("companion holds %q (decrypts to %q, %v)", full, got, err)
	}
	cfg, err := os.ReadFile(filepath.Join(mnt, "efs.toml"))
	if err != nil || string(cfg) != "# test config\n" {
		t.Errorf("efs.toml = %q, %v", cfg, err)
	}

	// Symlink target is encrypted and decrypts back.
	target, err := os.Readlink(filepath.Join(mnt, viewPath(tree, "link")))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tree.namer.DecryptTarget("link", target); err != nil || got != "small.txt" {
		t.Errorf("symlink target %q decrypts to %q, %v", target, got, err)
	}

	// Read-only, no xattrs, statfs passes through.
	vsmall := filepath.Join(mnt, viewPath(tree, "small.txt"))
	if _, err := os.OpenFile(vsmall, os.O_WRONLY, 0); !errors.Is(err, syscall.EROFS) {
		t.Errorf("open for writing: %v, want EROFS", err)
	}
	if err := os.Mkdir(filepath.Join(mnt, "x"), 0o755); !errors.Is(err, syscall.EROFS) {
		t.Errorf("mkdir: %v, want EROFS", err)
	}
	if _, err := unix.Getxattr(vsmall, "user.x", make([]byte, 64)); err != unix.EOPNOTSUPP {
		t.Errorf("getxattr: %v, want EOPNOTSUPP (the view has no xattrs)", err)
	}
	if n, err := unix.Listxattr(vsmall, make([]byte, 64)); n != 0 || err != nil {
		t.Errorf("listxattr: %d, %v", n, err)
	}
	var sfs, pfs unix.Statfs_t
	if err := unix.Statfs(mnt, &sfs); err != nil {
		t.Fatal(err)
	}
	unix.Statfs(plain, &pfs)
	if sfs.Blocks != pfs.Blocks {
		t.Errorf("statfs blocks %d, plaintext %d", sfs.Blocks, pfs.Blocks)
	}

	// A file that shrinks under an open view file gives EIO, a log line
	// with the view path, and no plaintext name anywhere in the logs.
	rvWrite(t, filepath.Join(plain, "dir/shrinks.bin"), big) // never read before: no cached pages
	vf, err := os.Open(filepath.Join(mnt, viewPath(tree, "dir/shrinks.bin")))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(plain, "dir/shrinks.bin"), 10); err != nil {
		t.Fatal(err)
	}
	if _, err := vf.ReadAt(make([]byte, 8192), 1<<20); !errors.Is(err, syscall.EIO) {
		t.Errorf("read after the plaintext shrank: %v, want EIO", err)
	}
	vf.Close()
	if !strings.Contains(logs.String(), viewPath(tree, "dir/shrinks.bin")) {
		t.Errorf("no log line names the view path:\n%s", logs)
	}
	for _, p := range []string{"shrinks", "big.bin", "small", "nnnn", "dir/"} {
		if strings.Contains(logs.String(), p) {
			t.Errorf("logs carry plaintext %q:\n%s", p, logs)
		}
	}
	// The mount still answers.
	if _, err := os.ReadFile(vsmall); err != nil {
		t.Errorf("after the failed read: %v", err)
	}
}

// TestFUSERace rewrites and truncates a plaintext file while 8 readers
// read its view; the mount must survive (run with -race).
func TestFUSERace(t *testing.T) {
	plain := t.TempDir()
	data := make([]byte, 1<<20)
	rand.Read(data)
	rvWrite(t, filepath.Join(plain, "f"), data)
	tree, _, _ := rvTree(t, plain, Options{})
	mnt := rvMount(t, tree)
	vp := filepath.Join(mnt, viewPath(tree, "f"))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			n := (i * 7919) % len(data)
			os.WriteFile(filepath.Join(plain, "f"), data[:n], 0o644)
		}
	}()
	var readers sync.WaitGroup
	for r := 0; r < 8; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for i := 0; i < 30; i++ {
				os.ReadFile(vp) // errors are expected; crashes are not
			}
		}()
	}
	readers.Wait()
	close(stop)
	wg.Wait()
	os.WriteFile(filepath.Join(plain, "f"), data, 0o644)
	time.Sleep(1100 * time.Millisecond) // let the attribute cache expire
	ct, err := os.ReadFile(vp)
	if err != nil {
		t.Fatalf("mount does not answer after the race: %v", err)
	}
	if int64(len(ct)) != content.CipherSize(int64(len(data)), tree.BlockSize()) {
		t.Errorf("size %d after the race", len(ct))
	}
}

// TestFUSEOneFileSystem mounts a tmpfs inside the plaintext tree (root
// only) and checks that its contents are hidden, including by lookup.
func TestFUSEOneFileSystem(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "needs root to mount a tmpfs")
	}
	plain := t.TempDir()
	inner := filepath.Join(plain, "other")
	os.Mkdir(inner, 0o755)
	if err := unix.Mount("tmpfs", inner, "tmpfs", 0, "size=1m"); err != nil {
		testenv.SkipOrFail(t, "cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(inner, unix.MNT_DETACH) })
	rvWrite(t, filepath.Join(inner, "hidden"), []byte("x"))
	tree, _, _ := rvTree(t, plain, Options{OneFileSystem: true})
	mnt := rvMount(t, tree)
	vdir := filepath.Join(mnt, viewPath(tree, "other"))
	if st, err := os.Stat(vdir); err != nil || !st.IsDir() {
		t.Fatalf("the mount point directory itself should show: %v", err)
	}
	if got := rvDirents(t, vdir); len(got) != 1 || got[naming.RecordName] == 0 {
		t.Errorf("directory on another file system lists %v, want only its (empty) record", got)
	}
	if _, err := os.Stat(filepath.Join(mnt, viewPath(tree, "other/hidden"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lookup below another file system: %v, want ENOENT", err)
	}
}

// BenchmarkReadAt measures in-process sealing through Tree (no FUSE):
// 1 MiB reads, as the kernel sends them.
func BenchmarkReadAt(b *testing.B) {
	plain := b.TempDir()
	data := make([]byte, 64<<20)
	rand.Read(data)
	rvWrite(b, filepath.Join(plain, "f"), data)
	tree, _, _ := rvTree(b, plain, Options{})
	f, err := tree.Open("f")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	off := int64(0)
	for i := 0; i < b.N; i++ {
		if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
			b.Fatal(err)
		}
		off += int64(len(buf))
		if off >= f.Size() {
			off = 0
		}
	}
}

// BenchmarkFUSERead reads a 64 MiB file through an in-process mount with
// 1 MiB reads, dropping the file's page cache before every pass.
func BenchmarkFUSERead(b *testing.B) {
	plain := b.TempDir()
	data := make([]byte, 64<<20)
	rand.Read(data)
	rvWrite(b, filepath.Join(plain, "f"), data)
	tree, _, _ := rvTree(b, plain, Options{})
	mnt := rvMount(b, tree)
	f, err := os.Open(filepath.Join(mnt, viewPath(tree, "f")))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		for off := int64(0); ; off += int64(len(buf)) {
			if _, err := f.ReadAt(buf, off); err != nil {
				if err == io.EOF {
					break
				}
				b.Fatal(err)
			}
		}
	}
}

// editInPlace overwrites the file p with data of the same size, in place,
// and puts its mtime back, as touch -d or rsync --inplace can: only the
// ctime, which the kernel sets, tells the new version from the old. It
// waits for the ctime to move (the kernel's clock for it ticks coarsely).
func editInPlace(t testing.TB, p string, data []byte) {
	t.Helper()
	var before unix.Stat_t
	if err := unix.Stat(p, &before); err != nil {
		t.Fatal(err)
	}
	if before.Size != int64(len(data)) {
		t.Fatalf("editInPlace: %d bytes for a file of %d", len(data), before.Size)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ts := []unix.Timespec{before.Atim, before.Mtim}
	for {
		if err := unix.UtimesNano(p, ts); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		unix.Stat(p, &st)
		if st.Ctim != before.Ctim {
			return
		}
	}
}

// TestOpenKeepCache checks the open flags without a mount: writes are
// EROFS, and the kernel may keep cached pages only while the plaintext is
// the version of the previous open.
func TestOpenKeepCache(t *testing.T) {
	plain := t.TempDir()
	p := filepath.Join(plain, "f")
	rvWrite(t, p, []byte("one"))
	tree, _, _ := rvTree(t, plain, Options{})
	it, err := tree.Resolve(Dir{}, viewPath(tree, "f"))
	if err != nil {
		t.Fatal(err)
	}
	root := nodeFSRoot(tree, Ref{})
	n := newFileNode(placeOf(&it))
	adopt(root, it.Name, n, &it.Attr)
	open := func() uint32 {
		t.Helper()
		fh, flags, en := n.Open(context.Background(), syscall.O_RDONLY)
		if en != 0 {
			t.Fatalf("open: %v", en)
		}
		fh.(*fileHandle).Release(context.Background())
		return flags & fuse.FOPEN_KEEP_CACHE
	}
	for _, fl := range []uint32{syscall.O_WRONLY, syscall.O_RDWR, syscall.O_RDONLY | syscall.O_TRUNC, syscall.O_RDONLY | syscall.O_APPEND} {
		if _, _, en := n.Open(context.Background(), fl); en != syscall.EROFS {
			t.Errorf("open with flags %#x: %v, want EROFS", fl, en)
		}
	}
	if open() != 0 {
		t.Error("first open keeps the cache")
	}
	if open() == 0 {
		t.Error("unchanged file: second open drops the cache")
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if open() != 0 {
		t.Error("changed mtime: open keeps the cache")
	}
	if err := os.WriteFile(p, []byte("three"), 0o644); err != nil { // same inode, new size
		t.Fatal(err)
	}
	os.Chtimes(p, later, later)
	if open() != 0 {
		t.Error("changed size: open keeps the cache")
	}
	if open() == 0 {
		t.Error("unchanged file: open after the change drops the cache")
	}
	// An in-place edit that keeps size and mtime (touch -d) is another
	// version too: its ctime moved.
	editInPlace(t, p, []byte("THREE"))
	if open() != 0 {
		t.Error("in-place edit with the same size and mtime: open keeps the cache")
	}
	// A file replaced by another (new inode) is stale for this node.
	rvWrite(t, p+".new", []byte("new"))
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
	if _, _, en := n.Open(context.Background(), syscall.O_RDONLY); en != syscall.ESTALE {
		t.Errorf("replaced file: %v, want ESTALE", en)
	}
}

// TestPlaceRef: a node other than a directory keeps no paths and builds
// its Ref from its directory's on each call; that Ref must be the one
// Dir.Child gives, for every kind of item (entries, companions of long
// names, efs.toml, efs.dir), at the root and below it.
func TestPlaceRef(t *testing.T) {
	plain := t.TempDir()
	rvWrite(t, filepath.Join(plain, "a", "b", "file"), []byte("x"))
	rvWrite(t, filepath.Join(plain, "a", strings.Repeat("L", 200)), []byte("long"))
	rvWrite(t, filepath.Join(plain, strings.Repeat("M", 200)), []byte("long"))
	if err := os.Symlink("file", filepath.Join(plain, "a", "b", "link")); err != nil {
		t.Fatal(err)
	}
	tree, _, _ := rvTree(t, plain, Options{})
	rootIt, err := tree.Root()
	if err != nil {
		t.Fatal(err)
	}
	dirs := []*dirNode{nodeFSRoot(tree, Dir{}.Child(&rootIt))}
	kinds := map[ItemKind]int{}
	for len(dirs) > 0 {
		d := dirs[0]
		dirs = dirs[1:]
		items, err := tree.List(d.ref.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for i := range items {
			it := &items[i]
			want := d.ref.Child(it)
			if it.Kind == ItemEntry && it.Attr.Type() == unix.S_IFDIR {
				sub := &dirNode{node: node{v: d.v}, ref: want}
				adopt(d, it.Name, sub, &it.Attr)
				dirs = append(dirs, sub)
				continue
			}
			kinds[it.Kind]++
			l := &linkNode{leaf: leaf{place: placeOf(it)}}
			if _, en := l.leaf.ref(it.Kind, it.Attr.Type()); en != syscall.ESTALE {
				t.Errorf("ref of a node in no directory: %v, want ESTALE", en)
			}
			adopt(d, it.Name, l, &it.Attr)
			if got, en := l.leaf.ref(it.Kind, it.Attr.Type()); en != 0 || got != want {
				t.Errorf("place ref %+v (%v), want %+v", got, en, want)
			}
			if o := placeOf(it); !l.same(&o) {
				t.Errorf("place of %q not the same as itself", it.Name)
			}
		}
	}
	if len(kinds) != 4 {
		t.Errorf("items of kinds %v, want all four", kinds)
	}
}

// TestNodeSize: the kernel may hold a node per file, a million for a
// million files; a fileNode must stay within its 192-byte size class
// (go-fuse's Inode alone is 128 bytes), on 64-bit machines.
func TestNodeSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes differ on 32-bit machines")
	}
	if s := unsafe.Sizeof(fileNode{}); s > 192 {
		t.Errorf("fileNode is %d bytes, more than 192", s)
	}
}

// nodeFSRoot is the root node of a go-fuse tree for t, not mounted: what
// a node other than a directory needs to find its directory and view.
func nodeFSRoot(t *Tree, ref Ref) *dirNode {
	root := &dirNode{node: node{v: &view{tree: t, log: t.log, seed: maphash.MakeSeed()}}, ref: ref}
	fs.NewNodeFS(root, &fs.Options{})
	return root
}

// adopt makes ops the child of d named name, as a lookup would.
func adopt(d *dirNode, name string, ops fs.InodeEmbedder, a *Attr) {
	ch := d.NewPersistentInode(context.Background(), ops, fs.StableAttr{Mode: a.Type(), Ino: a.Ino})
	d.AddChild(name, ch, true)
}

// TestFUSEPrune: a walk of more files than the view keeps leaves the
// kernel knowing about as many as it keeps (the others pruned), and a
// pruned file reads as before, through a fresh lookup.
func TestFUSEPrune(t *testing.T) {
	testenv.RequireFUSE(t)
	plain := t.TempDir()
	const files, keep, batch = 2000, 300, 100
	for i := 0; i < files; i++ {
		rvWrite(t, filepath.Join(plain, fmt.Sprintf("d%d", i%4), fmt.Sprintf("f%04d", i)), []byte(fmt.Sprint(i)))
	}
	tree, _, _ := rvTree(t, plain, Options{})
	fo, ops, err := fsOptions(tree, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	root := ops.(*dirNode)
	root.v.keep, root.v.batch = keep, batch
	mnt := t.TempDir()
	server, err := fusemount.Mount(mnt, root, fo, tree.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Unmount() })
	first := filepath.Join(mnt, viewPath(tree, "d0/f0000"))
	want, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	walked := 0
	err = filepath.WalkDir(mnt, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			walked++
			_, err = os.Lstat(path)
		}
		return err
	})
	if err != nil || walked < files {
		t.Fatalf("walked %d files (%v), want %d or more", walked, err, files)
	}
	// The kernel forgets asynchronously; leaves of the four directories
	// still in the tree are those it knows.
	var known int
	for try := 0; try < 100; try++ {
		known = 0
		for _, d := range root.Children() {
			for _, ch := range d.Children() {
				if ch.Mode() != unix.S_IFDIR {
					known++
				}
			}
		}
		if known <= keep+batch {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if known > keep+batch {
		t.Errorf("the kernel knows %d leaf nodes after a walk of %d files, want at most %d", known, walked, keep+batch)
	}
	if got, err := os.ReadFile(first); err != nil || !bytes.Equal(got, want) {
		t.Errorf("pruned file reads %d bytes (%v), want the %d read before", len(got), err, len(want))
	}
}

// TestFUSELargeDir lists a directory that takes many getdents calls (and
// READDIRPLUS replies) and checks nothing is lost, repeated or
// inconsistent with lookup.
func TestFUSELargeDir(t *testing.T) {
	plain := t.TempDir()
	const n = 3000
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("file-%04d", i)
		if i%500 == 0 {
			name += strings.Repeat("L", 200) // long names with companions
		}
		rvWrite(t, filepath.Join(plain, "d", name), nil)
	}
	tree, _, _ := rvTree(t, plain, Options{})
	mnt := rvMount(t, tree)
	dir := filepath.Join(mnt, viewPath(tree, "d"))
	got := rvDirents(t, dir)
	if len(got) != n+7 { // 6 companions, the record
		t.Fatalf("listed %d entries, want %d", len(got), n+7)
	}
	ents, err := os.ReadDir(dir) // a second, independent listing
	if err != nil || len(ents) != len(got) {
		t.Fatalf("second listing: %d entries, %v", len(ents), err)
	}
	for i, e := range ents {
		if i%97 != 0 {
			continue
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, e.Name()), &st); err != nil {
			t.Fatal(err)
		}
		if st.Ino != got[e.Name()] {
			t.Errorf("%s: d_ino %d, stat %d", e.Name(), got[e.Name()], st.Ino)
		}
	}
}

// TestFUSEConfigChanges: efs passwd while the view is mounted (issue 9)
// replaces the config; the view must serve the new one, or the backup
// keeps a config the new password does not open. A config being written
// in place (not a valid config yet) is never shown.
func TestFUSEConfigChanges(t *testing.T) {
	plain := t.TempDir()
	long := strings.Repeat("n", 200)
	rvWrite(t, filepath.Join(plain, long), nil)
	cfgPath := filepath.Join(plain, config.FileName)
	kdf := config.KDF{Salt: bytes.Repeat([]byte{7}, 16), Time: 1, MemoryKiB: 1024, Threads: 1}
	cfg, mk, err := config.Create([]byte(rvPassword), config.Defaults(), kdf, "test")
	if err != nil {
		t.Fatal(err)
	}
	mk.Wipe()
	if err := cfg.WriteNew(cfgPath); err != nil {
		t.Fatal(err)
	}
	tree, _, logs := rvTree(t, plain, Options{})
	mnt := rvMount(t, tree)
	vcfg := filepath.Join(mnt, naming.ConfigName)
	vcomp := filepath.Join(mnt, viewPath(tree, long)+naming.CompanionSuffix)
	if got, err := os.ReadFile(vcfg); err != nil || !bytes.Equal(got, cfg.Marshal()) {
		t.Fatalf("efs.toml before the change: %v", err)
	}

	// What efs passwd does.
	c, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	mk, err = c.Unlock([]byte(rvPassword))
	if err != nil {
		t.Fatal(err)
	}
	err = c.ChangePassword(mk, []byte("new"))
	mk.Wipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Replace(cfgPath); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(cfgPath)
	var st unix.Stat_t
	unix.Stat(cfgPath, &st)

	var got []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got, err = os.ReadFile(vcfg); err == nil && bytes.Equal(got, want) {
			break
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("efs.toml still shows the old config 5 s after the change (%v)", err)
	}
	if c2, err := config.Parse(got); err != nil {
		t.Fatal(err)
	} else if mk, err := c2.Unlock([]byte("new")); err != nil {
		t.Fatalf("the config the view shows does not open with the new password: %v", err)
	} else {
		mk.Wipe()
	}
	time.Sleep(1100 * time.Millisecond) // let the attribute cache expire
	for _, p := range []string{vcfg, vcomp} {
		var vst unix.Stat_t
		if err := unix.Stat(p, &vst); err != nil {
			t.Fatal(err)
		}
		if vst.Mtim != st.Mtim || vst.Uid != st.Uid {
			t.Errorf("%s: mtime %v, owner %d; the config file now has %v, %d", filepath.Base(p), vst.Mtim, vst.Uid, st.Mtim, st.Uid)
		}
	}
	if vst, err := os.Stat(vcfg); err != nil || vst.Size() != int64(len(want)) {
		t.Errorf("efs.toml size %v, want %d", vst, len(want))
	}

	// A config rewritten in place, caught half written, is not shown.
	if err := os.WriteFile(cfgPath, want[:len(want)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if got, err := os.ReadFile(vcfg); err != nil || !bytes.Equal(got, want) {
		t.Errorf("efs.toml shows a half-written config (%v)", err)
	}
	if !strings.Contains(logs.String(), "efs.toml keeps its earlier version") {
		t.Errorf("no log line about the config that is not shown:\n%s", logs)
	}
	if strings.Contains(logs.String(), plain) {
		t.Errorf("logs carry the plaintext path:\n%s", logs)
	}
}

// TestFUSEMountInsidePlaintext: `efs reverse plain plain/mnt` (issue 9)
// showed the view inside itself, recursively (a 3-file tree became 33,781
// entries). The mountpoint is left out, right below the root and deeper.
func TestFUSEMountInsidePlaintext(t *testing.T) {
	for _, at := range []string{"mnt", "a/b/mnt"} {
		t.Run(strings.ReplaceAll(at, "/", "-"), func(t *testing.T) {
			plain := t.TempDir()
			for _, rel := range []string{"one", "a/two", "a/b/three"} {
				rvWrite(t, filepath.Join(plain, rel), []byte(rel))
			}
			mnt := filepath.Join(plain, at)
			if err := os.MkdirAll(mnt, 0o755); err != nil {
				t.Fatal(err)
			}
			tree, _, _ := rvTree(t, plain, Options{})
			// The view shows every plaintext entry but the mountpoint
			// (and .efs.toml, which it shows as efs.toml), and a record
			// in every directory.
			want := map[string]bool{naming.ConfigName: true, naming.RecordName: true}
			filepath.WalkDir(plain, func(p string, d os.DirEntry, err error) error {
				rel, _ := filepath.Rel(plain, p)
				if err == nil && rel != "." && rel != at && rel != config.FileName {
					want[viewPath(tree, rel)] = true
					if d.IsDir() {
						want[viewPath(tree, rel)+"/"+naming.RecordName] = true
					}
				}
				return err
			})
			rvMountAt(t, tree, mnt)

			got := make(map[string]bool)
			errTooMany := errors.New("the view lists more entries than the plaintext has")
			err := filepath.WalkDir(mnt, func(p string, d os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if len(got) > 10*len(want) {
					return errTooMany
				}
				if rel, _ := filepath.Rel(mnt, p); rel != "." {
					got[rel] = true
				}
				return nil
			})
			if err != nil {
				t.Fatalf("walking the view: %v", err)
			}
			if len(got) != len(want) {
				t.Errorf("the view lists %d entries, want %d", len(got), len(want))
			}
			for rel := range want {
				if !got[rel] {
					t.Errorf("the view lacks %s", rel)
				}
			}
			if _, err := os.Lstat(filepath.Join(mnt, viewPath(tree, at))); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the mountpoint can still be looked up: %v", err)
			}
			if find, err := exec.LookPath("find"); err == nil {
				out, err := exec.Command(find, mnt).Output()
				if n := bytes.Count(out, []byte("\n")); err != nil || n != len(want)+1 {
					t.Errorf("find lists %d entries (%v), want %d", n, err, len(want)+1)
				}
			}
		})
	}
}

// TestReadaheadWindow checks that Mount widens the kernel's readahead
// window of the view to readahead, so that sequential reads arrive several
// 1 MiB requests at a time. Only root may set it.
func TestReadaheadWindow(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root may set the readahead window")
	}
	tree, _, _ := rvTree(t, t.TempDir(), Options{})
	mnt := rvMount(t, tree)
	var st unix.Stat_t
	if err := unix.Stat(mnt, &st); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev)))
	if err != nil {
		t.Skip(err)
	}
	if got, want := strings.TrimSpace(string(b)), strconv.Itoa(readahead>>10); got != want {
		t.Errorf("read_ahead_kb %s, want %s", got, want)
	}
}

// BenchmarkFUSESmallFiles walks a fresh in-process mount of 2000 files of
// 0-8 KiB in 20 directories as `rsync -a` does: it lists each directory
// and lstats its entries (READDIRPLUS), then, once the kernel's entries
// expired (as they do on a large tree before rsync gets to them), lstats,
// opens, reads and closes each file (LOOKUP, OPEN, READ, RELEASE). The
// walk makes raw syscalls that allocate nothing, so allocs/op is the
// daemon's (it runs in this process); allocs/file is allocs/op per file.
func BenchmarkFUSESmallFiles(b *testing.B) {
	const files, dirs = 2000, 20
	plain := b.TempDir()
	for i := range files {
		rvWrite(b, filepath.Join(plain, fmt.Sprintf("d%d", i%dirs), fmt.Sprintf("f%d", i)), bytes.Repeat([]byte{byte(i)}, i*37%8192))
	}
	tree, _, _ := rvTree(b, plain, Options{})
	testenv.RequireFUSE(b)
	// The view paths, NUL-terminated for the raw syscalls.
	type dir struct {
		path  []byte
		names [][]byte
	}
	cstr := func(s string) []byte { return append([]byte(s), 0) }
	var walk []dir
	for d := range dirs {
		wd := dir{path: cstr(viewPath(tree, fmt.Sprintf("d%d", d)))}
		for i := d; i < files; i += dirs {
			_, name := split(viewPath(tree, fmt.Sprintf("d%d/f%d", d, i)))
			wd.names = append(wd.names, cstr(name))
		}
		walk = append(walk, wd)
	}
	openat := func(dfd int, p []byte, flags int) int {
		fd, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(dfd), uintptr(unsafe.Pointer(&p[0])), uintptr(flags|unix.O_CLOEXEC), 0, 0, 0)
		if e != 0 {
			b.Fatalf("openat: %v", e)
		}
		return int(fd)
	}
	var stx unix.Statx_t
	lstat := func(dfd int, p []byte) {
		if _, _, e := unix.Syscall6(unix.SYS_STATX, uintptr(dfd), uintptr(unsafe.Pointer(&p[0])), unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS, uintptr(unsafe.Pointer(&stx)), 0); e != 0 {
			b.Fatalf("lstat: %v", e)
		}
	}
	dents := make([]byte, 64<<10)
	buf := make([]byte, 64<<10)
	// Allocations and CPU time (this process's: the daemon's and the
	// walk's system calls) of the timed parts only.
	var mallocs uint64
	var cpu time.Duration
	var ms runtime.MemStats
	var ru unix.Rusage
	cpuTime := func() time.Duration {
		if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := func() {
		runtime.ReadMemStats(&ms)
		mallocs -= ms.Mallocs
		cpu -= cpuTime()
		b.StartTimer()
	}
	stop := func() {
		b.StopTimer()
		cpu += cpuTime()
		runtime.ReadMemStats(&ms)
		mallocs += ms.Mallocs
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.StopTimer()
	for range b.N {
		mnt := b.TempDir()
		server, err := Mount(tree, mnt, MountOptions{})
		if err != nil {
			b.Fatal(err)
		}
		root := openat(unix.AT_FDCWD, cstr(mnt), unix.O_RDONLY|unix.O_DIRECTORY)
		start()
		dfds := make([]int, len(walk))
		for i, d := range walk {
			dfds[i] = openat(root, d.path, unix.O_RDONLY|unix.O_DIRECTORY)
			for {
				n, err := unix.Getdents(dfds[i], dents)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
			for _, name := range d.names {
				lstat(dfds[i], name)
			}
		}
		stop()
		time.Sleep(fusemount.CacheTTL + 100*time.Millisecond)
		start()
		for i, d := range walk {
			for _, name := range d.names {
				lstat(dfds[i], name)
				fd := openat(dfds[i], name, unix.O_RDONLY|unix.O_NOFOLLOW)
				for {
					n, err := unix.Read(fd, buf)
					if err != nil {
						b.Fatal(err)
					}
					if n == 0 {
						break
					}
				}
				unix.Close(fd)
			}
			unix.Close(dfds[i])
		}
		stop()
		unix.Close(root)
		if err := server.Unmount(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(mallocs)/float64(b.N*files), "allocs/file")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*files), "cpu-µs/file")
}
