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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func open(t *testing.T, dir string) *Dir {
	t.Helper()
	w := &Writer{TempPrefix: ".tmp-", Owners: os.Geteuid() == 0}
	d, _, err := w.OpenRoot(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func meta(perm uint32, sec int64) Meta {
	return Meta{Perm: perm, Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()),
		Atime: unix.Timespec{Sec: sec - 1, Nsec: 5}, Mtime: unix.Timespec{Sec: sec, Nsec: 123456789}}
}

func write(data string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, data); return err }
}

// noTemps fails if a temporary file is left anywhere below dir.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func TestWriteFileMetaAndReplace(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	ctx := context.Background()
	m := meta(0o4751, 1e9)
	if err := d.WriteFile(ctx, "f", m, false, write("one")); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "f"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o4751 || st.Mtim != m.Mtime || st.Atim != m.Atime || st.Size != 3 {
		t.Errorf("written file: mode %o mtime %v atime %v size %d", st.Mode&0o7777, st.Mtim, st.Atim, st.Size)
	}
	// Without replace an existing name is left alone.
	if err := d.WriteFile(ctx, "f", m, false, write("two")); !errors.Is(err, ErrExists) {
		t.Errorf("second write without replace: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "one" {
		t.Errorf("file changed to %q", b)
	}
	// With replace, a directory in the way goes too.
	os.MkdirAll(filepath.Join(dir, "d", "sub"), 0o500)
	os.Chmod(filepath.Join(dir, "d"), 0o500)
	if err := d.WriteFile(ctx, "d", m, true, write("three")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "d")); string(b) != "three" {
		t.Errorf("replaced directory holds %q", b)
	}
	// A failing fill or a cancelled context leaves nothing behind.
	boom := errors.New("boom")
	if err := d.WriteFile(ctx, "g", m, true, func(io.Writer) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("failing fill: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	err := d.WriteFile(cctx, "h", m, true, func(w io.Writer) error { cancel(); return write("x")(w) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled write: %v", err)
	}
	for _, n := range []string{"g", "h"} {
		if _, err := d.Lstat(n); !errors.Is(err, unix.ENOENT) {
			t.Errorf("%s exists after a failed write: %v", n, err)
		}
	}
	noTemps(t, dir)
}

// TestNeverFollowsSymlinks: a symlink planted in the destination does not
// lead a write, a chmod or a directory walk outside it.
func TestNeverFollowsSymlinks(t *testing.T) {
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	os.WriteFile(victim, []byte("keep"), 0o600)
	dir := t.TempDir()
	os.Symlink(outside, filepath.Join(dir, "sub"))
	os.Symlink(victim, filepath.Join(dir, "f"))
	d := open(t, dir)

	if _, _, err := d.Sub("sub", false); !errors.Is(err, ErrNotDir) {
		t.Errorf("Sub through a symlink: %v", err)
	}
	if err := d.FixMeta("f", meta(0o777, 1e9)); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	unix.Stat(victim, &st)
	if st.Mode&0o777 != 0o600 {
		t.Errorf("FixMeta followed the symlink: victim is now %o", st.Mode&0o777)
	}
	if d.UpToDate("f", 4, meta(0o600, st.Mtim.Sec)) {
		t.Error("a symlink counted as an up-to-date file")
	}
	if err := d.WriteFile(context.Background(), "f", meta(0o644, 1e9), false, write("x")); !errors.Is(err, ErrExists) {
		t.Errorf("write over a symlink without replace: %v", err)
	}
	if err := d.WriteFile(context.Background(), "f", meta(0o644, 1e9), true, write("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("write went through the symlink: victim holds %q", b)
	}
	// Replacing the symlinked directory removes the link, not its target.
	sub, created, err := d.Sub("sub", true)
	if err != nil || !created {
		t.Fatalf("Sub with replace: %v, created %v", err, created)
	}
	sub.Close()
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Error("RemoveAll of a symlink removed what it points to")
	}
}

func TestSymlinkAndUpToDate(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	m := meta(0, 2e9)
	if err := d.Symlink("l", "../somewhere", m, false); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(filepath.Join(dir, "l")); target != "../somewhere" {
		t.Errorf("target %q", target)
	}
	if !d.LinkUpToDate("l", "../somewhere", m) || d.LinkUpToDate("l", "../elsewhere", m) {
		t.Error("LinkUpToDate is wrong")
	}
	if err := d.Symlink("l", "x", m, false); !errors.Is(err, ErrExists) {
		t.Errorf("symlink over an existing one: %v", err)
	}
	// UpToDate fixes only the mode of a file whose size and mtime match.
	fm := meta(0o640, 1e9)
	d.WriteFile(context.Background(), "f", fm, false, write("abc"))
	fm.Perm = 0o600
	if !d.UpToDate("f", 3, fm) {
		t.Fatal("file with the same size and mtime is not up to date")
	}
	var st unix.Stat_t
	unix.Lstat(filepath.Join(dir, "f"), &st)
	if st.Mode&0o777 != 0o600 {
		t.Errorf("mode not fixed: %o", st.Mode&0o777)
	}
	if d.UpToDate("f", 4, fm) {
		t.Error("a different size counted as up to date")
	}
	noTemps(t, dir)
}

func TestSubMetaAfterChildren(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	sub, created, err := d.Sub("ro", false)
	if err != nil || !created {
		t.Fatal(err, created)
	}
	defer sub.Close()
	if err := sub.WriteFile(context.Background(), "f", meta(0o400, 1e9), false, write("x")); err != nil {
		t.Fatal(err)
	}
	m := meta(0o500, 1.5e9)
	if err := sub.SetMeta(m); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	unix.Lstat(filepath.Join(dir, "ro"), &st)
	if st.Mode&0o7777 != 0o500 || st.Mtim != m.Mtime {
		t.Errorf("directory: mode %o mtime %v", st.Mode&0o7777, st.Mtim)
	}
	if _, created, err := d.Sub("ro", false); err != nil || created {
		t.Errorf("opening an existing directory: %v, created %v", err, created)
	}
	// RemoveAll empties read-only directories too.
	if err := d.RemoveAll("ro"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lstat("ro"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("ro still there: %v", err)
	}
}

// TestFreshDirLooksAtNothing: in a directory Sub made, nothing is up to
// date (it held nothing, so UpToDate does not stat), while the same
// directory opened again is compared as usual.
func TestFreshDirLooksAtNothing(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	sub, created, err := d.Sub("new", false)
	if err != nil || !created {
		t.Fatal(err, created)
	}
	defer sub.Close()
	m := meta(0o644, 1e9)
	if err := sub.WriteFile(context.Background(), "f", m, false, write("abc")); err != nil {
		t.Fatal(err)
	}
	if sub.UpToDate("f", 3, m) || sub.LinkUpToDate("f", "x", m) {
		t.Error("an entry of a fresh directory counted as up to date")
	}
	again, created, err := d.Sub("new", false)
	if err != nil || created {
		t.Fatal(err, created)
	}
	defer again.Close()
	if !again.UpToDate("f", 3, m) {
		t.Error("the file written is not up to date in the directory opened again")
	}
}

func TestOpenRootCreates(t *testing.T) {
	w := &Writer{TempPrefix: ".tmp-"}
	p := filepath.Join(t.TempDir(), "new")
	refuse := errors.New("refused")
	var checked []bool
	no := func(fd int, parent bool) error { checked = append(checked, parent); return refuse }
	if _, _, err := w.OpenRoot(p, no); !errors.Is(err, refuse) {
		t.Fatalf("refused OpenRoot: %v", err)
	}
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) || len(checked) != 1 || !checked[0] {
		t.Fatalf("a refused destination was created (%v), or its parent not checked (%v)", err, checked)
	}
	d, created, err := w.OpenRoot(p, nil)
	if err != nil || !created {
		t.Fatalf("OpenRoot of a missing dir: %v, created %v", err, created)
	}
	d.Close()
	d, created, err = w.OpenRoot(p, nil)
	if err != nil || created {
		t.Fatalf("OpenRoot of an existing dir: %v, created %v", err, created)
	}
	d.Close()
	checked = nil
	if _, _, err := w.OpenRoot(p, no); !errors.Is(err, refuse) || len(checked) != 1 || checked[0] {
		t.Fatalf("existing refused destination: %v, checks %v", err, checked)
	}
	if _, _, err := w.OpenRoot(filepath.Join(p, "a", "b"), nil); err == nil {
		t.Error("OpenRoot below a missing parent succeeded")
	}
}

func TestWithin(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "a", "b"), 0o700)
	os.Mkdir(filepath.Join(root, "c"), 0o700)
	os.Symlink(filepath.Join(root, "a", "b"), filepath.Join(root, "c", "link"))
	fd := func(p string) int {
		f, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(f) })
		return f
	}
	a, b, c := fd(filepath.Join(root, "a")), fd(filepath.Join(root, "c", "link")), fd(filepath.Join(root, "c"))
	for _, tc := range []struct {
		inner, outer int
		want         bool
	}{{b, a, true}, {a, a, true}, {a, b, false}, {c, a, false}, {b, c, false}} {
		if got, err := Within(tc.inner, tc.outer); err != nil || got != tc.want {
			t.Errorf("Within(%d, %d) = %v, %v; want %v", tc.inner, tc.outer, got, err, tc.want)
		}
	}
}

// slowReader serves size bytes of a pattern, failing at failAt if set.
type slowReader struct {
	size, failAt int64
	err          error
}

func (r *slowReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) && off+int64(n) < r.size {
		if r.err != nil && off+int64(n) >= r.failAt {
			return n, r.err
		}
		p[n] = byte((off + int64(n)) % 251)
		n++
	}
	if off+int64(n) >= r.size {
		return n, io.EOF
	}
	return n, nil
}

func TestCopyAtChunkEdges(t *testing.T) {
	var cp Copier
	for _, size := range []int64{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 2*ChunkSize + 500} {
		var buf bytes.Buffer
		var seen int64
		if err := cp.Copy(context.Background(), &buf, &slowReader{size: size}, size, func(n int64) { seen += n }); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if int64(buf.Len()) != size || seen != size {
			t.Fatalf("size %d: wrote %d, progress %d", size, buf.Len(), seen)
		}
		for i, c := range buf.Bytes() {
			if c != byte(i%251) {
				t.Fatalf("size %d: byte %d wrong", size, i)
			}
		}
	}
	// A reader shorter than promised, or one that fails, is an error.
	if err := cp.Copy(context.Background(), io.Discard, &slowReader{size: 10}, 20, nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short reader: %v", err)
	}
	boom := errors.New("boom")
	for _, at := range []int64{0, ChunkSize - 1, ChunkSize + 7} {
		err := cp.Copy(context.Background(), io.Discard, &slowReader{size: 3 * ChunkSize, failAt: at, err: boom}, 3*ChunkSize, nil)
		if !errors.Is(err, boom) {
			t.Errorf("reader failing at %d: %v", at, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cp.Copy(ctx, io.Discard, &slowReader{size: 3 * ChunkSize}, 3*ChunkSize, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled copy: %v", err)
	}
}

// TestPool: never more than n at once, every group counts its own, and a
// cancelled context runs nothing more.
func TestPool(t *testing.T) {
	p := NewPool(3)
	var mu sync.Mutex
	running, peak := 0, 0
	var all sync.WaitGroup
	for range 20 {
		p.Go(context.Background(), func() {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running--
			mu.Unlock()
		}, &all)
	}
	all.Wait()
	if peak > 3 || peak == 0 {
		t.Errorf("%d ran at once, pool of 3", peak)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran atomic.Bool
	for range 5 {
		p.Go(ctx, func() { ran.Store(true) }, &all)
	}
	all.Wait()
	if ran.Load() {
		t.Error("ran after cancellation")
	}
}
