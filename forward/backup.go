// Package forward reads an efs backup (a copy of the encrypted view) back
// into plaintext: the decrypting read-only FUSE view of `efs mount`, and the
// walkers behind `efs restore` and `efs fsck`. All three share Backup, which
// decrypts and authenticates names, long-name companions, symlink targets
// and contents, and never returns unauthenticated bytes.
//
// Errors returned by Backup name ciphertext paths only; the walkers attach
// plaintext paths to their problem reports for the user's terminal, never to
// log lines.
package forward

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/report"
	"github.com/efs-project/efs/internal/sys/syscall"
	"github.com/efs-project/efs/keys"
	"github.com/efs-project/efs/naming"
	"github.com/efs-project/efs/record"
)

// ErrDamaged marks problems in the backup itself (as opposed to I/O errors
// of the machine): a name, companion, header, size or block that fails.
var ErrDamaged = errors.New("backup is damaged")

// Backup is an unlocked backup directory. It is safe for concurrent use.
type Backup struct {
	dir      string
	keys     *keys.Keys
	settings config.Settings
	namer    *naming.Namer
	fileKeys *content.FileKeys // every file's key, with reused HMAC states
	records  recordCache       // format v2
}

// New returns a Backup for the ciphertext directory dir.
func New(dir string, keys *keys.Keys, s config.Settings) (*Backup, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	n, err := naming.New(keys.Name(), keys.Symlink(), s.NamingOptions())
	if err != nil {
		return nil, err
	}
	return &Backup{dir: dir, keys: keys, settings: s, namer: n, fileKeys: content.NewFileKeys(keys.Content())}, nil
}

// Dir is the ciphertext directory.
func (b *Backup) Dir() string { return b.dir }

// Kind classifies an entry.
type Kind int

// Entry kinds; Other is anything a backup cannot hold (devices, fifos).
const (
	Dir Kind = iota
	Regular
	Symlink
	Other
)

func kindOf(mode uint32) Kind {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return Dir
	case syscall.S_IFREG:
		return Regular
	case syscall.S_IFLNK:
		return Symlink
	}
	return Other
}

// Entry is one authenticated directory entry of the backup.
type Entry struct {
	// Name and Rel are the plaintext name and path (relative to the root).
	Name, Rel string
	// CName and CRel are the ciphertext entry name and path.
	CName, CRel string
	Kind        Kind
	// Stat is the ciphertext entry's lstat, with Size replaced by the
	// plaintext size for regular files: what the storage says, which a
	// v2 reader uses only for entries their record does not list.
	Stat syscall.Stat_t
	// Meta is the entry as its directory record lists it (format v2):
	// the authenticated mode, owner, mtime, size, file ID, link group,
	// target and xattrs. It is nil for an entry the record does not list
	// (or whose record is damaged), and always in v1. It points into the
	// record as read, which other entries share: never change it.
	Meta *record.Entry
	// FromRecord marks a symlink the record lists but the storage does
	// not hold (storage without symlinks drops them) or holds as another
	// type: there is no stored object, everything is in Meta.
	FromRecord bool
	// RecordErr, in a v2 backup, says why Meta is nil or not the stored
	// entry's: an error wrapping ErrOutOfSync (the record does not list
	// the entry, or lists it with another type), or the problem of the
	// directory's record itself (ErrDamaged: missing, not authentic or
	// malformed). ReadDir reports the same in its Listing.
	RecordErr error
	// StatErr, from ReadDir only, is why a regular file it keeps listed
	// has an impossible size (ErrDamaged); Stat then holds the stored size.
	StatErr error
	// SizeUnread marks a padded file listed by a walk (restore, fsck)
	// without reading its trailer: Stat.Size is then its padded length,
	// and the walk takes the size from the record or from the file it
	// opens anyway (Backup.paddedSize otherwise).
	SizeUnread bool
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// cpath is the absolute path of a ciphertext relative path.
func (b *Backup) cpath(crel string) string {
	if crel == "" {
		return b.dir
	}
	return b.dir + "/" + crel
}

// Lstat returns the stat of the ciphertext entry crel, whose plaintext
// path is rel, with the plaintext size. A regular file whose size no
// plaintext maps to is reported as damaged. In a padded tree only the
// file's trailer tells its size: Lstat reads and authenticates it.
func (b *Backup) Lstat(rel, crel string) (syscall.Stat_t, error) {
	st, _, err := b.lstat(rel, crel, true)
	return st, err
}

// lstat is Lstat; without trailers a padded file's trailer is not read
// (unread reports it) and its size is its padded length.
func (b *Backup) lstat(rel, crel string, trailers bool) (st syscall.Stat_t, unread bool, err error) {
	if err := syscall.Lstat(b.cpath(crel), &st); err != nil {
		return st, false, &os.PathError{Op: "lstat", Path: crel, Err: err}
	}
	unread, err = b.plainSize(rel, crel, &st, trailers)
	return st, unread, err
}

// plainSize turns the lstat st of the stored entry crel into the
// plaintext's, as lstat does: a regular file's size becomes its
// plaintext size.
func (b *Backup) plainSize(rel, crel string, st *syscall.Stat_t, trailers bool) (unread bool, err error) {
	if kindOf(uint32(st.Mode)) != Regular {
		return false, nil
	}
	n, err := content.PlainSize(st.Size, b.settings.BlockSize)
	if err == nil && b.padded() {
		if trailers {
			n, err = b.paddedSize(rel, crel)
		} else {
			unread = true
		}
	}
	if errors.Is(err, ErrDamaged) {
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w: %w", crel, ErrDamaged, err)
	}
	st.Size = n
	st.Blocks = (n + 511) / 512
	return unread, nil
}

// decryptEntry turns ciphertext entry cname inside the directory (rel,
// crel) into its plaintext name, resolving long names through their
// companion files.
func (b *Backup) decryptEntry(rel, crel, cname string) (string, error) {
	var companionErr error
	name, err := b.namer.DecryptEntry(rel, cname, func() (string, error) {
		comp := cname + naming.CompanionSuffix
		data, err := b.readCompanion(join(crel, comp))
		switch {
		case errors.Is(err, os.ErrNotExist):
			companionErr = fmt.Errorf("%w: long name without its companion file %s", ErrDamaged, comp)
		case err != nil:
			companionErr = fmt.Errorf("reading companion: %w", err)
		default:
			if err := b.namer.CheckCompanion(cname, string(data)); err != nil {
				companionErr = fmt.Errorf("%w: companion %s: %w", ErrDamaged, comp, err)
			}
		}
		return string(data), companionErr
	})
	if companionErr != nil {
		return "", companionErr
	}
	if err != nil {
		return "", fmt.Errorf("%w: name: %w", ErrDamaged, err)
	}
	return name, nil
}

// maxCompanion bounds what is read of a companion file: the full encoded
// form of a 255-byte name is 434 characters in base32, so anything longer
// is damage, whatever the storage put there.
const maxCompanion = 1024

// readCompanion reads the companion file crel without following a symlink,
// without blocking on a FIFO put in its place, and without reading more
// than a valid companion can hold.
func (b *Backup) readCompanion(crel string) ([]byte, error) {
	fd, err := openStored(b.cpath(crel))
	if err != nil {
		if err == syscall.ELOOP {
			return nil, fmt.Errorf("%w: companion file %s is a symlink", ErrDamaged, path.Base(crel))
		}
		return nil, &os.PathError{Op: "open", Path: crel, Err: err}
	}
	f := os.NewFile(uintptr(fd), crel)
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: crel, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, fmt.Errorf("%w: companion file %s is not a regular file", ErrDamaged, path.Base(crel))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxCompanion+1))
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: crel, Err: err}
	}
	if len(data) > maxCompanion {
		return nil, fmt.Errorf("%w: companion file %s is larger than any encrypted name", ErrDamaged, path.Base(crel))
	}
	return data, nil
}

// Listing is a backup directory, every stored name classified: intact
// entries, damaged ones, and foreign ones (names efs never writes, such as
// a sync tool's own files), which a reader ignores; in a v2 backup also
// the entries that disagree with the directory's record.
type Listing struct {
	// Entries are the intact entries, sorted by plaintext name. In a v2
	// backup they are the entries to restore: those the record lists
	// (with Meta), symlinks it lists that the storage lacks (FromRecord),
	// and those it does not list (Meta nil, also in OutOfSync).
	Entries []Entry
	// Damaged are the names that fail authentication, orphan companion
	// files, and (v2) a directory record that is missing, not authentic
	// or malformed (Stored is the record's path; the entries are then
	// listed as if the record did not list them).
	Damaged []report.Failure
	// OutOfSync (v2) are the entries and the record disagree about, each
	// an error wrapping ErrOutOfSync: listed but missing, stored but not
	// listed, stored with another type than listed.
	OutOfSync []report.Failure
	// Foreign are the ciphertext paths of the foreign names, sorted.
	Foreign []string
}

// ReadDir lists the directory whose plaintext path is rel and ciphertext
// path crel. In a v2 backup it reads and authenticates the directory's
// record and compares it with the stored names.
func (b *Backup) ReadDir(rel, crel string) (Listing, error) { return b.readDir(rel, crel, true) }

// readDir is ReadDir; without trailers padded files are listed without
// reading their trailers (Entry.SizeUnread), for a walk that opens every
// file anyway: a padded file is then opened once, not twice.
func (b *Backup) readDir(rel, crel string, trailers bool) (Listing, error) {
	d, err := openStoredDir(b.cpath(crel))
	if err != nil {
		return Listing{}, fmt.Errorf("opening directory %s: %w", crel, err)
	}
	defer d.close()
	names, err := d.names()
	if err != nil {
		return Listing{}, fmt.Errorf("listing directory %s: %w", crel, err)
	}
	sort.Strings(names)
	present := make(map[string]bool, len(names))
	for _, n := range names {
		present[n] = true
	}
	out := make([]Entry, 0, len(names)) // Entry is large: grown, it is copied again and again
	var probs []report.Failure
	var foreign []string
	for _, cname := range names {
		c := join(crel, cname)
		if crel == "" && cname == naming.ConfigName {
			continue
		}
		if cname == naming.RecordName && b.settings.Version >= 2 {
			continue
		}
		if b.namer.Foreign(cname) {
			foreign = append(foreign, c)
			continue
		}
		if long, ok := b.namer.IsCompanion(cname); ok {
			if !present[long] {
				probs = append(probs, report.Failure{Stored: c, Err: fmt.Errorf("%w: companion file without its long-name entry", ErrDamaged)})
			}
			continue
		}
		name, err := b.decryptEntry(rel, crel, cname)
		if err != nil {
			probs = append(probs, report.Failure{Stored: c, Err: err})
			continue
		}
		e := Entry{Name: name, Rel: join(rel, name), CName: cname, CRel: c}
		if err = d.lstat(cname, &e.Stat); err != nil {
			e.Stat, err = syscall.Stat_t{}, &os.PathError{Op: "lstat", Path: c, Err: err}
		} else {
			e.SizeUnread, err = b.plainSize(e.Rel, c, &e.Stat, trailers)
		}
		e.Kind = kindOf(uint32(e.Stat.Mode))
		if err != nil && !(e.Kind == Regular && errors.Is(err, ErrDamaged)) {
			probs = append(probs, report.Failure{Path: e.Rel, Stored: c, Err: err})
			continue
		}
		// A file with an impossible size stays listed (its stat and
		// Open report the damage), so the name is not silently lost.
		e.StatErr = err
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	rec := b.readRecord(rel, crel)
	// A v2 root whose record authenticates and lists nothing is empty.
	emptyRecord := rec != nil && rec.err == nil && len(rec.entries) == 0
	if crel == "" && len(out) == 0 && len(probs) == 0 && len(foreign) > 0 && !emptyRecord {
		// A root of nothing but foreign names is far likelier a backup
		// read with the wrong name encoding (base64 names hold letters
		// base32 lacks) than an empty tree: say so rather than restore
		// nothing and call it success.
		probs = append(probs, report.Failure{Err: fmt.Errorf("%w: none of the %d names at the root is an efs name in the %s encoding: the wrong directory, or the wrong name encoding setting",
			ErrDamaged, len(foreign), b.settings.NameEncoding)})
		// Its record's entries would only all be missing.
		return Listing{Damaged: probs, Foreign: foreign}, nil
	}
	l := Listing{Entries: out, Damaged: probs, Foreign: foreign}
	if rec != nil {
		var damaged []report.Failure
		l.Entries, l.OutOfSync, damaged = b.compare(rel, crel, rec, out, present)
		l.Damaged = append(l.Damaged, damaged...)
	}
	return l, nil
}

// Lookup finds the plaintext name inside the directory (rel, crel) without
// listing it: it encrypts the name and checks the ciphertext entry (and,
// for a long name, its companion). In a v2 backup it reads the directory's
// record too, and gives the entry as ReadDir would: with Meta, FromRecord
// and RecordErr. An entry the record lists that is missing, or stored with
// another type (not a symlink), is an error wrapping ErrOutOfSync and
// syscall.ENOENT.
func (b *Backup) Lookup(rel, crel, name string) (Entry, error) {
	e, err := b.lookupStored(rel, crel, name)
	if rec := b.readRecord(rel, crel); rec != nil {
		return b.lookupIn(rec, rel, crel, name, e, err)
	}
	return e, err
}

// lookupStored is Lookup of what the storage holds.
func (b *Backup) lookupStored(rel, crel, name string) (Entry, error) {
	if !naming.ValidName(name) {
		return Entry{}, &os.PathError{Op: "lookup", Path: crel, Err: syscall.ENOENT}
	}
	ne := b.namer.Entry(rel, name)
	c := join(crel, ne.Name)
	e := Entry{Name: name, Rel: join(rel, name), CName: ne.Name, CRel: c}
	var err error
	e.Stat, err = b.Lstat(e.Rel, c)
	e.Kind = kindOf(uint32(e.Stat.Mode))
	if err != nil {
		return e, err
	}
	if ne.Long() {
		data, err := b.readCompanion(c + naming.CompanionSuffix)
		if errors.Is(err, os.ErrNotExist) {
			// Damage, not a missing entry: the entry is there.
			return e, fmt.Errorf("%s: %w: long name without its companion file", c, ErrDamaged)
		}
		if err != nil {
			return e, fmt.Errorf("%s: %w: long name without a readable companion: %w", c, ErrDamaged, err)
		}
		if string(data) != ne.Full {
			return e, fmt.Errorf("%s: %w: companion does not hold the expected name", c, ErrDamaged)
		}
	}
	return e, nil
}

// Resolve maps a plaintext relative path to its entry, component by
// component. The root is returned for "".
func (b *Backup) Resolve(rel string) (Entry, error) {
	chain, err := b.ResolveChain(rel)
	return chain[len(chain)-1], err
}

// ResolveChain is Resolve that returns the entry of every component on the
// way, the root first and rel's own entry last. On an error the last entry
// is the one that failed. In a v2 backup the root's Meta is the root
// record's own entry (RecordErr says why it is missing), and each record
// on the way is read once.
func (b *Backup) ResolveChain(rel string) ([]Entry, error) {
	rel = strings.Trim(path.Clean("/"+rel), "/")
	var e Entry
	var err error
	e.Stat, err = b.Lstat("", "")
	e.Kind = kindOf(uint32(e.Stat.Mode))
	if err != nil {
		return []Entry{e}, err
	}
	rec := b.readRecord("", "")
	if rec != nil {
		e.Meta, e.RecordErr = rec.self, rec.err
	}
	chain := []Entry{e}
	if rel == "" {
		return chain, nil
	}
	names := strings.Split(rel, "/")
	for i, name := range names {
		if e.Kind != Dir {
			return chain, &os.PathError{Op: "lookup", Path: e.CRel, Err: syscall.ENOTDIR}
		}
		parent := e
		e, err = b.lookupStored(parent.Rel, parent.CRel, name)
		if rec != nil {
			e, err = b.lookupIn(rec, parent.Rel, parent.CRel, name, e, err)
		}
		chain = append(chain, e)
		if err != nil {
			return chain, err
		}
		if i < len(names)-1 && e.Kind == Dir {
			rec = b.readRecord(e.Rel, e.CRel)
		}
	}
	return chain, nil
}

// EncryptPath maps a plaintext relative path to the ciphertext relative
// path (naming.Namer.EncryptPath).
func (b *Backup) EncryptPath(rel string) (crel string, long []string) {
	return b.namer.EncryptPath(rel)
}

// DecryptPath maps a ciphertext relative path to the plaintext one
// (naming does the mapping; this reads the long names' companions). A
// companion file maps to the plaintext path of its entry, with companion
// set. A name that does not decrypt is ErrDamaged.
func (b *Backup) DecryptPath(crel string) (rel string, companion bool, err error) {
	crel = strings.Trim(path.Clean("/"+crel), "/")
	if crel == naming.ConfigName {
		return "", false, fmt.Errorf("%s is the backup's config, not an encrypted entry", crel)
	}
	rel, companion, err = b.namer.DecryptPath(crel, func(long string) (string, error) {
		data, err := b.readCompanion(long + naming.CompanionSuffix)
		return string(data), err
	})
	if err != nil && !errors.Is(err, ErrDamaged) && (errors.Is(err, naming.ErrMalformed) || errors.Is(err, naming.ErrNotAuthentic)) {
		err = damagedError{err}
	}
	return rel, companion, err
}

// damagedError marks err as ErrDamaged without changing its words (which
// start with the ciphertext path naming put there).
type damagedError struct{ err error }

func (e damagedError) Error() string   { return e.err.Error() }
func (e damagedError) Unwrap() []error { return []error{ErrDamaged, e.err} }

// Readlink decrypts the target of the symlink at (rel, crel) as stored. A
// v2 link with a long target is only a stand-in (naming.ErrLongTarget);
// Target gives the target of any entry, from its record in v2.
func (b *Backup) Readlink(rel, crel string) (string, error) {
	enc, err := os.Readlink(b.cpath(crel))
	if err != nil {
		return "", fmt.Errorf("reading symlink %s: %w", crel, err)
	}
	t, err := b.namer.DecryptTarget(rel, enc)
	if errors.Is(err, naming.ErrLongTarget) {
		return "", fmt.Errorf("%s: %w", crel, err) // not damage: see Target
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w: %w", crel, ErrDamaged, err)
	}
	return t, nil
}

// File is an open ciphertext file whose plaintext can be read at any
// offset; every block read is authenticated. Safe for concurrent use.
type File struct {
	f    *os.File
	crel string
	enc  *content.File
	r    *content.Reader
	id   [content.FileIDSize]byte
}

// Open opens the regular file at (rel, crel): it reads and checks the
// header and derives the per-file key from it and the plaintext path.
func (b *Backup) Open(rel, crel string) (*File, error) {
	// O_NONBLOCK: a FIFO the storage put in the file's place must not
	// hang the reader (open then checks it is a regular file); it has no
	// effect on regular files.
	fd, err := openStored(b.cpath(crel))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", crel, err)
	}
	f := os.NewFile(uintptr(fd), crel)
	file, err := b.open(f, rel, crel)
	if err != nil {
		f.Close()
		return nil, err
	}
	return file, nil
}

func (b *Backup) open(f *os.File, rel, crel string) (*File, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", crel, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w: not a regular file", crel, ErrDamaged)
	}
	if _, err := content.PlainSize(st.Size(), b.settings.BlockSize); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", crel, ErrDamaged, err)
	}
	var hb [content.HeaderSize]byte
	if _, err := f.ReadAt(hb[:], 0); err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", crel, err)
	}
	h, err := content.ParseHeader(hb[:])
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", crel, ErrDamaged, err)
	}
	if h.BlockSize() != b.settings.BlockSize {
		return nil, fmt.Errorf("%s: %w: header block size %d differs from the config's %d", crel, ErrDamaged, h.BlockSize(), b.settings.BlockSize)
	}
	if err := h.CheckPadded(b.padded()); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", crel, ErrDamaged, err)
	}
	enc, err := b.fileKeys.NewFile(h, rel)
	if errors.Is(err, content.ErrHeader) {
		return nil, fmt.Errorf("%s: %w: %w", crel, ErrDamaged, err) // a directory record in a file's place
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", crel, err)
	}
	r, err := enc.Open(st.Size(), f) // padded: the trailer, authenticated
	if err != nil {
		enc.Wipe()
		return nil, damaged(crel, err)
	}
	return &File{f: f, crel: crel, enc: enc, r: r, id: h.FileID}, nil
}

// damaged wraps a content error of the file crel: damage when the bytes
// fail (authentication, size, padding, a cut file), else an I/O error.
func damaged(crel string, err error) error {
	if errors.Is(err, content.ErrNotAuthentic) || errors.Is(err, content.ErrSize) || errors.Is(err, content.ErrPadding) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: %w: %w", crel, ErrDamaged, err)
	}
	return fmt.Errorf("%s: %w", crel, err)
}

// Size is the plaintext size.
func (f *File) Size() int64 { return f.r.Size() }

// FileID is the file ID in the file's header (compared with the record's
// by CheckRecord).
func (f *File) FileID() [content.FileIDSize]byte { return f.id }

// CRel is the ciphertext path, for log lines.
func (f *File) CRel() string { return f.crel }

// ReadAt reads plaintext at off. A block that fails authentication fails
// the whole call with an error wrapping content.ErrNotAuthentic and
// ErrDamaged, naming the ciphertext file and no plaintext.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		return 0, damaged(f.crel, err)
	}
	return n, err
}

// CheckPadding authenticates the blocks past the plaintext of a padded
// file and checks its padding (content.Reader.CheckPadding): a reader of
// the whole file calls it at the end. Without padding it does nothing.
func (f *File) CheckPadding() error {
	if err := f.r.CheckPadding(); err != nil {
		return damaged(f.crel, err)
	}
	return nil
}

// Close closes the ciphertext file and wipes the file key.
func (f *File) Close() error {
	f.enc.Wipe()
	return f.f.Close()
}
