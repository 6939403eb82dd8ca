package reverse

// The view model: what a directory of the view contains. Every item — an
// encrypted plaintext entry, the companion file of a long name, efs.toml at
// the root, the directory record efs.dir (format v2, record.go) — is
// decided here with the attributes the view shows for it, so
// that the FUSE view and export only adapt it and cannot disagree.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/sys/unix"
	"github.com/efs-project/efs/naming"
)

// ItemKind says what an item of a view directory is.
type ItemKind uint8

const (
	// ItemEntry is a plaintext directory, regular file or symlink, shown
	// encrypted.
	ItemEntry ItemKind = iota
	// ItemCompanion is the companion file of a long name: the full
	// encrypted name, mode 0444.
	ItemCompanion
	// ItemConfig is efs.toml at the view's root: the config's bytes.
	ItemConfig
	// ItemRecord is efs.dir, the directory record (format v2): the sealed
	// list of the directory's entries with their metadata, computed on
	// demand (record.go).
	ItemRecord
)

// Virtual inode kinds for virtualIno.
const (
	inoKindConfig    = "config"
	inoKindCompanion = "companion"
	inoKindRecord    = "record"
)

// Attr is what stat shows for an item of the view.
type Attr struct {
	Mode  uint32 // file type and permission bits
	Size  int64  // view size: ciphertext, encrypted target or virtual bytes
	Ino   uint64 // view inode number, stable across mounts
	Nlink uint32
	Uid   uint32
	Gid   uint32
	Atime unix.Timespec
	Mtime unix.Timespec
	Ctime unix.Timespec
}

// Type is the file type, the S_IFMT bits of Mode.
func (a *Attr) Type() uint32 { return a.Mode & unix.S_IFMT }

// Item is one name in a view directory and where its bytes come from.
type Item struct {
	// Name is the view name.
	Name string
	Kind ItemKind
	Attr Attr
	// Entry is the plaintext entry (ItemEntry: its contents are encrypted,
	// or its target for a symlink), or the long entry a companion belongs
	// to; nil for efs.toml.
	Entry *Entry
	// Data is the bytes of a companion or efs.toml. Read only.
	Data []byte
	// Record is the plaintext of a directory record (ItemRecord), which
	// SealRecord turns into its view bytes. Read only.
	Record []byte
	// Err, if set, is why the view cannot show this entry (ErrTooLarge,
	// ErrPathTooLong, ErrTargetTooLong); Attr and Data are then unset. A
	// companion has the Err of its entry, which is the one to report. A
	// record with Err (ErrRecord) keeps its name, mode and inode number:
	// the FUSE view lists it and answers EIO for it, so that a sync tool
	// reports the error and keeps its earlier copy.
	Err error
}

// Dir is a directory of the view: its plaintext path and its view path,
// both relative to the root (Dir{} is the root).
type Dir struct {
	Rel, View string
}

// Ref is what a FUSE node keeps of the item it stands for: enough for Stat
// to find the item again and tell whether it is still the same one, and
// small, because the kernel may keep millions of nodes. The listing an
// item came from is not kept alive by its Ref.
type Ref struct {
	// Dir holds the item's view path (View) and the plaintext path of its
	// entry (Rel; for a companion its long entry's, for a record its
	// directory's, "" for efs.toml). For a directory it is the Dir to list.
	Dir
	Kind ItemKind
	// Ino and Type are the plaintext entry's inode number and file type
	// (entries only).
	Ino  uint64
	Type uint32
}

// Child is the Ref of item it of directory d.
func (d Dir) Child(it *Item) Ref { return d.child(it.Name, it) }

// child is Child of item it, whose view name is name. The FUSE lookup
// passes the name apart from the item: the escape analysis, which does
// not tell an Item's fields apart, would otherwise see the item's Entry
// pointer stored with the name, and move the Entry the lookup keeps on
// its stack to the heap.
func (d Dir) child(name string, it *Item) Ref {
	r := Ref{Dir: Dir{View: join(d.View, name)}, Kind: it.Kind}
	switch {
	case it.Kind == ItemRecord:
		r.Rel = d.Rel
	case it.Entry != nil:
		r.Rel = it.Entry.Rel
	}
	if it.Kind == ItemEntry {
		r.Ino, r.Type = it.Entry.Stat.Ino, it.Attr.Type()
	}
	return r
}

// parent is the directory holding r's item, and the item's view name.
func (r Ref) parent() (Dir, string) {
	rel := r.Rel
	if r.Kind != ItemRecord {
		rel, _ = split(r.Rel)
	}
	view, name := split(r.View)
	return Dir{Rel: rel, View: view}, name
}

// ErrStale: the plaintext entry behind a Ref was replaced (another inode
// or type at the same path). The FUSE view answers ESTALE, which makes the
// kernel look the path up again.
var ErrStale = errors.New("entry was replaced")

// Root is the view's root directory; Dir{}.Child of it is its Ref. Its
// inode number stays that of the directory first opened, when the root's
// path leads to another one (follow.go).
func (t *Tree) Root() (Item, error) {
	st, err := t.Lstat("")
	if err != nil {
		return Item{}, err
	}
	it := t.entryItem(&Entry{Stat: st})
	it.Attr.Ino = t.rootIno
	return it, nil
}

// List returns every item of view directory d, sorted by view name: the
// encrypted entries, a companion beside each long name, efs.toml at the
// root, and in format v2 the directory record. Entries the view cannot
// show are among them, with Err set.
func (t *Tree) List(d Dir) ([]Item, error) {
	l, err := t.readDir(d.Rel)
	if err != nil {
		return nil, err
	}
	defer l.close()
	var cfg *configFile
	if d.Rel == "" {
		if cfg, err = t.currentConfig(false); err != nil {
			return nil, err
		}
	}
	items := make([]Item, 0, len(l.entries)+2)
	var shown []*Entry // what the record lists
	if t.records() {
		shown = make([]*Entry, 0, len(l.entries))
	}
	for i := range l.entries {
		e := &l.entries[i]
		if e.Long() && cfg == nil {
			if cfg, err = t.currentConfig(false); err != nil {
				return nil, err
			}
		}
		it, comp := t.entryItems(d, e, cfg)
		items = append(items, it)
		if e.Long() {
			items = append(items, comp)
		}
		if t.records() && it.Err == nil {
			shown = append(shown, e)
		}
	}
	var extra []Item
	if d.Rel == "" && cfg != nil {
		extra = append(extra, t.configItem(cfg))
	}
	if t.records() {
		extra = append(extra, t.recordItem(d, l, shown))
	}
	return sortItems(items, extra), nil
}

// sortItems returns items and extra together, sorted by view name. The
// listing's items come sorted but for a companion out of place now and
// then; an Item is some 180 bytes, so they are not moved about by a sort:
// the few extra ones (efs.toml, efs.dir) are inserted where they belong,
// and an unsorted listing is sorted through its indexes.
func sortItems(items, extra []Item) []Item {
	name := func(it *Item) string { return it.Name }
	if !isSortedBy(items, name) {
		return sortedBy(append(items, extra...), name)
	}
	for i := range extra {
		at, _ := slices.BinarySearchFunc(items, extra[i].Name, func(it Item, name string) int { return strings.Compare(it.Name, name) })
		items = slices.Insert(items, at, extra[i])
	}
	return items
}

// Resolve finds the item that view name names in directory d. It is
// ErrNotFound when the view has no such item.
func (t *Tree) Resolve(d Dir, name string) (Item, error) {
	return t.resolveInto(d, name, new(Entry))
}

// resolveInto is Resolve with e as the room for the item's plaintext
// entry: the FUSE lookup, which drops the item once it made its node,
// passes one on its stack, sparing an allocation of some 250 bytes.
func (t *Tree) resolveInto(d Dir, name string, e *Entry) (Item, error) {
	if d.Rel == "" && name == naming.ConfigName {
		cfg, err := t.currentConfig(true)
		if err != nil {
			return Item{}, err
		}
		if cfg == nil {
			return Item{}, ErrNotFound
		}
		return t.configItem(cfg), nil
	}
	if name == naming.RecordName && t.records() {
		return t.recordOf(d)
	}
	long, companion := t.namer.IsCompanion(name)
	if !companion {
		long = name
	}
	var err error
	if *e, err = t.lookup(d.Rel, long); err != nil {
		return Item{}, err
	}
	var cfg *configFile
	if e.Long() {
		if cfg, err = t.currentConfig(false); err != nil {
			return Item{}, err
		}
	}
	// What entryItems would make of e, without the item not asked for.
	// The error is not taken from the item: passed on from there, it
	// made e escape to the heap for the escape analysis.
	if err := t.cannotShow(d, e); err != nil {
		return Item{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if companion { // of a long name (lookup found a stand-in)
		return t.companionItem(d, e, cfg), nil
	}
	return t.entryItem(e), nil
}

// entryItems is the item of plaintext entry e in directory d and, for a
// long name, its companion (cfg is the config for the companion's
// attributes). An entry the view cannot show has Err set (cannotShow), and
// so has its companion.
func (t *Tree) entryItems(d Dir, e *Entry, cfg *configFile) (it, comp Item) {
	err := t.cannotShow(d, e)
	if err != nil {
		it = Item{Name: e.Name, Kind: ItemEntry, Entry: e, Err: err}
	} else {
		it = t.entryItem(e)
	}
	if !e.Long() {
		return it, Item{}
	}
	comp = t.companionItem(d, e, cfg)
	comp.Err = err
	return it, comp
}

// cannotShow is why the view cannot show entry e of directory d, nil if it
// can: the entry itself (unshowable), or its view path or that of its
// companion too long (a long name could not be restored without its
// companion), or in format v2 that of the record inside a directory (a
// reader would find the directory damaged without it).
func (t *Tree) cannotShow(d Dir, e *Entry) error {
	if err := t.unshowable(&e.Stat); err != nil {
		return err
	}
	// The longest view path it brings, each longer than the entry's own.
	n := len(e.Name)
	if e.Long() {
		n = len(e.Companion())
	}
	if t.records() && e.IsDir() {
		n = max(n, len(e.Name)+len("/"+naming.RecordName))
	}
	if viewPathLen(d, n) > MaxViewPath {
		return ErrPathTooLong
	}
	return nil
}

// Stat returns the current attributes of the item r stands for. A
// plaintext entry must still be the same one (inode number and type),
// otherwise it is ErrStale; a virtual file is looked up again (efs.toml
// follows the config file, a record is computed again).
func (t *Tree) Stat(r Ref) (Attr, error) {
	if r.Kind != ItemEntry {
		d, name := r.parent()
		it, err := t.Resolve(d, name)
		if err != nil {
			return Attr{}, err
		}
		return it.Attr, nil
	}
	if r.View == "" {
		it, err := t.Root() // whichever directory the root's path leads to
		return it.Attr, err
	}
	return t.statEntry(r.Rel, r.Ino, r.Type)
}

// statEntry is Stat of the plaintext entry rel (not the root), which must
// still have inode number ino and file type typ.
func (t *Tree) statEntry(rel string, ino uint64, typ uint32) (Attr, error) {
	st, err := t.Lstat(rel)
	if err != nil {
		return Attr{}, err
	}
	if st.Ino != ino || uint32(st.Mode)&unix.S_IFMT != typ {
		return Attr{}, ErrStale
	}
	if err := t.unshowable(&st); err != nil {
		return Attr{}, err
	}
	return t.entryAttr(rel, &st), nil
}

// Reread returns the item r stands for as it is now, for opening a
// virtual file: its current bytes and attributes.
func (t *Tree) Reread(r Ref) (Item, error) {
	d, name := r.parent()
	return t.Resolve(d, name)
}

// entryItem is the item of plaintext entry e, with Err set for an entry
// the view cannot show whatever its path.
func (t *Tree) entryItem(e *Entry) Item {
	it := Item{Name: e.Name, Kind: ItemEntry, Entry: e}
	if it.Err = t.unshowable(&e.Stat); it.Err == nil {
		it.Attr = t.entryAttr(e.Rel, &e.Stat)
	}
	return it
}

// Entries the view cannot show. List returns them with Item.Err set, so
// that export reports them as failed; the FUSE view leaves them out (and
// logs each once), and Resolve does not find them.
var (
	// ErrTooLarge: a regular file larger than content.MaxPlainSize
	// (padded: MaxPaddedPlainSize; only a sparse file can be one), whose
	// encrypted size would not fit a file size.
	ErrTooLarge = errors.New("file too large to encrypt: its encrypted size would exceed the largest file size, 2^63-1 bytes")
	// ErrPathTooLong: the entry's view path is longer than MaxViewPath,
	// so that sync tools cannot open it ("File name too long"). In format
	// v2 a directory whose record's path would be is left out too.
	ErrPathTooLong = errors.New("view path longer than 4095 bytes, the system's PATH_MAX: shorten the plaintext path")
	// ErrTargetTooLong: in format v1, a symlink whose encrypted target
	// would be longer than a symlink can hold (a target of more than 3055
	// bytes). Format v2 stores it.
	ErrTargetTooLong = errors.New("symlink target longer than 3055 bytes, more than format v1 can store (format v2 can)")
)

// MaxViewPath is the longest view path, relative to the view's root and
// in bytes, that the view shows: PATH_MAX less its terminating NUL.
// A plaintext path of L bytes in k names takes about 1.6·L + 27·k bytes in
// the view (base32), so deep plaintext paths may not fit.
const MaxViewPath = unix.PathMax - 1

// viewPathLen is the length of the view path of an item of directory d
// whose name is n bytes long.
func viewPathLen(d Dir, n int) int {
	if d.View != "" {
		n += len(d.View) + 1
	}
	return n
}

// unshowable is why the view cannot show the entry with lstat st wherever
// it is: a file too large (ErrTooLarge) or, in format v1, a symlink target
// too long (ErrTargetTooLong).
func (t *Tree) unshowable(st *unix.Stat_t) error {
	if st.Mode&unix.S_IFMT == unix.S_IFLNK && !t.records() && t.namer.TargetLen(int(st.Size)) > naming.MaxTargetLen {
		return ErrTargetTooLong
	}
	return t.tooLarge(st)
}

// tooLarge is ErrTooLarge for a regular file whose size cannot be shown.
func (t *Tree) tooLarge(st *unix.Stat_t) error {
	if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size > t.maxPlainSize() {
		return ErrTooLarge
	}
	return nil
}

// entryAttr is what the view shows for the plaintext entry rel with lstat
// st. Regular files and symlinks have one link whatever the plaintext link
// count: every path is its own file in the view (its own key, inode number
// and ciphertext), and a sync tool that preserves hard links would look
// for partners that do not exist. With hidden metadata its mode, owner and
// times are replaced (hidemeta.go), here and for every other item, so that
// no item escapes it.
func (t *Tree) entryAttr(rel string, st *unix.Stat_t) Attr {
	a := Attr{
		Mode: uint32(st.Mode), Size: t.ViewSize(st), Ino: t.Ino(rel, st.Ino), Nlink: 1,
		Uid: st.Uid, Gid: st.Gid, Atime: st.Atim, Mtime: st.Mtim, Ctime: st.Ctim,
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		a.Nlink = uint32(st.Nlink)
	}
	t.hide(&a, rel, st.Mtim)
	return a
}

// companionItem is the companion of long entry e in directory d: its full
// encoded name, mode 0444. Its bytes are a pure function of its own view
// path (the stand-in is a hash of them), so it takes the config's owner
// and timestamps, which never change with the entry's contents: a sync tool
// copies it once. Without a config it has the entry's owner and time zero.
func (t *Tree) companionItem(d Dir, e *Entry, cfg *configFile) Item {
	name := e.Companion()
	a := Attr{
		Mode: unix.S_IFREG | 0o444, Size: int64(len(e.Full)), Nlink: 1,
		Ino: t.virtualIno(inoKindCompanion, join(d.View, name)),
	}
	if cfg != nil {
		a.Uid, a.Gid = cfg.st.Uid, cfg.st.Gid
		a.Atime, a.Mtime, a.Ctime = cfg.st.Mtim, cfg.st.Mtim, cfg.st.Mtim
	} else {
		a.Uid, a.Gid = e.Stat.Uid, e.Stat.Gid
	}
	t.hideConfigTimes(&a, cfg)
	return Item{Name: name, Kind: ItemCompanion, Attr: a, Entry: e, Data: []byte(e.Full)}
}

// configItem is efs.toml: the config's bytes, owner and only its read
// bits, and its mtime as every timestamp (stable while the file is).
func (t *Tree) configItem(cfg *configFile) Item {
	a := Attr{
		Mode: unix.S_IFREG | uint32(cfg.st.Mode)&0o444, Size: int64(len(cfg.data)), Nlink: 1,
		Ino: t.virtualIno(inoKindConfig, naming.ConfigName),
		Uid: cfg.st.Uid, Gid: cfg.st.Gid,
		Atime: cfg.st.Mtim, Mtime: cfg.st.Mtim, Ctime: cfg.st.Mtim,
	}
	t.hideConfigTimes(&a, cfg)
	return Item{Name: naming.ConfigName, Kind: ItemConfig, Attr: a, Data: cfg.data}
}

// configFile is one reading of the config file shown as efs.toml.
type configFile struct {
	data []byte
	st   unix.Stat_t // fstat of the file the bytes were read from
}

// configAt is where the config file is: its name in the root directory
// rootFD when it lives in the tree (so that it follows the root), its path
// otherwise.
func (t *Tree) configAt(rootFD int) (dirfd int, path string) {
	if t.cfgInTree {
		return rootFD, config.FileName
	}
	return unix.AT_FDCWD, t.cfgPath
}

// readConfig reads the config file (rootFD is the root) and the stat of
// what it read.
func (t *Tree) readConfig(rootFD int) (*configFile, error) {
	dirfd, path := t.configAt(rootFD)
	// O_NONBLOCK and checkRegular: a FIFO at the path must not hang us.
	fd, err := unix.Openat(dirfd, path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	cf := &configFile{}
	if err := checkRegular(fd, &cf.st); err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if cf.data, err = io.ReadAll(f); err != nil {
		return nil, err
	}
	return cf, nil
}

// sameVersion reports whether two stats are of the same unchanged file.
func sameVersion(a, b *unix.Stat_t) bool {
	return a.Dev == b.Dev && a.Ino == b.Ino && a.Size == b.Size && a.Mtim == b.Mtim && a.Ctim == b.Ctim
}

// currentConfig returns the config as efs.toml shows it now, nil without
// one; force checks the root's path first (follow.go), as an operation on
// the root directory does. The file is stat'ed on every call and read again
// when it changed (efs passwd replaces it while the view is mounted). A new
// version is shown only once it parses as a config with this view's
// settings, so a half-written file never reaches a backup; a config that
// cannot be read keeps its last good version, so a backup never loses it.
// A config missing from the tree makes the whole view unavailable
// (ErrUnavailable): the directory is being emptied or recreated.
func (t *Tree) currentConfig(force bool) (*configFile, error) {
	rootFD, err := t.lockRoot(force)
	if err != nil {
		return nil, err
	}
	defer t.rootMu.RUnlock()
	if t.cfgPath == "" {
		return nil, nil
	}
	var st unix.Stat_t
	dirfd, path := t.configAt(rootFD)
	statErr := unix.Fstatat(dirfd, path, &st, 0)
	t.cfgMu.Lock()
	defer t.cfgMu.Unlock()
	if statErr != nil || sameVersion(&st, &t.cfg.st) || sameVersion(&st, &t.cfgRejected) {
		return t.cfg, nil
	}
	cf, err := t.readConfig(rootFD)
	if err == nil {
		err = t.checkConfig(cf.data)
	}
	if err != nil {
		t.cfgRejected = st
		t.log.Warn("the config file changed but cannot be shown; efs.toml keeps its earlier version", "err", configReason(err))
		return t.cfg, nil
	}
	t.cfg = cf
	return cf, nil
}

// Reasons a changed config is not shown.
var (
	errConfigInvalid  = errors.New("not a valid efs config")
	errConfigSettings = errors.New("its format settings differ from the mounted view's")
	errConfigKey      = errors.New("it is for another master key than the mounted view's")
)

// checkConfig accepts config bytes that parse and describe this view.
func (t *Tree) checkConfig(data []byte) error {
	c, err := config.Parse(data)
	if err != nil {
		return errConfigInvalid
	}
	if c.Settings != t.settings {
		return errConfigSettings
	}
	// A config for other keys (efs init run again) beside files encrypted
	// under this view's keys would make the backup undecryptable.
	if c.VerifyKeys(t.keys) != nil {
		return errConfigKey
	}
	return nil
}

// configReason words a config problem for a log line without its path.
func configReason(err error) string {
	if errors.Is(err, errConfigInvalid) || errors.Is(err, errConfigSettings) || errors.Is(err, errConfigKey) {
		return err.Error()
	}
	return reason(err)
}
