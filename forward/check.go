package forward

import (
	"context"
	"fmt"
	"io"
)

// Check authenticates every name, long-name companion, symlink target and
// content block of the backup, and in format v2 every directory record,
// comparing it with the stored entries. Damage and entries out of sync
// are reported apart, and neither stops the walk. The error is ctx's,
// when it was cancelled; everything found wrong is in the report.
func Check(ctx context.Context, b *Backup, opts WalkOptions) (Report, error) {
	w := newWalker(ctx, b, opts)
	root, err := b.Resolve("")
	if err != nil {
		w.fail("", "", err)
		return w.finish()
	}
	w.s.run(func() { w.check(root) })
	return w.finish()
}

// check checks one entry; a directory's entries go to the queue, the
// last first so that they come out in name order.
func (w *walker) check(e Entry) {
	if w.ctx.Err() != nil {
		return
	}
	switch e.Kind {
	case Dir:
		w.count(func(r *Report) { r.Dirs++ })
		l, err := w.b.readDir(e.Rel, e.CRel, false)
		if err != nil {
			w.fail(e.Rel, e.CRel, err)
			return
		}
		w.listed(l)
		for i := len(l.Entries) - 1; i >= 0; i-- {
			c := l.Entries[i]
			w.s.push(func() { w.check(c) })
		}
	case Regular:
		w.checkFile(e)
	case Symlink:
		if _, err := w.b.Target(e); err != nil {
			w.fail(e.Rel, e.CRel, err)
			if !outOfSync(err) {
				return
			}
		}
		w.count(func(r *Report) { r.Symlinks++ })
	default:
		w.fail(e.Rel, e.CRel, fmt.Errorf("%w: not a directory, regular file or symlink", ErrDamaged))
	}
}

// checkFile authenticates every block of one file, and compares its
// header with its record entry.
func (w *walker) checkFile(e Entry) {
	f, err := w.b.Open(e.Rel, e.CRel)
	if err != nil {
		w.fail(e.Rel, e.CRel, err)
		return
	}
	defer f.Close()
	if err := f.CheckRecord(e.Meta); err != nil {
		w.fail(e.Rel, e.CRel, err)
	}
	// The error names the failing block.
	w.fileDone(e, f.Size(), w.decrypt(io.Discard, f))
}
