package forward

// Reading a v2 backup (docs/FORMAT.md, "Reading a v2 backup"): every
// directory's record (efs.dir) is authenticated whole, then compared with
// the names the storage holds. An entry and its record that disagree are
// out of sync, which is not damage: a sync tool copies a record and the
// entries it lists at different moments, and a storage that deletes, adds,
// replays or retypes entries looks the same.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/efs-project/efs/internal/report"
	"github.com/efs-project/efs/internal/sys/syscall"
	"github.com/efs-project/efs/naming"
	"github.com/efs-project/efs/record"
)

// ErrOutOfSync marks an entry that disagrees with its directory record
// (format v2): changed, added or deleted while an upload ran (the next
// upload heals it), or deleted, added, replayed or retyped by the storage;
// a reader cannot tell which. What authenticates is still restored.
var ErrOutOfSync = errors.New("out of sync")

// The ways an entry and its record disagree, worded for the user.
var (
	errMissing  = fmt.Errorf("%w: listed in its directory record but missing from the backup (deleted from the storage, or created while the upload ran)", ErrOutOfSync)
	errUnlisted = fmt.Errorf("%w: not in its directory record (added or replayed by the storage, or deleted while the upload ran)", ErrOutOfSync)
)

// Format is the backup's format version (1 or 2). Only a v2 backup has
// directory records: a v1 backup's modes, owners and times come from the
// storage, unauthenticated.
func (b *Backup) Format() int { return b.settings.Version }

func (b *Backup) recordKeys() record.Keys {
	return record.Keys{Content: b.keys.Content(), FileID: b.keys.FileID(), BlockSize: b.settings.BlockSize, Padded: b.padded()}
}

// dirRecord is a directory's record as read: the root's own entry and the
// entries sorted by name, or why it cannot be used. It is never changed
// once read: the Entry.Meta of every entry listed or looked up points
// into entries, which spares a copy of each (a listing of 50,000 entries
// copied 6.4 MB).
type dirRecord struct {
	self    *record.Entry
	entries []record.Entry
	// err is ErrDamaged for a record missing, not authentic or
	// malformed, or another error for one that could not be read; the
	// directory's entries are then read as if the record did not list
	// them (but not reported one by one).
	err error
}

// find returns the record's entry called name, or nil.
func (r *dirRecord) find(name string) *record.Entry {
	i := sort.Search(len(r.entries), func(i int) bool { return r.entries[i].Name >= name })
	if i < len(r.entries) && r.entries[i].Name == name {
		return &r.entries[i]
	}
	return nil
}

// recordPath is the stored path of the record of the directory crel.
func recordPath(crel string) string { return join(crel, naming.RecordName) }

// readRecord reads the record of the directory (rel, crel): nil in a v1
// backup. Every block is authenticated, and every entry checked, before
// any entry is used. A record read recently and unchanged since comes
// from the cache.
func (b *Backup) readRecord(rel, crel string) *dirRecord {
	if b.settings.Version < 2 {
		return nil
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(b.cpath(recordPath(crel)), &st); err == nil {
		if rec := b.records.get(crel, keyOf(&st)); rec != nil {
			return rec
		}
	}
	self, entries, key, err := b.decodeRecord(rel, crel)
	if err != nil {
		return &dirRecord{err: err}
	}
	rec := &dirRecord{self: self, entries: entries}
	b.records.put(crel, key, rec)
	return rec
}

// recordCacheSize is how many records the cache keeps: enough for the
// lookups of the directories a mount is listing, few enough that huge
// directories' records do not pile up.
const recordCacheSize = 8

// recordCache keeps the records read last, so that the lookups in one
// directory (a mount's ls -l) read and authenticate its record once, not
// once per entry. Only intact records are kept; the entries are never
// changed once read.
type recordCache struct {
	mu   sync.Mutex
	list []cachedRecord // the most recent first
}

type cachedRecord struct {
	crel string
	key  fileKey
	rec  *dirRecord
}

// fileKey tells whether a stored file changed: a new inode, size, mtime
// or ctime.
type fileKey struct {
	dev, ino     uint64
	size         int64
	mtime, ctime syscall.Timespec
}

func keyOf(st *syscall.Stat_t) fileKey {
	return fileKey{dev: uint64(st.Dev), ino: st.Ino, size: st.Size, mtime: Mtim(st), ctime: Ctim(st)}
}

func (c *recordCache) get(crel string, key fileKey) *dirRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, r := range c.list {
		if r.crel == crel {
			if r.key != key {
				c.list = append(c.list[:i], c.list[i+1:]...)
				return nil
			}
			copy(c.list[1:i+1], c.list[:i])
			c.list[0] = r
			return r.rec
		}
	}
	return nil
}

func (c *recordCache) put(crel string, key fileKey, rec *dirRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, r := range c.list {
		if r.crel == crel {
			c.list = append(c.list[:i], c.list[i+1:]...)
			break
		}
	}
	if len(c.list) == recordCacheSize {
		c.list = c.list[:recordCacheSize-1]
	}
	c.list = append([]cachedRecord{{crel, key, rec}}, c.list...)
}

// decodeRecord reads, authenticates and decodes the record of the
// directory (rel, crel); key identifies the file it read.
func (b *Backup) decodeRecord(rel, crel string) (self *record.Entry, entries []record.Entry, key fileKey, err error) {
	stored := recordPath(crel)
	// Not through a symlink, and not blocking on a FIFO in its place.
	fd, err := openStored(b.cpath(stored))
	switch {
	case err == syscall.ENOENT:
		return nil, nil, key, fmt.Errorf("%w: the directory record is missing", ErrDamaged)
	case err == syscall.ELOOP:
		return nil, nil, key, fmt.Errorf("%w: the directory record is a symlink", ErrDamaged)
	case err != nil:
		return nil, nil, key, fmt.Errorf("reading the directory record: %w", err)
	}
	f := os.NewFile(uintptr(fd), stored)
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, nil, key, fmt.Errorf("reading the directory record: %w", err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, nil, key, fmt.Errorf("%w: the directory record is not a regular file", ErrDamaged)
	}
	r, err := record.Open(b.recordKeys(), rel, f, st.Size)
	if err != nil {
		return nil, nil, key, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	root := rel == ""
	d := record.NewDecoder(r, root)
	for {
		e, err := d.Next()
		if err == io.EOF {
			return self, entries, keyOf(&st), nil
		}
		if err != nil {
			return nil, nil, key, fmt.Errorf("%w: %w", ErrDamaged, err)
		}
		if root && self == nil {
			self = &e
			continue
		}
		entries = append(entries, e)
	}
}

// kindOfRecord is the Kind of a record entry's type.
func kindOfRecord(t record.Type) Kind {
	switch t {
	case record.File:
		return Regular
	case record.Dir:
		return Dir
	case record.Symlink:
		return Symlink
	}
	return Other
}

// kindName words a Kind for the user.
func kindName(k Kind) string {
	switch k {
	case Dir:
		return "directory"
	case Regular:
		return "file"
	case Symlink:
		return "symlink"
	}
	return "special file"
}

// retyped is the error of an entry stored as one type and listed as
// another.
func retyped(stored Kind, listed record.Type) error {
	return fmt.Errorf("%w: stored as a %s, its directory record lists a %s (replaced by the storage, or while the upload ran)", ErrOutOfSync, kindName(stored), kindName(kindOfRecord(listed)))
}

// fromRecord is the entry of a symlink the record lists and the storage
// lacks (or holds as another type): everything about it is in Meta.
func (b *Backup) fromRecord(rel, crel string, r *record.Entry) Entry {
	return b.fromRecordAs(rel, crel, b.namer.Entry(rel, r.Name).Name, r)
}

// fromRecordAs is fromRecord with the stored name already known.
func (b *Backup) fromRecordAs(rel, crel, cname string, r *record.Entry) Entry {
	return Entry{
		Name: r.Name, Rel: join(rel, r.Name), CName: cname, CRel: join(crel, cname),
		Kind: Symlink, Meta: r, FromRecord: true,
		Stat: syscall.Stat_t{Mode: syscall.S_IFLNK | 0o777},
	}
}

// compare matches the stored entries of the directory (rel, crel), sorted
// by name, with its record (docs/FORMAT.md, "Reading a v2 backup"): the
// entries to use, each with its record entry as Meta where the two agree,
// and what disagrees (out of sync) or is damaged.
// present holds every stored name: a listed entry whose stored name is
// there but damaged (reported as such) is not also missing.
func (b *Backup) compare(rel, crel string, rec *dirRecord, stored []Entry, present map[string]bool) (out []Entry, oos, damaged []report.Failure) {
	if rec.err != nil {
		for i := range stored {
			stored[i].RecordErr = rec.err
		}
		return stored, nil, []report.Failure{{Path: rel, Stored: recordPath(crel), Err: rec.err}}
	}
	out = make([]Entry, 0, max(len(stored), len(rec.entries)))
	i, j := 0, 0
	for i < len(stored) || j < len(rec.entries) {
		switch {
		case j == len(rec.entries) || i < len(stored) && stored[i].Name < rec.entries[j].Name:
			s := stored[i]
			i++
			s.RecordErr = errUnlisted
			out = append(out, s)
			oos = append(oos, report.Failure{Path: s.Rel, Stored: s.CRel, Err: errUnlisted})
		case i == len(stored) || rec.entries[j].Name < stored[i].Name:
			r := &rec.entries[j]
			j++
			cname := b.namer.Entry(rel, r.Name).Name
			switch {
			case present[cname]:
				// Stored under its name, which is damaged: damage wins.
			case r.Type == record.Symlink:
				out = append(out, b.fromRecordAs(rel, crel, cname, r))
			default:
				oos = append(oos, report.Failure{Path: join(rel, r.Name), Stored: join(crel, cname), Err: errMissing})
			}
		default:
			s, r := stored[i], &rec.entries[j]
			i, j = i+1, j+1
			if e, err := b.match(rel, crel, s, r); err != nil {
				if errors.Is(err, ErrDamaged) {
					damaged = append(damaged, report.Failure{Path: s.Rel, Stored: s.CRel, Err: err})
				} else {
					oos = append(oos, report.Failure{Path: s.Rel, Stored: s.CRel, Err: err})
				}
				if e.FromRecord {
					out = append(out, e)
				}
			} else {
				out = append(out, e)
			}
		}
	}
	return out, oos, damaged
}

// match pairs the stored entry s with its record entry r. When their
// types differ the error says so; a symlink is then still recreated from
// the record (the entry returned, FromRecord set). Something that is
// neither a directory, a file nor a symlink is damage (efs never stores
// one), and damage wins: nothing is recreated in its place.
func (b *Backup) match(rel, crel string, s Entry, r *record.Entry) (Entry, error) {
	switch {
	case s.Kind == Other:
		return s, fmt.Errorf("%w: not a directory, regular file or symlink", ErrDamaged)
	case s.Kind == kindOfRecord(r.Type):
		s.Meta = r
		return s, nil
	}
	err := retyped(s.Kind, r.Type)
	if r.Type != record.Symlink {
		return s, err
	}
	e := b.fromRecord(rel, crel, r)
	e.CName, e.CRel, e.RecordErr = s.CName, s.CRel, err
	return e, err
}

// lookupIn finishes Lookup in a v2 backup: it pairs the stored entry
// (e, err from lookupStored) with rec's entry of the same name.
func (b *Backup) lookupIn(rec *dirRecord, rel, crel, name string, e Entry, err error) (Entry, error) {
	if rec.err != nil {
		e.RecordErr = rec.err
		return e, err
	}
	r := rec.find(name)
	switch {
	case err != nil && r != nil && errors.Is(err, os.ErrNotExist) && !errors.Is(err, ErrDamaged):
		if r.Type == record.Symlink {
			return b.fromRecord(rel, crel, r), nil
		}
		return e, notThere{fmt.Errorf("%s: %w", e.CRel, errMissing)}
	case err != nil:
		return e, err
	case r == nil:
		e.RecordErr = errUnlisted
		return e, nil
	}
	m, merr := b.match(rel, crel, e, r)
	switch {
	case merr == nil:
		return m, nil
	case m.FromRecord:
		return m, nil // m.RecordErr says why
	case errors.Is(merr, ErrDamaged):
		return e, fmt.Errorf("%s: %w", e.CRel, merr)
	}
	return e, notThere{fmt.Errorf("%s: %w", e.CRel, merr)}
}

// notThere is an out-of-sync entry that is not restored: to a lookup, it
// does not exist (ENOENT), and the words say why.
type notThere struct{ err error }

func (e notThere) Error() string   { return e.err.Error() }
func (e notThere) Unwrap() []error { return []error{e.err, syscall.ENOENT} }

// CheckRecord compares the open file with its record entry m (Entry.Meta;
// nil checks nothing): a header file ID or plaintext size that differs is
// out of sync: another version of the file than the record lists. Its
// content still authenticates and may be restored.
func (f *File) CheckRecord(m *record.Entry) error {
	switch {
	case m == nil:
		return nil
	case f.id != m.FileID:
		return fmt.Errorf("%s: %w: its content is another version than its directory record lists (rolled back by the storage, or changed while the upload ran)", f.crel, ErrOutOfSync)
	case uint64(f.Size()) != m.Size:
		return fmt.Errorf("%s: %w: %d bytes, its directory record lists %d (changed by the storage, or while the upload ran)", f.crel, ErrOutOfSync, f.Size(), m.Size)
	}
	return nil
}

// Target is the target of the symlink e. In format v2 it is the record's
// (for a link the storage dropped, too, and for a long target, which only
// the record holds), in v1 the stored link's. A stored link that fails
// authentication is damage; one that authenticates but disagrees with the
// record gives the record's target and an error wrapping ErrOutOfSync:
// restore it, and report.
func (b *Backup) Target(e Entry) (string, error) {
	if e.Meta == nil {
		t, err := b.Readlink(e.Rel, e.CRel)
		if errors.Is(err, naming.ErrLongTarget) {
			// Only a record holds a long target, and none lists this link.
			return "", fmt.Errorf("%s: %w: a long target, kept in a directory record that does not list the link", e.CRel, ErrOutOfSync)
		}
		return t, err
	}
	if e.FromRecord {
		return e.Meta.Target, nil
	}
	enc, err := os.Readlink(b.cpath(e.CRel))
	if err != nil {
		return "", fmt.Errorf("reading symlink %s: %w", e.CRel, err)
	}
	// The target's encryption is deterministic: equal means the same.
	if want, err := b.namer.EncryptTarget(e.Rel, e.Meta.Target); err == nil && enc == want {
		return e.Meta.Target, nil
	}
	if _, err := b.namer.DecryptTarget(e.Rel, enc); err != nil && !errors.Is(err, naming.ErrLongTarget) {
		return "", fmt.Errorf("%s: %w: %w", e.CRel, ErrDamaged, err)
	}
	return e.Meta.Target, fmt.Errorf("%s: %w: its target differs from its directory record's (changed by the storage, or while the upload ran)", e.CRel, ErrOutOfSync)
}
