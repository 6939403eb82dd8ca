package reverse

// Directory records (format v2, docs/FORMAT.md "Directory records"): every
// view directory holds efs.dir, the sealed list of the entries the view
// shows in it with what a restore needs and dumb storage drops or could
// forge. It is computed on demand from the listing (readdir and lstat),
// the symlinks' targets and the entries' xattrs; nothing is kept once the
// item is dropped.

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/efs-project/efs/internal/sys/unix"
	"github.com/efs-project/efs/naming"
	"github.com/efs-project/efs/record"
)

// ErrRecord: the directory record could not be computed (an xattr or a
// target could not be read). The FUSE view answers EIO for efs.dir, export
// reports it and keeps its earlier copy.
var ErrRecord = errors.New("cannot compute the directory record")

// recordError is an ErrRecord and its cause, whose text carries no
// plaintext: recordPlain's errors are errnos, the encoder's rules and
// counts, never a name or a path.
type recordError struct{ err error }

func (e *recordError) Error() string   { return ErrRecord.Error() + ": " + e.err.Error() }
func (e *recordError) Unwrap() []error { return []error{ErrRecord, e.err} }

// records reports whether the view has directory records (format v2).
func (t *Tree) records() bool { return t.settings.Version >= 2 }

// recordKeys are the keys records are sealed with.
func (t *Tree) recordKeys() record.Keys {
	return record.Keys{Content: t.keys.Content(), FileID: t.keys.FileID(), BlockSize: t.settings.BlockSize, Padded: t.padded()}
}

// SealRecord prepares the view bytes of the record item it of directory
// d. The caller wipes it when done.
func (t *Tree) SealRecord(d Dir, it *Item) (*record.Sealed, error) {
	if it.Kind != ItemRecord || it.Err != nil {
		return nil, fmt.Errorf("internal error: SealRecord of an item that is no record")
	}
	return record.Seal(t.recordKeys(), d.Rel, it.Record)
}

// recordOf is the record item of directory d as it is now.
func (t *Tree) recordOf(d Dir) (Item, error) {
	l, err := t.readDir(d.Rel)
	if err != nil {
		return Item{}, err
	}
	defer l.close()
	// What List shows: the entries it can.
	shown := make([]*Entry, 0, len(l.entries))
	for i := range l.entries {
		if t.cannotShow(d, &l.entries[i]) == nil {
			shown = append(shown, &l.entries[i])
		}
	}
	it := t.recordItem(d, l, shown)
	if it.Err != nil {
		return Item{}, it.Err
	}
	return it, nil
}

// recordItem is efs.dir of directory d, listed in l, whose entries shown
// the view shows: mode 0444, the directory's owner, the size of its
// ciphertext and an mtime that is a function of its bytes, so it changes
// exactly when they do (record.Sealed.MtimeSec).
func (t *Tree) recordItem(d Dir, l *listing, shown []*Entry) Item {
	it := Item{Name: naming.RecordName, Kind: ItemRecord, Attr: Attr{
		Mode: unix.S_IFREG | 0o444, Nlink: 1, Uid: l.st.Uid, Gid: l.st.Gid,
		Ino: t.virtualIno(inoKindRecord, join(d.View, naming.RecordName)),
	}}
	t.hideMode(&it.Attr) // its mtime reveals nothing already
	plain, err := t.recordPlainCached(d, l, shown)
	if err == nil {
		var s *record.Sealed
		if s, err = record.Seal(t.recordKeys(), d.Rel, plain); err == nil {
			it.Attr.Size = s.Size()
			mt := unix.Timespec{Sec: s.MtimeSec()}
			it.Attr.Atime, it.Attr.Mtime, it.Attr.Ctime = mt, mt, mt
			s.Wipe()
		}
	}
	if err != nil {
		it.Err = &recordError{err}
		return it
	}
	it.Record = plain
	return it
}

// recordPlain is the plaintext of the record of directory d: for the root
// its own entry first, then the entries shown, in byte order of their
// plaintext names (as shown is sorted). An entry that vanished since the
// listing is left out; complete is false then.
func (t *Tree) recordPlain(d Dir, l *listing, shown []*Entry) (plain []byte, complete bool, err error) {
	var buf bytes.Buffer
	buf.Grow(recordEstimate(shown))
	enc := record.NewEncoder(&buf, d.Rel == "")
	x := &xattrReader{t: t}
	var e record.Entry
	if d.Rel == "" {
		self := Entry{Stat: l.st}
		if err := t.recordEntry(&e, l.fd, &self, x); err != nil {
			return nil, false, fmt.Errorf("the root's own entry: %w", err)
		}
		if err := enc.Add(&e); err != nil {
			return nil, false, err
		}
	}
	// The entries' targets and xattrs are read on all cores for a large
	// directory, then encoded in order.
	entries := make([]record.Entry, len(shown))
	errs := make([]error, len(shown))
	spread(len(shown), func(lo, hi int) {
		xr := &xattrReader{t: t}
		for i := lo; i < hi; i++ {
			errs[i] = t.recordEntry(&entries[i], l.fd, shown[i], xr)
		}
	})
	complete = true
	for i := range shown {
		err := errs[i]
		if errors.Is(err, errVanished) {
			complete = false
			continue
		}
		if err == nil {
			err = enc.Add(&entries[i])
		}
		if err != nil {
			return nil, false, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, false, err
	}
	b := buf.Bytes()
	if cap(b)-len(b) > len(b)/8 {
		b = bytes.Clone(b) // an open record keeps no more than its size
	}
	return b, complete, nil
}

// recordEstimate is about the size of a record of the entries shown
// (without targets and xattrs), to size its buffer once.
func recordEstimate(shown []*Entry) int {
	n := 64
	for _, e := range shown {
		n += 38 + len(e.Plain) + 32
	}
	return n
}

// recordEntry fills e with the record entry of plaintext entry pe of the
// directory dfd; pe.Plain is "" for the directory dfd itself (the root's
// own entry).
func (t *Tree) recordEntry(e *record.Entry, dfd int, pe *Entry, x *xattrReader) error {
	st := &pe.Stat
	*e = record.Entry{
		Name: pe.Plain, Mode: uint32(st.Mode) & record.ModeBits, UID: st.Uid, GID: st.Gid,
		MtimeSec: st.Mtim.Sec, MtimeNsec: uint32(st.Mtim.Nsec), Xattrs: e.Xattrs[:0],
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.Type = record.File
		e.Size = uint64(st.Size)
		// What Open puts in the file's header.
		e.FileID = t.fileIDs.Derive(fileVersion(st), pe.Rel)
		if st.Nlink > 1 {
			dev := uint64(st.Dev)
			if dev == t.rootDev.Load() {
				dev = 0
			}
			e.Link = record.LinkGroup(t.keys.FileID(), dev, st.Ino)
		}
	case unix.S_IFDIR:
		e.Type = record.Dir
	case unix.S_IFLNK:
		e.Type = record.Symlink
		target, err := x.readlink(dfd, pe.Plain)
		if err != nil {
			return err
		}
		e.Target, e.Size = target, uint64(len(target))
		// Linux keeps neither user xattrs nor ACLs on symlinks.
		return nil
	default:
		return fmt.Errorf("internal error: a record entry of mode %#o", st.Mode)
	}
	var err error
	e.Xattrs, err = x.kept(dfd, pe.Plain, e.Type == record.Dir, e.Xattrs)
	return err
}
