package reverse

// Export writes the view into an ordinary folder, for people without FUSE
// or for sync tools that want a real directory. It shows exactly what the
// FUSE view shows — names, contents, symlink targets, modes, mtimes, the
// long-name companions, efs.toml and the directory records — so `rsync -a` between an export and a
// copy of the mounted view finds nothing to do.
//
// It is incremental, with rsync's quick check: an entry whose view size and
// mtime already match the destination is left alone, and entries the view
// no longer has are removed. Changed files are written to a temporary name
// in their directory and renamed into place, so an interrupted run leaves
// each file either old or new, never half written.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/report"
	"github.com/efs-project/efs/internal/sys/unix"
	"github.com/efs-project/efs/internal/treewrite"
	"github.com/efs-project/efs/naming"
)

// ExportOptions configure Export.
type ExportOptions struct {
	// Workers is how many files are encrypted at once (default: the number
	// of CPUs). Large files use every core by themselves; the pool keeps
	// the cores busy on trees of small files.
	Workers int
	// Progress, if set, hears of every entry written or found up to date
	// and of the ciphertext bytes written.
	Progress report.Progress
	// Logger receives per-entry problems, by view path only.
	Logger *slog.Logger
}

// ExportReport counts what an export did, and lists what failed.
type ExportReport struct {
	Written int   // files, symlinks and virtual files (re)written
	Skipped int   // entries already up to date
	Removed int   // destination entries the view no longer has
	Dirs    int   // directories visited
	Bytes   int64 // ciphertext bytes written
	// Failures are the entries that could not be exported (an earlier
	// export of them, if any, was kept). Stored is the view path.
	Failures []report.Failure
}

// ErrNotExport: the destination is neither empty nor an earlier export,
// so removing what the view lacks could destroy someone's files.
var ErrNotExport = errors.New("destination is not empty and holds no efs.toml: it does not look like an efs export")

// Overlap errors: an export into the plaintext would export itself; a
// plaintext inside the destination would be deleted as stale.
var (
	ErrDestInPlain = errors.New("the destination is inside the plaintext directory")
	ErrPlainInDest = errors.New("the plaintext directory is inside the destination")
)

// tmpPrefix starts the temporary names of files being written. No view
// name can start with it (encoded names never contain '.'; stand-ins start
// with "efs."), so a leftover from an interrupted run is removed as an
// extra entry on the next run.
const tmpPrefix = ".efs-export-"

// Export writes the view of t into dest, creating it if it does not exist.
// The error is for what stopped the whole run (dest unusable, ctx
// cancelled); entries that failed are in the report, the rest is exported.
func Export(ctx context.Context, t *Tree, dest string, opts ExportOptions) (ExportReport, error) {
	tw := &treewrite.Writer{TempPrefix: tmpPrefix, Owners: os.Geteuid() == 0}
	x := &exporter{ctx: ctx, t: t, opts: opts, tw: tw}
	x.log = opts.Logger
	if x.log == nil {
		x.log = t.log
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	x.pool = treewrite.NewPool(workers)
	root, created, err := tw.OpenRoot(dest, x.checkDest)
	if err != nil {
		return ExportReport{}, err
	}
	defer root.Close()
	top, err := t.Root()
	if err != nil {
		return ExportReport{}, fmt.Errorf("stat plaintext root: %w", err)
	}
	x.dir(root, created, Dir{}, &top.Attr, nil, false)
	x.files.Wait() // the last to finish set the metadata of the directories
	return x.rep, ctx.Err()
}

// exporter is the state of one Export run.
type exporter struct {
	ctx   context.Context
	t     *Tree
	opts  ExportOptions
	log   *slog.Logger
	tw    *treewrite.Writer
	cp    treewrite.Copier
	pool  *treewrite.Pool // bounds concurrent file encryptions
	files sync.WaitGroup  // every file handed to the pool

	mu  sync.Mutex
	rep ExportReport
}

// checkDest refuses a destination that overlaps the plaintext tree, or
// that holds something other than an export; for a destination yet to be
// made, parent is set and fd is where it would go.
func (x *exporter) checkDest(fd int, parent bool) error {
	var destInPlain, plainInDest bool
	err := x.t.withRoot(func(rootFD int) (err error) {
		if destInPlain, err = treewrite.Within(fd, rootFD); err != nil || destInPlain || parent {
			return err
		}
		plainInDest, err = treewrite.Within(rootFD, fd)
		return err
	})
	switch {
	case errors.Is(err, ErrUnavailable):
		return err
	case err != nil:
		return fmt.Errorf("destination: %w", err)
	case destInPlain:
		return ErrDestInPlain
	case parent:
		return nil // a new, empty directory holds no plaintext
	case plainInDest:
		return ErrPlainInDest
	}
	root := x.tw.Borrow(fd)
	names, err := root.Names()
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	if !x.looksLikeExport(root, names) {
		return ErrNotExport
	}
	return nil
}

// looksLikeExport reports whether a directory holding names can be an
// earlier export: it has efs.toml, or (a view without a config) every name
// is one the view could show at its root.
func (x *exporter) looksLikeExport(root *treewrite.Dir, names []string) bool {
	if st, err := root.Lstat(naming.ConfigName); err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
		return true
	}
	if _, err := x.t.Resolve(Dir{}, naming.ConfigName); err == nil {
		return len(names) == 0
	}
	for _, name := range names {
		if name == naming.RecordName && x.t.records() {
			continue
		}
		_, companion := x.t.namer.IsCompanion(name)
		if _, err := x.t.namer.DecryptName("", name); err != nil && !x.t.namer.IsLongName(name) && !companion && !strings.HasPrefix(name, tmpPrefix) {
			return false
		}
	}
	return true
}

// fail records an entry that could not be exported.
func (x *exporter) fail(rel, view string, err error) {
	x.log.Warn("cannot export entry", "path", shortPath(view), "err", reason(err))
	x.mu.Lock()
	x.rep.Failures = append(x.rep.Failures, report.Failure{Path: rel, Stored: "/" + view, Err: err})
	x.mu.Unlock()
}

// done counts one entry written (with its bytes) or, with skipped, found
// up to date.
func (x *exporter) done(skipped bool, bytes int64) {
	x.mu.Lock()
	if skipped {
		x.rep.Skipped++
	} else {
		x.rep.Written++
		x.rep.Bytes += bytes
	}
	x.mu.Unlock()
	x.opts.Progress.Add(1, bytes)
}

// itemMeta is the metadata the view shows for an item.
func itemMeta(a *Attr) treewrite.Meta {
	return treewrite.Meta{Perm: a.Mode & 0o7777, Uid: a.Uid, Gid: a.Gid, Atime: a.Atime, Mtime: a.Mtime}
}

// dir exports view directory vd into d: every item the model lists, then
// the directory's own attributes attr, last, after everything below it
// is written. The walk does not wait for the files it hands to the pool:
// whichever finishes last sets the attributes (and closes d, if own) and
// counts the directory finished in up, so the pool stays busy across
// directories. created says this run made d: it holds nothing to remove.
func (x *exporter) dir(d *treewrite.Dir, created bool, vd Dir, attr *Attr, up *treewrite.Pending, own bool) {
	x.mu.Lock()
	x.rep.Dirs++
	x.mu.Unlock()
	// We must be able to write into it, whatever mode it had last time.
	if err := d.Writable(); err != nil {
		x.fail(vd.Rel, vd.View, fmt.Errorf("destination: %w", err))
		if own {
			d.Close()
		}
		up.Finish()
		return
	}
	p := treewrite.NewPending(up, 1, func() { // 1: the listing, below
		if err := d.SetMeta(itemMeta(attr)); err != nil {
			x.fail(vd.Rel, vd.View, fmt.Errorf("destination: %w", err))
		}
		if own {
			d.Close()
		}
	})
	defer p.Finish()
	items, err := x.t.List(vd)
	if err != nil {
		// Keep what an earlier run exported here; retry next time.
		x.fail(vd.Rel, vd.View, err)
		return
	}
	if !created {
		x.removeExtras(d, vd.View, items)
	}
	for i := range items {
		if x.ctx.Err() != nil {
			break
		}
		it := &items[i]
		v := join(vd.View, it.Name)
		switch {
		case it.Err != nil:
			// Not in the view: report the entry (its companion
			// shares its fate), keep an earlier export of it.
			switch it.Kind {
			case ItemEntry:
				x.fail(it.Entry.Rel, v, it.Err)
			case ItemRecord:
				x.fail(vd.Rel, v, it.Err)
			}
		case it.Kind == ItemRecord:
			x.record(d, vd, v, it)
		case it.Kind != ItemEntry:
			x.virtual(d, it.Name, v, it)
		case it.Entry.IsDir():
			sub, created, err := d.Sub(it.Name, true)
			if err != nil {
				x.fail(it.Entry.Rel, v, err)
				continue
			}
			p.Add(1)
			x.dir(sub, created, Dir{Rel: it.Entry.Rel, View: v}, &it.Attr, p, true)
		case it.Entry.IsSymlink():
			x.symlink(d, it.Name, it, v)
		default:
			if d.UpToDate(it.Name, it.Attr.Size, itemMeta(&it.Attr)) {
				x.done(true, 0)
				continue
			}
			p.Add(1)
			if !x.pool.Go(x.ctx, func() { x.file(d, it.Name, it.Entry, v); p.Finish() }, &x.files) {
				p.Finish()
			}
		}
	}
}

// removeExtras deletes what d holds but the view's items do not.
func (x *exporter) removeExtras(d *treewrite.Dir, view string, items []Item) {
	wants := make(map[string]bool, len(items))
	for i := range items {
		wants[items[i].Name] = true
	}
	names, err := d.Names()
	if err != nil {
		x.log.Warn("cannot list destination directory", "path", "/"+view, "err", reason(err))
		return
	}
	for _, name := range names {
		if wants[name] {
			continue
		}
		if err := d.RemoveAll(name); err != nil {
			x.log.Warn("cannot remove stale destination entry", "path", "/"+join(view, name), "err", reason(err))
			continue
		}
		x.mu.Lock()
		x.rep.Removed++
		x.mu.Unlock()
	}
}

// file encrypts regular file e into d/name.
func (x *exporter) file(d *treewrite.Dir, name string, e *Entry, view string) {
	f, err := x.t.Open(e.Rel)
	if err != nil {
		x.fail(e.Rel, view, err)
		return
	}
	defer f.Close()
	size := f.Size()
	// The metadata of the version opened, as the view shows it (with
	// hidden metadata, none of the plaintext's).
	a := x.t.entryAttr(e.Rel, f.Stat())
	err = d.WriteFile(x.ctx, name, itemMeta(&a), true, func(w io.Writer) error {
		return x.cp.Copy(x.ctx, w, f, size, nil)
	})
	if err != nil {
		if x.ctx.Err() == nil {
			x.fail(e.Rel, view, err)
		}
		return
	}
	x.done(false, size)
}

// virtual writes efs.toml or a long-name companion.
func (x *exporter) virtual(d *treewrite.Dir, name, view string, it *Item) {
	m := itemMeta(&it.Attr)
	if d.UpToDate(name, it.Attr.Size, m) {
		x.done(true, 0)
		return
	}
	err := d.WriteFile(x.ctx, name, m, true, func(w io.Writer) error {
		_, err := w.Write(it.Data)
		return err
	})
	if err != nil {
		x.fail("", view, err)
		return
	}
	x.done(false, int64(len(it.Data)))
}

// record writes the directory record it of view directory vd, sealed
// from the plaintext the listing computed, so that its bytes are those its
// size and mtime describe.
func (x *exporter) record(d *treewrite.Dir, vd Dir, view string, it *Item) {
	m := itemMeta(&it.Attr)
	if d.UpToDate(it.Name, it.Attr.Size, m) {
		x.done(true, 0)
		return
	}
	s, err := x.t.SealRecord(vd, it)
	if err != nil {
		x.fail(vd.Rel, view, err)
		return
	}
	defer s.Wipe()
	err = d.WriteFile(x.ctx, it.Name, m, true, func(w io.Writer) error {
		return x.cp.Copy(x.ctx, w, s, it.Attr.Size, nil)
	})
	if err != nil {
		if x.ctx.Err() == nil {
			x.fail(vd.Rel, view, err)
		}
		return
	}
	x.done(false, it.Attr.Size)
}

// symlink writes the symlink e with its encrypted target into d/name.
func (x *exporter) symlink(d *treewrite.Dir, name string, it *Item, view string) {
	e := it.Entry
	target, err := x.t.Readlink(e.Rel)
	if err != nil {
		x.fail(e.Rel, view, err)
		return
	}
	m := itemMeta(&it.Attr)
	if d.LinkUpToDate(name, target, m) {
		x.done(true, 0)
		return
	}
	if err := d.Symlink(name, target, m, true); err != nil {
		x.fail(e.Rel, view, err)
		return
	}
	x.done(false, 0)
}

// reason describes err for a log line of the FUSE view or export without
// any plaintext: an errno name or a sentinel's text, never a message that
// might carry a path.
func reason(err error) string {
	var en unix.Errno
	var re *recordError
	switch {
	case errors.Is(err, content.ErrChanged):
		return "plaintext file shrank while it was read"
	case errors.Is(err, ErrNotFound):
		return "vanished"
	case errors.Is(err, ErrNotRegular):
		return "no longer a regular file"
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrPathTooLong), errors.Is(err, ErrTargetTooLong), errors.Is(err, errNoProc):
		return err.Error()
	case errors.As(err, &re):
		if errors.As(re.err, &en) {
			return ErrRecord.Error() + ": " + en.Error()
		}
		return re.Error() // names no entry (recordPlain)
	case errors.As(err, &en):
		return en.Error()
	}
	return "unexpected error"
}
