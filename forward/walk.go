package forward

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sort"
	"sync"

	"github.com/efs-project/efs/internal/report"
	"github.com/efs-project/efs/internal/treewrite"
)

// Report is what a walk found: the directories, files and symlinks that
// were intact (and, for Restore, restored), entries Restore found already
// in place, the plaintext bytes of the files it finished, the entries that
// failed, and (format v2) those out of sync with their directory records.
// Failures and OutOfSync carry plaintext paths where they could be
// recovered: show them to the user, never log them.
type Report struct {
	Dirs, Files, Symlinks int64
	// Skipped counts files and symlinks Restore found in DEST exactly as
	// the backup has them (an earlier, interrupted run wrote them).
	Skipped int64
	Bytes   int64
	// Failures are the entries that failed: damage (errors wrapping
	// ErrDamaged: bytes efs never wrote, tampering or corruption) and
	// problems of the machine or the destination.
	Failures []report.Failure
	// OutOfSync (format v2) are the entries that disagree with their
	// directory records, each an error wrapping ErrOutOfSync: changed,
	// added or deleted while an upload ran, or by the storage. Not
	// damage: what authenticates of them was restored (a listed file or
	// directory the backup lacks could not be).
	OutOfSync []report.Failure
	// Unauthenticated is set for a format v1 backup, which has no
	// directory records: its modes, owners and times come from the
	// storage, unauthenticated, and deleted or replayed entries go
	// unnoticed.
	Unauthenticated bool
	// Salvageable counts the damaged files WalkOptions.Salvage would
	// have saved part of (Restore without it).
	Salvageable int64
	// Foreign are the ciphertext paths of names efs never writes (a sync
	// tool's own files): ignored, never restored, not damage.
	Foreign []string
	// Renamed (Restore on Windows) are the entries written under another
	// name because Windows cannot hold theirs, by plaintext path.
	Renamed []Renamed
	// XattrsLost (Restore on Windows) counts the entries whose xattrs and
	// ACLs were not restored: Windows has nowhere to keep them.
	XattrsLost int64
}

// WalkOptions configure Check and Restore.
type WalkOptions struct {
	// Progress, if set, hears of every file finished and of the plaintext
	// bytes handled, chunk by chunk.
	Progress report.Progress
	// Force lets Restore replace existing files and symlinks, and give
	// directories that already existed in DEST the backup's metadata.
	Force bool
	// Salvage makes Restore write what authenticates of a damaged file
	// (lost blocks as zeros) under its name + SalvageSuffix.
	Salvage bool
	// Workers is how many directories, files and symlinks are handled
	// at once (default: twice the CPUs, at least 8): many in flight keep
	// a high-latency source busy. Each file's blocks are spread over the
	// cores too, and the file data in flight is bounded apart from this
	// (treewrite.DefaultWindow), so more workers cost little memory.
	Workers int
}

// defaultWorkers is how many entries are in flight by default: more than
// the cores, so a source with latency per open and per listing (an rclone
// mount of a remote) still keeps them busy; measured by bench's remote
// and slow rows.
func defaultWorkers() int { return max(8, 2*runtime.GOMAXPROCS(0)) }

// walker is the state one Check or Restore run shares across goroutines.
type walker struct {
	ctx  context.Context
	b    *Backup
	opts WalkOptions
	cp   treewrite.Copier
	s    *sched

	mu    sync.Mutex
	rep   Report
	links map[linkKey][]linkMember // Restore's hard-link groups
}

func newWalker(ctx context.Context, b *Backup, opts WalkOptions) *walker {
	n := opts.Workers
	if n <= 0 {
		n = defaultWorkers()
	}
	w := &walker{ctx: ctx, b: b, opts: opts, s: newSched(n)}
	w.cp.Window = treewrite.NewWindow(treewrite.DefaultWindow)
	w.rep.Unauthenticated = b.Format() < 2
	return w
}

// fail records a failed entry, or one out of sync when err says so (and
// is not damage, which wins).
func (w *walker) fail(rel, crel string, err error) {
	f := report.Failure{Path: rel, Stored: crel, Err: err}
	w.mu.Lock()
	if outOfSync(err) {
		w.rep.OutOfSync = append(w.rep.OutOfSync, f)
	} else {
		w.rep.Failures = append(w.rep.Failures, f)
	}
	w.mu.Unlock()
}

// outOfSync reports whether err is an out-of-sync entry and not damage.
func outOfSync(err error) bool {
	return errors.Is(err, ErrOutOfSync) && !errors.Is(err, ErrDamaged)
}

// recordErr records the RecordErr of an entry Lookup found in parent:
// out of sync, or the problem of parent's record.
func (w *walker) recordErr(parent, e Entry) {
	switch {
	case e.RecordErr == nil:
	case outOfSync(e.RecordErr):
		w.fail(e.Rel, e.CRel, e.RecordErr)
	default:
		w.fail(parent.Rel, recordPath(parent.CRel), e.RecordErr)
	}
}

// listed records what a listing left out: damaged and foreign names, and
// entries out of sync.
func (w *walker) listed(l Listing) {
	w.mu.Lock()
	w.rep.Failures = append(w.rep.Failures, l.Damaged...)
	w.rep.OutOfSync = append(w.rep.OutOfSync, l.OutOfSync...)
	w.rep.Foreign = append(w.rep.Foreign, l.Foreign...)
	w.mu.Unlock()
}

// count updates the report under the lock.
func (w *walker) count(f func(*Report)) {
	w.mu.Lock()
	f(&w.rep)
	w.mu.Unlock()
}

// decrypt writes f's plaintext to out, every block authenticated, telling
// Progress of each chunk.
func (w *walker) decrypt(out io.Writer, f *File) error {
	if err := w.cp.Copy(w.ctx, out, f, f.Size(), func(n int64) { w.opts.Progress.Add(0, n) }); err != nil {
		return err
	}
	return f.CheckPadding()
}

// fileDone records how one file of size bytes ended: a failure (unless the
// walk was cancelled, which is no fault of the file's), or one more file.
func (w *walker) fileDone(e Entry, size int64, err error) {
	if err != nil {
		if w.ctx.Err() == nil {
			w.fail(e.Rel, e.CRel, err)
		}
		return
	}
	w.count(func(r *Report) { r.Files++; r.Bytes += size })
	w.opts.Progress.Add(1, 0)
}

// finish returns the report of the finished walk, failures sorted by
// stored path so runs are comparable.
func (w *walker) finish() (Report, error) {
	sortFailures(w.rep.Failures)
	sortFailures(w.rep.OutOfSync)
	sort.Strings(w.rep.Foreign)
	w.rep.Renamed = sortRenamed(w.rep.Renamed)
	return w.rep, w.ctx.Err()
}

// sortFailures orders failures by stored path: with several workers they
// are found in no fixed order.
func sortFailures(fs []report.Failure) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Stored < fs[j].Stored })
}
