//go:build linux

package reverse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/ignore"
	"github.com/efs-project/efs/internal/testenv"
	"github.com/efs-project/efs/internal/treesnap"
	"github.com/efs-project/efs/internal/treewrite"
	"github.com/efs-project/efs/keys"
	"github.com/efs-project/efs/naming"
)

// exTree creates a config with cheap KDF parameters in plain, and opens a
// Tree over it with the given excluder.
func exTree(t testing.TB, plain string, ex Excluder) (*Tree, *keys.Keys) {
	t.Helper()
	kdf := config.KDF{Salt: bytes.Repeat([]byte{7}, 16), Time: 1, MemoryKiB: 1024, Threads: 1}
	cfgPath := filepath.Join(plain, config.FileName)
	var cfg *config.Config
	var mk *keys.MasterKey
	var err error
	if data, rerr := os.ReadFile(cfgPath); rerr == nil {
		if cfg, err = config.Parse(data); err == nil {
			mk, err = cfg.Unlock([]byte("pw"))
		}
	} else {
		if cfg, mk, err = config.Create([]byte("pw"), config.Defaults(), kdf, "test"); err == nil {
			err = cfg.WriteNew(cfgPath)
		}
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
	tree, err := New(plain, keys, Options{Settings: cfg.Settings, ConfigPath: cfgPath, Exclude: ex})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	return tree, keys
}

// exWrite writes a file with a fixed mtime (so tests do not depend on
// clock granularity) and makes its parents.
func exWrite(t testing.TB, path string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// exLongName is a plaintext name whose encrypted name exceeds 255 bytes.
var exLongName = strings.Repeat("long name ", 20)

// exPopulate builds a plaintext tree with every kind of entry.
func exPopulate(t testing.TB, plain string) {
	t.Helper()
	base := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	exWrite(t, filepath.Join(plain, "empty"), nil, base)
	exWrite(t, filepath.Join(plain, "one"), []byte("x"), base.Add(time.Second))
	exWrite(t, filepath.Join(plain, "block"), bytes.Repeat([]byte("b"), 4096), base)
	exWrite(t, filepath.Join(plain, "big"), bytes.Repeat([]byte("0123456789abcdef"), 100000), base)
	exWrite(t, filepath.Join(plain, "sub", "a.txt"), []byte("hello a"), base)
	exWrite(t, filepath.Join(plain, "sub", "deep", "er", "b.txt"), []byte("hello b"), base)
	exWrite(t, filepath.Join(plain, "sub", exLongName), []byte("long"), base)
	exWrite(t, filepath.Join(plain, "ro", "f"), []byte("in a read-only dir"), base)
	exWrite(t, filepath.Join(plain, "app.log"), []byte("log"), base)
	exWrite(t, filepath.Join(plain, "keep.log"), []byte("keep"), base)
	exWrite(t, filepath.Join(plain, "cache", "c1"), []byte("cached"), base)
	if err := os.Symlink("../one", filepath.Join(plain, "sub", "link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(plain, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(plain, "one"), 0o4751); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(plain, "ro"), 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(plain, "ro"), 0o755) })
	exFixDirTimes(t, plain, base)
}

// exFixDirTimes sets every directory's mtime, deepest first.
func exFixDirTimes(t testing.TB, root string, mtime time.Time) {
	t.Helper()
	var dirs []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chtimes(dirs[i], mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// exDest is an empty destination that the test's cleanup can remove even
// when the export made read-only directories in it (as a non-root user).
func exDest(t testing.TB) string {
	t.Helper()
	dest := t.TempDir()
	t.Cleanup(func() {
		filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	return dest
}

// exExport runs Export and fails the test on any error.
func exExport(t testing.TB, tree *Tree, dest string) ExportReport {
	t.Helper()
	st, err := Export(context.Background(), tree, dest, ExportOptions{})
	if err != nil || len(st.Failures) != 0 {
		t.Fatalf("Export: %v (report %+v)", err, st)
	}
	return st
}

// exInode returns the inode number of p, to tell a rewrite from a skip.
func exInode(t testing.TB, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestExportContents(t *testing.T) {
	plain, dest := t.TempDir(), exDest(t)
	exPopulate(t, plain)
	tree, keys := exTree(t, plain, nil)
	st := exExport(t, tree, dest)
	// 11 files + 1 symlink + efs.toml + 1 companion + 6 records.
	if st.Written != 20 || st.Skipped != 0 || st.Removed != 0 || st.Dirs != 6 {
		t.Errorf("first export: %+v, want 20 written in 6 dirs", st)
	}
	namer := tree.namer
	view := func(rel string) string { return filepath.Join(dest, viewPath(tree, rel)) }

	// Files: the view's ciphertext, which decrypts to the plaintext.
	for _, rel := range []string{"empty", "one", "block", "big", "sub/a.txt", "sub/deep/er/b.txt", "sub/" + exLongName, "ro/f"} {
		ct, err := os.ReadFile(view(rel))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		want, _ := os.ReadFile(filepath.Join(plain, rel))
		if got := rvDecrypt(t, keys, rel, ct); !bytes.Equal(got, want) {
			t.Errorf("%s: export does not decrypt to the plaintext", rel)
		}
		var pst, dst unix.Stat_t
		unix.Lstat(filepath.Join(plain, rel), &pst)
		unix.Lstat(view(rel), &dst)
		if dst.Mtim != pst.Mtim || dst.Mode != pst.Mode || dst.Size != tree.ViewSize(&pst) {
			t.Errorf("%s: export mode %o mtime %v size %d, view shows %o %v %d", rel, dst.Mode, dst.Mtim, dst.Size, pst.Mode, pst.Mtim, tree.ViewSize(&pst))
		}
	}
	// Directories keep mode and mtime although files were written in them.
	for _, rel := range []string{"", "sub", "sub/deep", "ro"} {
		var pst, dst unix.Stat_t
		unix.Lstat(filepath.Join(plain, rel), &pst)
		unix.Lstat(view(rel), &dst)
		if dst.Mtim != pst.Mtim || dst.Mode != pst.Mode {
			t.Errorf("dir %q: export mode %o mtime %v, plaintext %o %v", rel, dst.Mode, dst.Mtim, pst.Mode, pst.Mtim)
		}
	}
	// The symlink's target is encrypted.
	target, err := os.Readlink(view("sub/link"))
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := namer.DecryptTarget("sub/link", target); err != nil || dec != "../one" {
		t.Errorf("symlink target decrypts to %q, %v", dec, err)
	}
	// The long name has a stand-in and a companion holding the full name.
	e := namer.Entry("sub", exLongName)
	if !e.Long() {
		t.Fatal("test name is not long")
	}
	comp, err := os.ReadFile(filepath.Join(dest, viewPath(tree, "sub"), e.Companion()))
	if err != nil || string(comp) != e.Full {
		t.Errorf("companion holds %q (%v), want the full name", comp, err)
	}
	// efs.toml is the config, byte for byte.
	cfg, _ := os.ReadFile(filepath.Join(plain, config.FileName))
	if got, err := os.ReadFile(filepath.Join(dest, naming.ConfigName)); err != nil || !bytes.Equal(got, cfg) {
		t.Errorf("efs.toml differs from the config (%v)", err)
	}
	// No plaintext name anywhere; no fifo, no .efs.toml.
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dest {
			for _, bad := range []string{"one", "sub", "fifo", "link", exLongName, ".efs.toml", "a.txt", "deep"} {
				if d.Name() == bad || strings.HasPrefix(d.Name(), tmpPrefix) {
					t.Errorf("plaintext-looking name in export: %s", d.Name())
				}
			}
		}
		return nil
	})
}

func TestExportIncremental(t *testing.T) {
	plain, dest := t.TempDir(), exDest(t)
	exPopulate(t, plain)
	tree, _ := exTree(t, plain, nil)
	exExport(t, tree, dest)
	first := treesnap.Take(t, dest)
	inoBig := exInode(t, filepath.Join(dest, viewPath(tree, "big")))

	// Nothing changed: nothing is written or removed.
	st := exExport(t, tree, dest)
	if st.Written != 0 || st.Removed != 0 || st.Skipped != 20 {
		t.Errorf("second export: %+v, want 20 skipped and nothing else", st)
	}
	if d := treesnap.Diff(first, treesnap.Take(t, dest), "first", "second"); len(d) > 0 {
		t.Errorf("second export changed the destination:\n%s", strings.Join(d, "\n"))
	}

	// Change one file, delete one, add one; a stray file appears in dest.
	later := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	changedView := viewPath(tree, "sub/a.txt")
	deletedView := viewPath(tree, "sub/deep/er/b.txt")
	exWrite(t, filepath.Join(plain, "sub", "a.txt"), []byte("hello a, changed"), later)
	if err := os.Remove(filepath.Join(plain, "sub", "deep", "er", "b.txt")); err != nil {
		t.Fatal(err)
	}
	exWrite(t, filepath.Join(plain, "sub", "new.txt"), []byte("new"), later)
	exWrite(t, filepath.Join(dest, "stray"), []byte("not in the view"), later)
	inoA := exInode(t, filepath.Join(dest, changedView))
	st = exExport(t, tree, dest)
	// 2 files and the records of sub and sub/deep/er (their entries
	// changed), of the root and sub/deep (their subdirectories' mtimes).
	if st.Written != 6 || st.Removed != 2 || st.Skipped != 14 {
		t.Errorf("export after changes: %+v, want 6 written, 2 removed, 14 skipped", st)
	}
	changed := treesnap.Diff(first, treesnap.Take(t, dest), "first", "second")
	// Expect: a.txt changed, b.txt gone, new.txt new; sub and sub/deep/er
	// changed mtimes (their plaintext directories did), and so the four
	// records.
	newView := viewPath(tree, "sub/new.txt")
	for _, want := range []string{changedView + ":", "only in first: " + deletedView, "only in second: " + newView,
		naming.RecordName + ":", viewPath(tree, "sub") + "/" + naming.RecordName + ":",
		viewPath(tree, "sub/deep") + "/" + naming.RecordName + ":", viewPath(tree, "sub/deep/er") + "/" + naming.RecordName + ":"} {
		found := false
		for _, c := range changed {
			found = found || strings.HasPrefix(c, want)
		}
		if !found {
			t.Errorf("expected change %q missing from:\n%s", want, strings.Join(changed, "\n"))
		}
	}
	if len(changed) != 9 {
		t.Errorf("want 9 differences (3 entries, 2 directory mtimes, 4 records), got:\n%s", strings.Join(changed, "\n"))
	}
	if exInode(t, filepath.Join(dest, viewPath(tree, "big"))) != inoBig {
		t.Error("an unchanged file was rewritten")
	}
	if exInode(t, filepath.Join(dest, changedView)) == inoA {
		t.Error("the changed file was not replaced through a new file")
	}
	if _, err := os.Lstat(filepath.Join(dest, "stray")); !os.IsNotExist(err) {
		t.Error("a stray file in the destination survived")
	}

	// A file replaced by a directory of the same name, and back.
	if err := os.Remove(filepath.Join(plain, "one")); err != nil {
		t.Fatal(err)
	}
	exWrite(t, filepath.Join(plain, "one", "inner"), []byte("inner"), later)
	exExport(t, tree, dest)
	if fi, err := os.Lstat(filepath.Join(dest, viewPath(tree, "one"))); err != nil || !fi.IsDir() {
		t.Errorf("file replaced by a directory: %v %v", fi, err)
	}
	if err := os.RemoveAll(filepath.Join(plain, "one")); err != nil {
		t.Fatal(err)
	}
	exWrite(t, filepath.Join(plain, "one"), []byte("x"), later)
	exExport(t, tree, dest)
	if fi, err := os.Lstat(filepath.Join(dest, viewPath(tree, "one"))); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("directory replaced by a file: %v %v", fi, err)
	}
}

func TestExportExclude(t *testing.T) {
	plain, dest := t.TempDir(), exDest(t)
	exPopulate(t, plain)
	ex, err := ignore.Compile([]string{"*.log", "!keep.log", "cache/"})
	if err != nil {
		t.Fatal(err)
	}
	tree, _ := exTree(t, plain, ex)
	exExport(t, tree, dest)
	for rel, want := range map[string]bool{"app.log": false, "keep.log": true, "cache": false, "cache/c1": false, "sub/a.txt": true} {
		_, err := os.Lstat(filepath.Join(dest, viewPath(tree, rel)))
		if got := err == nil; got != want {
			t.Errorf("%s present in export = %v, want %v", rel, got, want)
		}
	}

	// Without the exclusions, a later run adds them; with them again, it
	// removes them.
	full, _ := exTree(t, plain, nil)
	if st := exExport(t, full, dest); st.Written != 4 { // and two records
		t.Errorf("export without exclusions wrote %d entries, want 4", st.Written)
	}
	if st := exExport(t, tree, dest); st.Removed != 2 {
		t.Errorf("export with exclusions again removed %d entries, want 2", st.Removed)
	}
}

func TestExportRefusesForeignDestination(t *testing.T) {
	plain := t.TempDir()
	exPopulate(t, plain)
	tree, _ := exTree(t, plain, nil)

	foreign := t.TempDir()
	exWrite(t, filepath.Join(foreign, "precious"), []byte("mine"), time.Now())
	if _, err := Export(context.Background(), tree, foreign, ExportOptions{}); !errors.Is(err, ErrNotExport) {
		t.Errorf("export into a non-empty foreign directory: %v, want ErrNotExport", err)
	}
	if _, err := os.Stat(filepath.Join(foreign, "precious")); err != nil {
		t.Error("foreign file touched")
	}

	inside := filepath.Join(plain, "sub", "out")
	if err := os.Mkdir(inside, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Export(context.Background(), tree, inside, ExportOptions{}); err == nil || !errors.Is(err, ErrDestInPlain) {
		t.Errorf("export into the plaintext tree: %v", err)
	}
	if _, err := Export(context.Background(), tree, plain, ExportOptions{}); err == nil {
		t.Error("export onto the plaintext tree itself accepted")
	}

	// The plaintext tree inside an (empty-looking) export: refuse, or
	// removing extras would delete plaintext.
	outer := t.TempDir()
	inner := filepath.Join(outer, "plain")
	exPopulate(t, mustMkdir(t, inner))
	exWrite(t, filepath.Join(outer, naming.ConfigName), []byte("looks like an export"), time.Now())
	innerTree, _ := exTree(t, inner, nil)
	if _, err := Export(context.Background(), innerTree, outer, ExportOptions{}); err == nil || !errors.Is(err, ErrPlainInDest) {
		t.Errorf("export around the plaintext tree: %v", err)
	}
	if _, err := os.Stat(filepath.Join(inner, "one")); err != nil {
		t.Fatal("plaintext deleted!")
	}

	if _, err := Export(context.Background(), tree, filepath.Join(t.TempDir(), "missing", "deeper"), ExportOptions{}); err == nil {
		t.Error("destination below a missing directory accepted")
	}
	created := filepath.Join(t.TempDir(), "new")
	if st, err := Export(context.Background(), tree, created, ExportOptions{}); err != nil || st.Written == 0 {
		t.Errorf("export into a new destination: %+v, %v", st, err)
	}
}

func mustMkdir(t testing.TB, p string) string {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// exUnreadable makes the plaintext file p fail to export: mode 000 for
// an ordinary user; as root, which reads anything, a bind mount of a sysfs
// file over it, which stats as 4096 bytes but reads far fewer (the view
// reports that as a file that changed while read).
func exUnreadable(t testing.TB, p string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		return
	}
	const src = "/sys/kernel/uevent_seqnum"
	if err := unix.Mount(src, p, "", unix.MS_BIND, ""); err != nil {
		testenv.SkipOrFail(t, "cannot make a file unreadable as root: bind mount: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(p, unix.MNT_DETACH) })
}

func TestExportReportsFailures(t *testing.T) {
	plain, dest := t.TempDir(), exDest(t)
	exPopulate(t, plain)
	exUnreadable(t, filepath.Join(plain, "sub", "a.txt"))
	tree, _ := exTree(t, plain, nil)
	var logs bytes.Buffer
	st, err := Export(context.Background(), tree, dest, ExportOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil || len(st.Failures) != 1 {
		t.Fatalf("Export = %v, %v, want one failure", err, st.Failures)
	}
	if st.Written != 19 {
		t.Errorf("the rest was not exported: %+v", st)
	}
	view := "/" + viewPath(tree, "sub/a.txt")
	if f := st.Failures[0]; f.Stored != view || f.Path != "sub/a.txt" {
		t.Errorf("failure names %q / %q, want %q / sub/a.txt", f.Stored, f.Path, view)
	}
	if msg := st.Failures[0].Error(); !strings.HasPrefix(msg, view+": ") || strings.Contains(msg, "a.txt") {
		t.Errorf("failure as an error: %q", msg)
	}
	if !strings.Contains(logs.String(), view) {
		t.Errorf("log does not name the view path:\n%s", logs.String())
	}
	for _, bad := range []string{"sub/", "a.txt", plain} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("log mentions plaintext %q:\n%s", bad, logs.String())
		}
	}
	if _, err := os.Lstat(filepath.Join(dest, viewPath(tree, "sub/a.txt"))); !os.IsNotExist(err) {
		t.Error("a failed file left something behind")
	}
	// No temporary file is left behind either.
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tmpPrefix) {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// BenchmarkExportSmallFiles exports 2000 files of 0-8 KiB into an empty
// destination, with one worker and with the default pool.
func BenchmarkExportSmallFiles(b *testing.B) {
	plain := b.TempDir()
	for i := range 2000 {
		exWrite(b, filepath.Join(plain, fmt.Sprintf("d%d", i%20), fmt.Sprintf("f%d", i)), bytes.Repeat([]byte{byte(i)}, i*37%8192), time.Unix(1e9, 0))
	}
	tree, _ := exTree(b, plain, nil)
	for _, workers := range []int{1, 0} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for range b.N {
				dest := b.TempDir()
				if _, err := Export(context.Background(), tree, dest, ExportOptions{Workers: workers}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExportLargeFile exports one 64 MiB file.
func BenchmarkExportLargeFile(b *testing.B) {
	plain := b.TempDir()
	exWrite(b, filepath.Join(plain, "big"), bytes.Repeat([]byte("0123456789abcdef"), 4<<20), time.Unix(1e9, 0))
	tree, _ := exTree(b, plain, nil)
	b.SetBytes(64 << 20)
	for range b.N {
		dest := b.TempDir()
		if _, err := Export(context.Background(), tree, dest, ExportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// exFailWriter fails after n bytes.
type exFailWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *exFailWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestCopyCipherErrors: the tree writer's pipelined copy of an encrypting
// File gives the plaintext's and the destination's errors back, without
// hanging, at any point in the file.
func TestCopyCipherErrors(t *testing.T) {
	const copyChunk = treewrite.ChunkSize
	var cp treewrite.Copier
	ctx := context.Background()
	copyCipher := func(w io.Writer, f *File) (int64, error) {
		cw := &exCountWriter{w: w}
		err := cp.Copy(ctx, cw, f, f.Size(), nil)
		return cw.n, err
	}
	plain := t.TempDir()
	data := bytes.Repeat([]byte("0123456789abcdef"), 3*copyChunk/16+1000)
	exWrite(t, filepath.Join(plain, "f"), data, time.Unix(1e9, 0))
	tree, keys := exTree(t, plain, nil)
	open := func() *File {
		f, err := tree.Open("f")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}

	var buf bytes.Buffer
	f := open()
	if n, err := copyCipher(&buf, f); err != nil || n != f.Size() || int64(buf.Len()) != f.Size() {
		t.Fatalf("copyCipher = %d, %v; wrote %d of %d", n, err, buf.Len(), f.Size())
	}
	if !bytes.Equal(rvDecrypt(t, keys, "f", buf.Bytes()), data) {
		t.Fatal("pipelined ciphertext does not decrypt to the plaintext")
	}
	for _, after := range []int{0, copyChunk - 1, copyChunk, 2*copyChunk + 5} {
		if _, err := copyCipher(&exFailWriter{n: after}, open()); !errors.Is(err, errDiskFull) {
			t.Errorf("writer failing after %d bytes: %v", after, err)
		}
	}
	f = open()
	if err := os.Truncate(filepath.Join(plain, "f"), copyChunk+10); err != nil {
		t.Fatal(err)
	}
	if _, err := copyCipher(io.Discard, f); !errors.Is(err, content.ErrChanged) {
		t.Errorf("plaintext shrinking during the copy: %v, want ErrChanged", err)
	}
}

// exCountWriter counts what passes through it.
type exCountWriter struct {
	w io.Writer
	n int64
}

func (c *exCountWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// TestExportWithoutConfig: a view without efs.toml (no ConfigPath) is
// still recognised as an earlier export on the next run, while a foreign
// directory is not; a symlink to the destination is followed.
func TestExportWithoutConfig(t *testing.T) {
	plain, dest := t.TempDir(), exDest(t)
	exPopulate(t, plain)
	withCfg, keys := exTree(t, plain, nil)
	tree, err := New(plain, keys, Options{Settings: withCfg.settings})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dest, link); err != nil {
		t.Fatal(err)
	}
	exExport(t, tree, link)
	if _, err := os.Lstat(filepath.Join(dest, naming.ConfigName)); !os.IsNotExist(err) {
		t.Fatal("efs.toml exported without a config")
	}
	if st := exExport(t, tree, dest); st.Written != 0 || st.Skipped != 19 {
		t.Errorf("second export without a config: %+v", st)
	}
	exWrite(t, filepath.Join(dest, "foreign"), nil, time.Now())
	if _, err := Export(context.Background(), tree, dest, ExportOptions{}); !errors.Is(err, ErrNotExport) {
		t.Errorf("destination with a foreign name: %v, want ErrNotExport", err)
	}
}

// TestExportDirTimesAfterFiles: the walk goes on while the pool still
// writes a directory's files; each directory still gets its mtime only
// after the last of them is renamed into place (and after its
// subdirectories), also with many files in flight across directories.
func TestExportDirTimesAfterFiles(t *testing.T) {
	plain, dest := t.TempDir(), exDest(t)
	base := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for d := range 4 {
		for f := range 40 {
			p := filepath.Join(plain, fmt.Sprintf("d%d", d), fmt.Sprintf("s%d", f%3), fmt.Sprintf("f%02d", f))
			exWrite(t, p, bytes.Repeat([]byte{byte(f)}, 100*f), base)
		}
	}
	exFixDirTimes(t, plain, base.Add(time.Hour))
	tree, _ := exTree(t, plain, nil)
	st, err := Export(context.Background(), tree, dest, ExportOptions{Workers: 8})
	if err != nil || len(st.Failures) != 0 {
		t.Fatalf("Export: %v (report %+v)", err, st)
	}
	var dirs int
	filepath.WalkDir(plain, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(plain, p)
		if rel == "." {
			rel = ""
		}
		var pst, dst unix.Stat_t
		unix.Lstat(p, &pst)
		if err := unix.Lstat(filepath.Join(dest, viewPath(tree, rel)), &dst); err != nil {
			t.Fatal(err)
		}
		if dst.Mtim != pst.Mtim {
			t.Errorf("dir %q: export mtime %v, plaintext %v", rel, dst.Mtim, pst.Mtim)
		}
		dirs++
		return nil
	})
	if dirs != 17 {
		t.Errorf("checked %d directories, want 17", dirs)
	}
}
