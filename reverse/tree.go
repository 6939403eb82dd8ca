// Package reverse turns a plaintext tree into efs's encrypted view: the
// read-only FUSE file system of `efs reverse` and the folder writer of
// `efs export`. Both are built on Tree, which decides what every view
// directory contains (items.go: entries, companions, efs.toml and, in
// format v2, the directory record efs.dir, dirrecord.go; with names,
// attributes, inode numbers and byte sources) so that the two give
// byte-identical results.
//
// Every plaintext path is resolved below a directory fd of the root without
// following symlinks (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or
// component by component with O_NOFOLLOW on kernels without openat2), so a
// symlink swapped in during a lookup cannot lead outside the tree. Nothing is
// ever written to the plaintext tree.
//
// The root fd follows the root's path (follow.go): a plaintext directory
// recreated or renamed while the view is mounted is opened again, and while
// the path is missing or holds no config the view answers errors, never an
// empty tree that a sync tool would mirror by deleting the backup.
package reverse

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/sys/unix"
	"github.com/efs-project/efs/keys"
	"github.com/efs-project/efs/naming"
)

// Excluder decides which plaintext entries the view leaves out. rel is the
// entry's plaintext path relative to the root.
type Excluder interface {
	Excluded(rel string, isDir bool) bool
}

// Options configure a Tree.
type Options struct {
	// Settings are the format parameters from the config.
	Settings config.Settings
	// ConfigPath is the config file shown as efs.toml at the view's root.
	// It is read by New and again whenever it changes (efs passwd).
	ConfigPath string
	// Exclude, if set, hides matching entries from listings and lookups.
	Exclude Excluder
	// OneFileSystem shows directories on other file systems as empty.
	OneFileSystem bool
	// Logger receives problems; it never sees plaintext names.
	Logger *slog.Logger
}

// Tree is a plaintext directory seen through the encryption. It is safe for
// concurrent use.
type Tree struct {
	// path is the plaintext directory, absolute: the view follows it.
	path string
	// cfgInTree: the config is path's .efs.toml, read below the root fd so
	// that it follows the root.
	cfgInTree bool
	// rootIno is the view root's inode number, fixed for the Tree's life
	// even when the root is replaced.
	rootIno uint64

	// rootMu is held for reading while root.fd is in use, for writing to
	// replace it or set rootErr.
	rootMu  sync.RWMutex
	root    rootDir
	rootErr error         // non-nil: every operation fails with it
	rootDev atomic.Uint64 // root.dev, for OneFileSystem without the lock
	// checkMu serializes the checks of the root's path; checked is when
	// the last one ran, in nanoseconds since born (monotonic).
	checkMu sync.Mutex
	checked atomic.Int64
	born    time.Time

	namer    *naming.Namer
	keys     *keys.Keys
	settings config.Settings
	exclude  Excluder
	oneFS    bool
	log      *slog.Logger
	cfgPath  string
	// hidden is the owner every item shows when the view hides metadata
	// (hidemeta.go), nil when it shows the plaintext's.
	hidden *hiddenOwner

	// self is the mounted view's own root as the plaintext tree sees it
	// (set by Mount), so that a mountpoint inside the plaintext tree never
	// shows the view inside itself.
	self atomic.Pointer[devIno]

	cfgMu       sync.Mutex
	cfg         *configFile // the config shown as efs.toml; nil without one
	cfgRejected unix.Stat_t // a changed config that could not be shown

	mu   sync.Mutex
	long map[string]longDir // plaintext dir rel → stand-in → plaintext name

	// inoMACs, fileIDs and fileKeys derive inode numbers, file IDs and
	// file keys with reused keyed HMAC states.
	inoMACs  sync.Pool // *inoMAC
	fileIDs  *content.FileIDs
	fileKeys *content.FileKeys
	// scratch is the buffers every open file encrypts through.
	scratch content.Scratch

	// dirBufs are the buffers listings read directories into
	// (*[dirBufSize]byte; Linux).
	dirBufs sync.Pool

	// recordsKept are the last records computed (recordcache.go).
	recordsKept recordCache

	// xattrVia is how records read xattrs (recordxattr.go): xattrAt until
	// the kernel says it has no getxattrat.
	xattrVia atomic.Int32
}

// devIno identifies a file: device and inode number.
type devIno struct{ dev, ino uint64 }

// longDir caches a directory's long names, valid while its mtime holds.
type longDir struct {
	mtime unix.Timespec
	names map[string]string
}

// Errors a caller maps to errnos.
var (
	// ErrNotFound: no such entry in the view (absent, excluded, special, or
	// a name that does not decrypt in this directory).
	ErrNotFound = errors.New("no such entry in the view")
	// ErrNotRegular: the path is not a regular file.
	ErrNotRegular = errors.New("not a regular file")
)

// New opens plainDir and prepares the view. keys must outlive the Tree.
func New(plainDir string, keys *keys.Keys, opts Options) (*Tree, error) {
	namer, err := naming.New(keys.Name(), keys.Symlink(), opts.Settings.NamingOptions())
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(plainDir)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", plainDir, err)
	}
	root, err := openRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", plainDir, err)
	}
	t := &Tree{
		path: abs, root: root, born: time.Now(),
		namer: namer, keys: keys, settings: opts.Settings,
		exclude: opts.Exclude, oneFS: opts.OneFileSystem, log: opts.Logger,
		long: make(map[string]longDir), hidden: hiddenOwnerOf(opts.Settings),
	}
	inoKey := keys.Inode()
	t.inoMACs.New = func() any { return &inoMAC{h: hmac.New(sha256.New, inoKey)} }
	t.fileIDs = content.NewFileIDs(keys.FileID(), opts.Settings.FileID)
	t.fileKeys = content.NewFileKeys(keys.Content())
	t.rootDev.Store(root.dev)
	t.rootIno = t.Ino("", root.ino)
	if t.log == nil {
		t.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.ConfigPath != "" {
		t.cfgPath = opts.ConfigPath
		if ca, err := filepath.Abs(opts.ConfigPath); err == nil && ca == filepath.Join(abs, config.FileName) {
			t.cfgInTree = true
		}
		// The caller has unlocked this config: it is shown as read.
		if t.cfg, err = t.readConfig(root.fd); err != nil {
			unix.Close(root.fd)
			return nil, fmt.Errorf("reading config: %w", err)
		}
	}
	return t, nil
}

// Close releases the root directory fd.
func (t *Tree) Close() error {
	t.rootMu.Lock()
	defer t.rootMu.Unlock()
	return unix.Close(t.root.fd)
}

// BlockSize is the content block size.
func (t *Tree) BlockSize() int { return t.settings.BlockSize }

// Entry is one plaintext directory entry as the view shows it.
type Entry struct {
	// Plain is the plaintext name; Rel its path relative to the root.
	Plain, Rel string
	// View is the name in the view (encoded, or a long-name stand-in) and
	// Full the full encoded name.
	naming.Entry
	// Stat is the plaintext entry's lstat.
	Stat unix.Stat_t
}

// IsDir and IsSymlink classify the entry.
func (e *Entry) IsDir() bool     { return e.Stat.Mode&unix.S_IFMT == unix.S_IFDIR }
func (e *Entry) IsSymlink() bool { return e.Stat.Mode&unix.S_IFMT == unix.S_IFLNK }

// join returns the plaintext path of name inside dir rel.
func join(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}

// openRel opens rel (relative to the root, "" for the root itself) without
// following any symlink on the way. Opening the root itself checks first
// that the root's path still leads to it (follow.go).
func (t *Tree) openRel(rel string, flags int) (int, error) {
	rootFD, err := t.lockRoot(rel == "")
	if err != nil {
		return -1, err
	}
	defer t.rootMu.RUnlock()
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	if rel == "" {
		return unix.Openat(rootFD, ".", flags, 0)
	}
	fd, err := openBeneath(rootFD, rel, flags)
	if err != unix.ENOSYS {
		return fd, err
	}
	// Kernels before 5.6 and other systems: walk one component at a time with O_NOFOLLOW.
	dir := rootFD
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		f := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			f = flags
		}
		next, err := unix.Openat(dir, p, f, 0)
		if dir != rootFD {
			unix.Close(dir)
		}
		if err != nil {
			return -1, err
		}
		dir = next
	}
	return dir, nil
}

// checkRegular fstats fd into st and, for a regular file, clears the
// O_NONBLOCK it was opened with; anything else is ErrNotRegular. fd must
// have been opened with no other status flag that F_SETFL changes
// (O_APPEND, O_DIRECT, O_NOATIME, O_ASYNC): setting none clears
// O_NONBLOCK without reading the flags first, a syscall less per open.
func checkRegular(fd int, st *unix.Stat_t) error {
	if err := unix.Fstat(fd, st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return ErrNotRegular
	}
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, 0)
	return err
}

// split returns the parent path and the last name of rel.
func split(rel string) (string, string) {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i], rel[i+1:]
	}
	return "", rel
}

// Lstat returns the lstat of rel without following symlinks anywhere.
func (t *Tree) Lstat(rel string) (unix.Stat_t, error) {
	var st unix.Stat_t
	if rel == "" {
		fd, err := t.lockRoot(true)
		if err != nil {
			return st, err
		}
		defer t.rootMu.RUnlock()
		return st, unix.Fstat(fd, &st)
	}
	parent, name := split(rel)
	dfd, err := t.openRel(parent, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return st, err
	}
	defer unix.Close(dfd)
	err = unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	return st, err
}

// hideMount records the view mounted at mountpoint, so that the Tree
// leaves it out wherever it appears below the plaintext root: a view
// mounted inside its own plaintext tree would otherwise show itself,
// recursively, to every sync tool. The plaintext tree sees the mountpoint
// (at any depth, or a bind mount of it) with the view root's device and
// inode number, which are those of mountpoint once mounted.
func (t *Tree) hideMount(mountpoint string) error {
	var st unix.Stat_t
	if err := unix.Stat(mountpoint, &st); err != nil {
		return err
	}
	t.self.Store(&devIno{dev: uint64(st.Dev), ino: st.Ino})
	return nil
}

// shown reports whether a plaintext entry appears in the view.
func (t *Tree) shown(rel string, st *unix.Stat_t) bool {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK:
	default:
		return false // fifos, sockets and devices are not shown
	}
	if rel == config.FileName {
		return false // shown as efs.toml instead
	}
	if self := t.self.Load(); self != nil && uint64(st.Dev) == self.dev && st.Ino == self.ino {
		return false // the view itself, mounted inside the plaintext tree
	}
	return t.exclude == nil || !t.exclude.Excluded(rel, st.Mode&unix.S_IFMT == unix.S_IFDIR)
}

// listing is one reading of a plaintext directory.
type listing struct {
	// fd is the directory, open until close: a directory record reads
	// the entries' targets and xattrs relative to it.
	fd int
	// st is the directory's fstat.
	st unix.Stat_t
	// entries are the plaintext entries the view shows, sorted by view
	// name (List adds companions, efs.toml and the record).
	entries []Entry
}

func (l *listing) close() { unix.Close(l.fd) }

// readDir lists the plaintext directory rel; the caller closes the
// listing.
func (t *Tree) readDir(rel string) (*listing, error) {
	fd, err := t.openRel(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	l := &listing{fd: fd}
	if err := l.read(t, rel); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// read fills l from its open directory rel.
func (l *listing) read(t *Tree, rel string) error {
	if err := unix.Fstat(l.fd, &l.st); err != nil {
		return err
	}
	if t.oneFS && uint64(l.st.Dev) != t.rootDev.Load() {
		return nil
	}
	names, err := t.readNames(l.fd)
	if err != nil {
		return err
	}
	entries := make([]Entry, len(names))
	spread(len(names), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			e, name := &entries[i], names[i]
			*e = Entry{Plain: name, Rel: join(rel, name)}
			if err := unix.Fstatat(l.fd, name, &e.Stat, unix.AT_SYMLINK_NOFOLLOW); err != nil || !t.shown(e.Rel, &e.Stat) {
				e.Plain = "" // vanished since readdir, or not shown
				continue
			}
			e.Entry = t.namer.Entry(rel, name)
		}
	})
	long := make(map[string]string)
	kept := entries[:0]
	for i := range entries {
		if e := &entries[i]; e.Plain != "" {
			if e.Long() {
				long[e.Name] = e.Plain
			}
			kept = append(kept, *e)
		}
	}
	l.entries = sortByName(kept)
	t.mu.Lock()
	if len(t.long) > 4096 {
		clear(t.long)
	}
	t.long[rel] = longDir{mtime: l.st.Mtim, names: long}
	t.mu.Unlock()
	return nil
}

// readNamesDup lists the names in the directory fd (but . and ..) with
// Readdirnames on a duplicate of fd: closing the os.File closes its fd,
// and fd stays open for the record.
func readNamesDup(fd int) ([]string, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	dir := os.NewFile(uintptr(dup), "dir")
	defer dir.Close()
	return dir.Readdirnames(-1)
}

// minSpread is the fewest entries whose per-entry work (lstat, name
// encryption, a record's xattrs) spread runs on all cores: below it the
// hand-off costs more than it saves. A sync tool lists many small
// directories and reads meanwhile; `ls -l` of a large one waits for the
// whole listing.
const minSpread = 1024

// spread runs fn over [0, n) in contiguous shares, one goroutine per core
// when n is at least minSpread, and waits for them.
func spread(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/(minSpread/2))
	if workers < 2 {
		fn(0, n)
		return
	}
	per := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += per {
		wg.Go(func() { fn(lo, min(lo+per, n)) })
	}
	wg.Wait()
}

// sortByName returns entries sorted by view name. It sorts their indexes
// and moves each entry once: an Entry is some 250 bytes, and sorting the
// entries themselves moved each about log2(n) times (for a directory of
// 50,000 entries, a sixth of its listing's CPU time).
func sortByName(entries []Entry) []Entry {
	name := func(e *Entry) string { return e.Name }
	if isSortedBy(entries, name) {
		return entries
	}
	return sortedBy(entries, name)
}

// isSortedBy reports whether s is in order of name.
func isSortedBy[T any](s []T, name func(*T) string) bool {
	for i := 1; i < len(s); i++ {
		if name(&s[i-1]) > name(&s[i]) {
			return false
		}
	}
	return true
}

// sortedBy returns a copy of s in order of name, made by sorting the
// indexes of s, so that each element, a large struct, is moved once.
func sortedBy[T any](s []T, name func(*T) string) []T {
	order := make([]int32, len(s))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(name(&s[a]), name(&s[b])) })
	out := make([]T, len(s))
	for i, j := range order {
		out[i] = s[j]
	}
	return out
}

// lookup finds the plaintext entry that view name (an encoded name or a
// long-name stand-in) has in directory rel.
func (t *Tree) lookup(rel, view string) (Entry, error) {
	long := t.namer.IsLongName(view)
	var plain string
	if !long {
		p, err := t.namer.DecryptName(rel, view)
		if err != nil {
			return Entry{}, ErrNotFound
		}
		plain = p
	}
	dfd, err := t.openRel(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return Entry{}, err
	}
	defer unix.Close(dfd)
	if long || t.oneFS {
		var dst unix.Stat_t
		if err := unix.Fstat(dfd, &dst); err != nil {
			return Entry{}, err
		}
		if t.oneFS && uint64(dst.Dev) != t.rootDev.Load() {
			return Entry{}, ErrNotFound // shown as empty
		}
		if long {
			if plain, err = t.lookupLong(rel, view, &dst); err != nil {
				return Entry{}, err
			}
		}
	}
	e := Entry{Plain: plain, Rel: join(rel, plain)}
	if err := unix.Fstatat(dfd, plain, &e.Stat, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Entry{}, err
	}
	if !t.shown(e.Rel, &e.Stat) {
		return Entry{}, ErrNotFound
	}
	e.Entry = t.namer.Entry(rel, plain)
	if e.Name != view {
		return Entry{}, ErrNotFound // e.g. a short name spelled as a stand-in
	}
	return e, nil
}

// lookupLong maps a long-name stand-in to its plaintext name, listing the
// directory again when it changed (dst is its fstat) since the cached
// listing.
func (t *Tree) lookupLong(rel, view string, dst *unix.Stat_t) (string, error) {
	t.mu.Lock()
	d, ok := t.long[rel]
	t.mu.Unlock()
	if !ok || d.mtime != dst.Mtim {
		l, err := t.readDir(rel)
		if err != nil {
			return "", err
		}
		l.close()
		t.mu.Lock()
		d = t.long[rel]
		t.mu.Unlock()
	}
	if p, ok := d.names[view]; ok {
		return p, nil
	}
	return "", ErrNotFound
}

// ViewSize is the size the view reports for a plaintext entry: the
// ciphertext size for files, the encrypted target's length for symlinks,
// the plaintext size for directories. No contents are read. A file larger
// than the view can show has no view size (see ErrTooLarge).
func (t *Tree) ViewSize(st *unix.Stat_t) int64 {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return t.CipherSize(st.Size)
	case unix.S_IFLNK:
		return int64(t.namer.TargetLen(int(st.Size)))
	}
	return st.Size
}

// Ino is the view's inode number for the plaintext entry rel with inode
// ino: HMAC-SHA256(inode key, uint64be(ino) || rel), first 8 bytes, top
// bit cleared, never below 2. It is stable across remounts, distinct for
// hard links (each path is its own file in the view) and for equal inode
// numbers on nested file systems, and reveals nothing about either input.
func (t *Tree) Ino(rel string, ino uint64) uint64 {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ino)
	return t.hashIno(b[:], rel)
}

// virtualIno is the inode number of a file efs adds to the view (efs.toml,
// a long-name companion at view path viewRel); kind separates the two.
func (t *Tree) virtualIno(kind, viewRel string) uint64 {
	return t.hashIno([]byte("virtual:"+kind+"\x00"), viewRel)
}

func (t *Tree) hashIno(prefix []byte, rel string) uint64 {
	m := t.inoMACs.Get().(*inoMAC)
	defer t.inoMACs.Put(m)
	m.h.Reset()
	m.h.Write(append(append(m.in[:0], prefix...), rel...))
	v := binary.BigEndian.Uint64(m.h.Sum(m.sum[:0])) >> 1
	if v < 2 {
		v += 2
	}
	return v
}

// inoMAC is an HMAC keyed with the inode key and the buffers of one inode
// number, reused from entry to entry (Tree.inoMACs): keying a new HMAC
// for each entry of a listing cost more than the rest of its inode
// number. Like every crypto/hmac state, it holds key-dependent values on
// the heap until the garbage collector takes it.
type inoMAC struct {
	h   hash.Hash
	in  [256]byte
	sum [sha256.Size]byte
}

// Readlink returns the encrypted target of the symlink rel.
func (t *Tree) Readlink(rel string) (string, error) {
	parent, name := split(rel)
	dfd, err := t.openRel(parent, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return "", err
	}
	defer unix.Close(dfd)
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dfd, name, buf)
	if err != nil {
		return "", err
	}
	return t.namer.EncryptTarget(rel, string(buf[:n]))
}

// File is an open plaintext file and the crypto to encrypt it.
type File struct {
	// mu is held for reading by ReadAt and for writing by Close, so that
	// the fd is never closed, and its number reused by another open,
	// under a read: what an *os.File's reference count did.
	mu   sync.RWMutex
	src  plainFD
	st   unix.Stat_t
	enc  *content.File
	size int64 // plaintext size when opened
}

// Open opens the regular file rel for encryption.
func (t *Tree) Open(rel string) (*File, error) {
	f := &File{}
	if err := t.openFile(rel, f); err != nil {
		return nil, err
	}
	return f, nil
}

// openFile opens the regular file rel into f, which the FUSE view embeds
// in its file handle (one allocation for both). It opens with O_NONBLOCK:
// a FIFO swapped in for the file since its lookup would otherwise block
// the open until a writer comes, for ever, and with it the reader of the
// view in the kernel; checkRegular then refuses it. The fd is read with
// pread, not wrapped in an *os.File: that was three allocations and a
// finalizer per open.
func (t *Tree) openFile(rel string, f *File) error {
	fd, err := t.openRel(rel, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return err
	}
	err = checkRegular(fd, &f.st)
	if err == nil {
		err = t.tooLarge(&f.st)
	}
	if err != nil {
		unix.Close(fd)
		return err
	}
	f.src = plainFD{fd}
	id := t.fileIDs.Derive(fileVersion(&f.st), rel)
	h, err := t.header(id)
	if err == nil {
		f.enc, err = t.fileKeys.NewFile(h, rel)
	}
	if err != nil {
		unix.Close(fd)
		f.src.fd = -1
		return err
	}
	f.enc.UseScratch(&t.scratch)
	f.size = f.st.Size
	return nil
}

// Stat is the plaintext file's fstat taken at Open.
func (f *File) Stat() *unix.Stat_t { return &f.st }

// Limit makes f serve the plaintext's first size bytes as the whole file,
// if that is less than its size at Open: the FUSE view serves a file that
// grew since the kernel heard of its size at that size (fs.go, fileNode).
// Call it before the first read.
func (f *File) Limit(size int64) {
	if size >= 0 && size < f.size {
		f.size = size
	}
}

// Size is the ciphertext size, fixed at Open.
func (f *File) Size() int64 { return f.enc.CipherSize(f.size) }

// ReadAt fills p with ciphertext at off. A plaintext file that shrank since
// Open gives content.ErrChanged; one that grew is read up to its old size.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.src.fd < 0 {
		return 0, os.ErrClosed
	}
	return f.enc.EncryptAt(p, off, f.size, &f.src)
}

// Close closes the plaintext file and wipes the file key. Closing it
// again is os.ErrClosed.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.src.fd < 0 {
		return os.ErrClosed
	}
	f.enc.Wipe()
	err := unix.Close(f.src.fd)
	f.src.fd = -1
	return err
}

// fileVersion is what a file's ID is derived from (content.DeriveFileID).
func fileVersion(st *unix.Stat_t) content.FileVersion {
	return content.FileVersion{Ino: st.Ino, MtimeSec: st.Mtim.Sec, MtimeNsec: uint32(st.Mtim.Nsec), Size: st.Size}
}
