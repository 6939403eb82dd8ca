package reverse

// Export writes the view into an ordinary folder, for people without FUSE
// or for sync tools that want a real directory. It shows exactly what the
// FUSE view shows — names, contents, symlink targets, modes, mtimes, the
// long-name companions and efs.toml — so `rsync -a` between an export and a
// copy of the mounted view finds nothing to do.
//
// It is incremental, with rsync's quick check: an entry whose view size and
// mtime already match the destination is left alone, and entries the view
// no longer has are removed. Changed files are written to a temporary name
// in their directory and renamed into place, so an interrupted run leaves
// each file either old or new, never half written.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/naming"
	"golang.org/x/sys/unix"
)

// ExportOptions configure Export.
type ExportOptions struct {
	// Workers is how many files are encrypted at once (default: the number
	// of CPUs). Large files use every core by themselves; the pool keeps
	// the cores busy on trees of small files.
	Workers int
	// Progress, if set, is called after every entry with the totals so far.
	// Calls are serialised.
	Progress func(ExportStats)
	// Logger receives per-entry problems, by view path only.
	Logger *slog.Logger
}

// ExportStats counts what an export did.
type ExportStats struct {
	Written int   // files, symlinks and virtual files (re)written
	Skipped int   // entries already up to date
	Removed int   // destination entries the view no longer has
	Dirs    int   // directories visited
	Bytes   int64 // ciphertext bytes written
}

// ExportFailure is an entry that could not be exported.
type ExportFailure struct {
	View  string // view path, safe to log
	Plain string // plaintext path relative to the root, for the user's terminal only
	Err   error
}

// ExportError lists the entries that failed; everything else was exported.
type ExportError struct {
	Failures []ExportFailure
}

func (e *ExportError) Error() string {
	return fmt.Sprintf("%d entries could not be exported", len(e.Failures))
}

// ErrNotExport: the destination is neither empty nor an earlier export,
// so removing what the view lacks could destroy someone's files.
var ErrNotExport = errors.New("destination is not empty and holds no efs.toml: it does not look like an efs export")

// tmpPrefix starts the temporary names of files being written. No view
// name can start with it (encoded names never contain '.'; stand-ins start
// with "efs."), so a leftover from an interrupted run is removed as an
// extra entry on the next run.
const tmpPrefix = ".efs-export-"

// Export writes the view of t into dest, which must exist. It returns an
// *ExportError when some entries failed but the rest was exported, and
// another error when it could not start or dest could not be written.
func Export(t *Tree, dest string, opts ExportOptions) (ExportStats, error) {
	x := &exporter{t: t, opts: opts, root: os.Geteuid() == 0}
	x.log = opts.Logger
	if x.log == nil {
		x.log = t.log
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	x.sem = make(chan struct{}, workers)
	if err := x.checkDest(dest); err != nil {
		return ExportStats{}, err
	}
	st, err := t.Lstat("")
	if err != nil {
		return ExportStats{}, fmt.Errorf("stat plaintext root: %w", err)
	}
	if err := x.dir("", "", dest, &st); err != nil {
		return x.stats, err
	}
	if len(x.failures) > 0 {
		return x.stats, &ExportError{Failures: x.failures}
	}
	return x.stats, nil
}

// exporter is the state of one Export run.
type exporter struct {
	t    *Tree
	opts ExportOptions
	log  *slog.Logger
	root bool          // running as root: owners are copied too
	sem  chan struct{} // bounds concurrent file encryptions

	mu       sync.Mutex
	stats    ExportStats
	failures []ExportFailure
}

// checkDest refuses a destination that is not a directory, that overlaps
// the plaintext tree, or that holds something other than an export.
func (x *exporter) checkDest(dest string) error {
	st, err := os.Stat(dest) // the user named it: a symlink to a directory is fine
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("destination %s is not a directory", dest)
	}
	if err := x.checkOverlap(dest); err != nil {
		return err
	}
	f, err := os.Open(dest)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	if !x.looksLikeExport(dest, names) {
		return ErrNotExport
	}
	return nil
}

// looksLikeExport reports whether a directory holding names can be an
// earlier export: it has efs.toml, or (a view without a config) every name
// is one the view could show at its root.
func (x *exporter) looksLikeExport(dest string, names []string) bool {
	if fi, err := os.Lstat(filepath.Join(dest, naming.ConfigName)); err == nil && fi.Mode().IsRegular() {
		return true
	}
	if _, err := x.t.Resolve(Dir{}, naming.ConfigName); err == nil {
		return len(names) == 0
	}
	for _, name := range names {
		_, companion := naming.IsCompanion(name)
		if _, err := x.t.namer.DecryptName("", name); err != nil && !naming.IsLongName(name) && !companion && !strings.HasPrefix(name, tmpPrefix) {
			return false
		}
	}
	return true
}

// checkOverlap refuses a destination inside the plaintext tree (the export
// would export itself) or containing it (removing extras would delete
// plaintext). Ancestors are compared by device and inode number, so
// symlinks and bind mounts cannot hide an overlap.
func (x *exporter) checkOverlap(dest string) error {
	var root unix.Stat_t
	if err := unix.Fstat(x.t.rootFD, &root); err != nil {
		return err
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	var dst unix.Stat_t
	if err := unix.Stat(abs, &dst); err != nil {
		return err
	}
	// dest inside (or equal to) the plaintext root: walk dest's ancestors.
	for p := abs; ; p = filepath.Dir(p) {
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil && st.Dev == root.Dev && st.Ino == root.Ino {
			return errors.New("destination is inside the plaintext directory; choose one outside it")
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	// The plaintext root inside dest: walk the root's ancestors by "..".
	fd, err := unix.Openat(x.t.rootFD, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	for range 4096 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			break
		}
		if st.Dev == dst.Dev && st.Ino == dst.Ino {
			unix.Close(fd)
			return errors.New("the plaintext directory is inside the destination; choose a destination outside it")
		}
		up, err := unix.Openat(fd, "..", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		var ust unix.Stat_t
		if unix.Fstat(up, &ust) != nil || (ust.Dev == st.Dev && ust.Ino == st.Ino) {
			unix.Close(up)
			break // reached /
		}
		unix.Close(fd)
		fd = up
	}
	unix.Close(fd)
	return nil
}

// fail records an entry that could not be exported.
func (x *exporter) fail(rel, view string, err error) {
	x.log.Warn("cannot export entry", "path", "/"+view, "err", reason(err))
	x.mu.Lock()
	x.failures = append(x.failures, ExportFailure{View: "/" + view, Plain: rel, Err: err})
	x.mu.Unlock()
}

// count updates the stats and reports progress.
func (x *exporter) count(f func(*ExportStats)) {
	x.mu.Lock()
	defer x.mu.Unlock()
	f(&x.stats)
	if x.opts.Progress != nil {
		x.opts.Progress(x.stats)
	}
}

// want is one name the destination directory should hold.
type want struct {
	entry   *Entry // a plaintext entry, or
	virtual *Item  // efs.toml or a long-name companion
}

// dir exports plaintext directory rel (view path view) into dst, which
// exists. st is the plaintext directory's stat, applied to dst last, after
// its children have changed it.
func (x *exporter) dir(rel, view, dst string, st *unix.Stat_t) error {
	x.count(func(s *ExportStats) { s.Dirs++ })
	if !x.root {
		// We must be able to write into it, whatever mode it had last time.
		if err := os.Chmod(dst, 0o700); err != nil {
			return fmt.Errorf("destination: %w", err)
		}
	}
	var wg sync.WaitGroup
	items, err := x.t.List(Dir{Rel: rel, View: view})
	if err != nil {
		// Keep what an earlier run exported here; retry next time.
		x.fail(rel, view, err)
	} else {
		wants := x.wants(items)
		x.removeExtras(dst, view, wants)
		names := make([]string, 0, len(wants))
		for name := range wants {
			names = append(names, name)
		}
		sort.Strings(names)
		var subdirs []*Entry
		for _, name := range names {
			w := wants[name]
			p := filepath.Join(dst, name)
			v := join(view, name)
			switch {
			case w.virtual != nil:
				x.virtual(p, v, w.virtual)
			case w.entry.IsDir():
				if err := x.mkdir(p); err != nil {
					x.fail(w.entry.Rel, v, err)
					continue
				}
				subdirs = append(subdirs, w.entry)
			case w.entry.IsSymlink():
				x.symlink(w.entry, p, v)
			default:
				if x.upToDate(p, x.t.ViewSize(&w.entry.Stat), &w.entry.Stat, w.entry.Stat.Mode&0o7777, w.entry.Stat.Uid, w.entry.Stat.Gid) {
					continue
				}
				wg.Add(1)
				x.sem <- struct{}{}
				go func(e *Entry, p, v string) {
					defer func() { <-x.sem; wg.Done() }()
					x.file(e, p, v)
				}(w.entry, p, v)
			}
		}
		for _, e := range subdirs {
			v := join(view, e.Name)
			if err := x.dir(e.Rel, v, filepath.Join(dst, e.Name), &e.Stat); err != nil {
				wg.Wait()
				return err
			}
		}
	}
	wg.Wait()
	if err := x.setAttrs(dst, st, st.Mode&0o7777, st.Uid, st.Gid, false); err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	return nil
}

// wants lists what the view shows in a directory, by view name.
func (x *exporter) wants(items []Item) map[string]want {
	wants := make(map[string]want, len(items))
	for i := range items {
		it := &items[i]
		if it.Kind == ItemEntry {
			wants[it.Name] = want{entry: it.Entry}
		} else {
			wants[it.Name] = want{virtual: it}
		}
	}
	return wants
}

// removeExtras deletes what dst holds but the view does not.
func (x *exporter) removeExtras(dst, view string, wants map[string]want) {
	f, err := os.Open(dst)
	if err != nil {
		x.log.Warn("cannot list destination directory", "path", "/"+view, "err", reason(err))
		return
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		x.log.Warn("cannot list destination directory", "path", "/"+view, "err", reason(err))
		return
	}
	for _, name := range names {
		if _, ok := wants[name]; ok {
			continue
		}
		if err := removeAll(filepath.Join(dst, name)); err != nil {
			x.log.Warn("cannot remove stale destination entry", "path", "/"+join(view, name), "err", reason(err))
			continue
		}
		x.count(func(s *ExportStats) { s.Removed++ })
	}
}

// removeAll is os.RemoveAll that first makes directories writable, so an
// exported read-only directory can go too. It never follows symlinks.
func removeAll(p string) error {
	if os.Geteuid() != 0 {
		filepath.WalkDir(p, func(q string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(q, 0o700)
			}
			return nil
		})
	}
	return os.RemoveAll(p)
}

// mkdir makes sure p is a directory (not a symlink to one).
func (x *exporter) mkdir(p string) error {
	fi, err := os.Lstat(p)
	if err == nil && fi.IsDir() {
		return nil
	}
	if err == nil {
		if err := removeAll(p); err != nil {
			return err
		}
	}
	return os.Mkdir(p, 0o700)
}

// upToDate reports whether p already is a regular file with the view's
// size and mtime, and fixes its mode and owner if only those differ.
func (x *exporter) upToDate(p string, size int64, st *unix.Stat_t, mode, uid, gid uint32) bool {
	var dst unix.Stat_t
	if err := unix.Lstat(p, &dst); err != nil {
		return false
	}
	if dst.Mode&unix.S_IFMT != unix.S_IFREG || dst.Size != size || dst.Mtim != st.Mtim {
		return false
	}
	if dst.Mode&0o7777 != mode || (x.root && (dst.Uid != uid || dst.Gid != gid)) {
		if x.setAttrs(p, st, mode, uid, gid, false) != nil {
			return false
		}
	}
	x.count(func(s *ExportStats) { s.Skipped++ })
	return true
}

// setAttrs gives p the owner (as root), mode and mtime the view shows. The
// atime is set to the view's too, for tools that compare it.
func (x *exporter) setAttrs(p string, st *unix.Stat_t, mode, uid, gid uint32, link bool) error {
	if x.root {
		if err := os.Lchown(p, int(uid), int(gid)); err != nil {
			return err
		}
	}
	if !link {
		// After chown, which clears set-id bits.
		if err := unix.Chmod(p, mode); err != nil {
			return err
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// file encrypts regular file e into p.
func (x *exporter) file(e *Entry, p, view string) {
	f, err := x.t.Open(e.Rel)
	if err != nil {
		x.fail(e.Rel, view, err)
		return
	}
	defer f.Close()
	st := f.Stat()
	n, err := writeAtomic(p, func(w *os.File) (int64, error) {
		return copyCipher(w, f)
	}, func(tmp string) error {
		return x.setAttrs(tmp, st, st.Mode&0o7777, st.Uid, st.Gid, false)
	})
	if err != nil {
		x.fail(e.Rel, view, err)
		return
	}
	x.count(func(s *ExportStats) { s.Written++; s.Bytes += n })
}

// copyChunk is how much ciphertext is encrypted at once: large enough
// for EncryptAt to spread the blocks over every core.
const copyChunk = 4 << 20

// copyCipher writes f's ciphertext to w. For files over one chunk, the
// next chunk is encrypted while the previous one is written, which
// overlaps the CPU-bound and the I/O-bound halves of the copy.
func copyCipher(w io.Writer, f *File) (int64, error) {
	size := f.Size()
	if size <= copyChunk {
		buf := make([]byte, size)
		n, err := f.ReadAt(buf, 0)
		if err != nil && !(err == io.EOF && int64(n) == size) {
			return 0, err
		}
		if int64(n) != size {
			return 0, io.ErrUnexpectedEOF
		}
		_, err = w.Write(buf)
		return size, err
	}
	free := make(chan []byte, 2)
	free <- make([]byte, copyChunk)
	free <- make([]byte, copyChunk)
	full := make(chan []byte, 2) // never blocks: there are two buffers
	werr := make(chan error, 1)
	go func() {
		for b := range full {
			if _, err := w.Write(b); err != nil {
				werr <- err
				for range full {
				}
				return
			}
			free <- b[:cap(b)]
		}
		werr <- nil
	}()
	var off int64
	var err error
	writerDone := false
	for off < size && err == nil {
		var b []byte
		select {
		case b = <-free:
		case err = <-werr:
			writerDone = true
			continue
		}
		n, rerr := f.ReadAt(b[:min(copyChunk, size-off)], off)
		if n > 0 {
			full <- b[:n]
			off += int64(n)
		}
		switch {
		case rerr == io.EOF && off == size:
		case rerr != nil:
			err = rerr
		case n == 0:
			err = io.ErrUnexpectedEOF
		}
	}
	close(full)
	if !writerDone {
		if e := <-werr; err == nil {
			err = e
		}
	}
	if err != nil {
		return 0, err
	}
	return off, nil
}

// virtual writes efs.toml or a long-name companion.
func (x *exporter) virtual(p, view string, it *Item) {
	var st unix.Stat_t
	st.Atim, st.Mtim = it.Attr.Atime, it.Attr.Mtime
	perm := it.Attr.Mode & 0o7777
	if x.upToDate(p, it.Attr.Size, &st, perm, it.Attr.Uid, it.Attr.Gid) {
		return
	}
	n, err := writeAtomic(p, func(f *os.File) (int64, error) {
		n, err := f.Write(it.Data)
		return int64(n), err
	}, func(tmp string) error {
		return x.setAttrs(tmp, &st, perm, it.Attr.Uid, it.Attr.Gid, false)
	})
	if err != nil {
		x.fail("", view, err)
		return
	}
	x.count(func(s *ExportStats) { s.Written++; s.Bytes += n })
}

// symlink writes the symlink e with its encrypted target into p.
func (x *exporter) symlink(e *Entry, p, view string) {
	target, err := x.t.Readlink(e.Rel)
	if err != nil {
		x.fail(e.Rel, view, err)
		return
	}
	var dst unix.Stat_t
	if unix.Lstat(p, &dst) == nil && dst.Mode&unix.S_IFMT == unix.S_IFLNK {
		if old, err := os.Readlink(p); err == nil && old == target {
			if dst.Mtim != e.Stat.Mtim || (x.root && (dst.Uid != e.Stat.Uid || dst.Gid != e.Stat.Gid)) {
				if err := x.setAttrs(p, &e.Stat, 0, e.Stat.Uid, e.Stat.Gid, true); err != nil {
					x.fail(e.Rel, view, err)
					return
				}
			}
			x.count(func(s *ExportStats) { s.Skipped++ })
			return
		}
	}
	tmp := filepath.Join(filepath.Dir(p), tmpPrefix+filepath.Base(p))
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		x.fail(e.Rel, view, err)
		return
	}
	if err := x.setAttrs(tmp, &e.Stat, 0, e.Stat.Uid, e.Stat.Gid, true); err != nil {
		os.Remove(tmp)
		x.fail(e.Rel, view, err)
		return
	}
	if err := replace(tmp, p); err != nil {
		os.Remove(tmp)
		x.fail(e.Rel, view, err)
		return
	}
	x.count(func(s *ExportStats) { s.Written++ })
}

// writeAtomic writes p through a temporary file in its directory: fill
// writes the bytes, finish sets the attributes, then it is renamed over p.
func writeAtomic(p string, fill func(*os.File) (int64, error), finish func(tmp string) error) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(p), tmpPrefix+"*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	n, err := fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = finish(tmp)
	}
	if err == nil {
		err = replace(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return n, nil
}

// replace renames tmp over p; a directory in the way is removed first.
func replace(tmp, p string) error {
	if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
		if err := removeAll(p); err != nil {
			return err
		}
	}
	return os.Rename(tmp, p)
}

// SummaryPaths lists the failed entries for the user: plaintext paths when
// plain is true (their own terminal), view paths otherwise.
func (e *ExportError) SummaryPaths(plain bool) []string {
	out := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		if plain && f.Plain != "" {
			out[i] = quotePath("/" + f.Plain)
		} else {
			out[i] = f.View
		}
		out[i] += ": " + failureReason(f.Err)
	}
	return out
}

// quotePath shows a plaintext path on one line: quoted with escapes when
// it holds spaces, control characters or invalid UTF-8.
func quotePath(s string) string {
	q := strconv.Quote(s)
	if q[1:len(q)-1] == s && !strings.ContainsAny(s, " :") {
		return s
	}
	return q
}

// failureReason words a per-entry error without any path in it.
func failureReason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return reason(err)
}

// reason describes err for a log line without any plaintext: an errno
// name or a sentinel's text, never a message that might carry a path.
func reason(err error) string {
	var en unix.Errno
	switch {
	case errors.Is(err, content.ErrChanged):
		return "plaintext file changed while it was read"
	case errors.Is(err, ErrNotFound):
		return "vanished"
	case errors.Is(err, ErrNotRegular):
		return "no longer a regular file"
	case errors.As(err, &en):
		return en.Error()
	}
	return "unexpected error"
}
