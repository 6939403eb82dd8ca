//go:build linux

package forward

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"sync"
	"syscall"

	"github.com/efs-project/efs/internal/fusemount"
	"github.com/efs-project/efs/naming"
	"github.com/efs-project/efs/record"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// MountOptions configure the FUSE view.
type MountOptions struct {
	// AllowOther lets other users see the mount.
	AllowOther bool
	// Log receives one line per entry or block that fails, naming the
	// ciphertext path only.
	Log *slog.Logger
}

// Mount mounts the decrypting read-only view of b at mountpoint.
//
// In a format v2 backup every mode, owner, time, size, symlink target and
// xattr shown comes from the directory records, never from the storage;
// an entry the record does not list is shown with its stored mode & 0777,
// the mounting user as owner and its stored mtime, as restore writes it.
// Hard links are separate files with their own inode numbers, as in the
// backup. Entries that differ from their record and damaged ones are
// logged, by ciphertext path only.
func Mount(b *Backup, mountpoint string, opts MountOptions) (*fuse.Server, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e, err := b.Resolve("")
	if err != nil {
		return nil, err
	}
	v := &view{b: b, log: log, v2: b.Format() >= 2, uid: uint32(os.Getuid()), gid: uint32(os.Getgid())}
	switch {
	case !v.v2:
		log.Warn("format v1 backup: modes, owners and times come from the storage, unauthenticated")
	case e.RecordErr != nil:
		v.recordDamaged("", e.RecordErr)
	}
	root := v.node(e)
	o := fusemount.Options(fusemount.Config{
		FsName: b.Dir(), AllowOther: opts.AllowOther,
		// Other users see the mount: let the kernel enforce the
		// backed-up modes and owners for them (as gocryptfs does).
		DefaultPermissions: opts.AllowOther,
		RootIno:            e.Stat.Ino, Log: log,
	})
	return fusemount.Mount(mountpoint, root, o, log)
}

// view is what the nodes of one mount share.
type view struct {
	b   *Backup
	log *slog.Logger
	// v2: the backup has directory records, the only source of metadata.
	v2 bool
	// uid and gid own the entries a v2 record does not list: restore
	// gives them no owner of their own, so they belong to whoever runs it.
	uid, gid uint32
	// reported holds the ciphertext paths already logged as differing
	// from their record, so that each is logged once per mount and not on
	// every lookup, stat or open.
	reported sync.Map
	// otherVersion holds the ciphertext paths of the files found (by a
	// stat or an open) to be another version than their record lists.
	// They are kept by path, not in the node: a lookup after the kernel's
	// entry cache expired makes a new node that go-fuse then drops for
	// the one it knows, after its attributes are taken.
	otherVersion sync.Map
}

// node returns the node of entry e.
func (v *view) node(e Entry) *node {
	return &node{v: v, rel: e.Rel, crel: e.CRel, meta: e.Meta, fromRecord: e.FromRecord}
}

// outOfSync logs, once per path, that the entry at crel differs from its
// directory record; err (whose words never hold a plaintext name) says
// how.
func (v *view) outOfSync(crel string, err error) {
	if _, done := v.reported.LoadOrStore(crel, true); done {
		return
	}
	v.log.Warn("entry differs from its directory record (changed while the upload ran, or rolled back by the storage)", "path", crel, "err", err)
}

// recordDamaged logs, once per directory, that the record of the
// directory at crel is missing, not authentic or malformed.
func (v *view) recordDamaged(crel string, err error) {
	p := join(crel, naming.RecordName)
	if _, done := v.reported.LoadOrStore(p, true); done {
		return
	}
	v.log.Error("directory record failed, its entries are shown with the storage's metadata", "path", p, "err", err)
}

// node is one directory, file or symlink of the view. Paths and record
// entries are fixed for the node's lifetime: the view is read-only,
// nothing is renamed.
type node struct {
	fs.Inode
	v         *view
	rel, crel string
	// meta is the entry as its directory record lists it; nil in a v1
	// backup and for an entry the record does not list.
	meta *record.Entry
	// fromRecord: a symlink the record lists and the storage does not
	// hold (storage without symlinks drops them); shown from the record.
	fromRecord bool
}

// The view implements these operations; everything else that would
// change the tree returns EROFS.
var (
	_ fs.NodeLookuper      = (*node)(nil)
	_ fs.NodeGetattrer     = (*node)(nil)
	_ fs.NodeOpener        = (*node)(nil)
	_ fs.NodeReadlinker    = (*node)(nil)
	_ fs.NodeStatfser      = (*node)(nil)
	_ fs.NodeSetattrer     = (*node)(nil)
	_ fs.NodeMkdirer       = (*node)(nil)
	_ fs.NodeMknoder       = (*node)(nil)
	_ fs.NodeCreater       = (*node)(nil)
	_ fs.NodeUnlinker      = (*node)(nil)
	_ fs.NodeRmdirer       = (*node)(nil)
	_ fs.NodeRenamer       = (*node)(nil)
	_ fs.NodeSymlinker     = (*node)(nil)
	_ fs.NodeLinker        = (*node)(nil)
	_ fs.NodeSetxattrer    = (*node)(nil)
	_ fs.NodeRemovexattrer = (*node)(nil)
	_ fs.NodeGetxattrer    = (*node)(nil)
	_ fs.NodeListxattrer   = (*node)(nil)
	_ fs.FileReader        = (*handle)(nil)
	_ fs.FileReleaser      = (*handle)(nil)
	_ fs.FileFlusher       = (*handle)(nil)
)

// Directories are listed through a handle, which also answers READDIRPLUS.
var (
	_ fs.NodeOpendirHandler = (*node)(nil)
	_ fs.FileReaddirenter   = (*dirHandle)(nil)
	_ fs.FileSeekdirer      = (*dirHandle)(nil)
	_ fs.FileLookuper       = (*dirHandle)(nil)
)

// errno maps an error to the FUSE answer: damage and an entry that
// differs from its record are EIO (and logged by the caller), unless the
// entry is simply not there; system errors keep their errno.
func errno(err error) syscall.Errno {
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, ErrDamaged), errors.Is(err, ErrOutOfSync):
		return syscall.EIO
	}
	return fs.ToErrno(err)
}

// ino is the inode number the view shows for e: the stored entry's, or for
// a symlink recreated from the record (which has none) a number derived
// from its ciphertext path, stable across lookups and mounts, with the top
// bit set so that it stays clear of the storage's own numbers.
func ino(e *Entry) uint64 {
	if !e.FromRecord {
		return e.Stat.Ino
	}
	h := sha256.Sum256([]byte("efs mount: symlink from the record\x00" + e.CRel))
	return binary.BigEndian.Uint64(h[:8]) | 1<<63
}

// shown reports whether the view shows e: a directory, file or symlink
// whose stored type is the one its record entry (if any) says, or a
// symlink recreated from the record. An entry stored with another type
// than the record's is out of sync, and not shown, as restore leaves it
// out.
func shown(e *Entry) bool {
	m := e.Meta
	switch {
	case e.FromRecord:
		return m != nil && m.Type == record.Symlink
	case e.Kind == Other:
		return false
	case m != nil:
		return typeBits(m.Type) == e.Stat.Mode&syscall.S_IFMT
	}
	return true
}

// typeBits are the S_IFMT bits of a record entry's type.
func typeBits(t record.Type) uint32 {
	switch t {
	case record.Dir:
		return syscall.S_IFDIR
	case record.Symlink:
		return syscall.S_IFLNK
	}
	return syscall.S_IFREG
}

// attr fills out for the node whose stored entry has the lstat st (with
// the plaintext size of a file; zero for a symlink from the record) and
// inode number ino.
func (n *node) attr(out *fuse.Attr, st *syscall.Stat_t, ino uint64) {
	out.FromStat(st)
	out.Ino = ino
	m := n.meta
	switch {
	case m != nil:
		out.Mode = typeBits(m.Type) | m.Mode
		out.Uid, out.Gid = m.UID, m.GID
		size, mtime := m.Size, syscall.Timespec{Sec: m.MtimeSec, Nsec: int64(m.MtimeNsec)}
		if m.Type == record.File && uint64(st.Size) != m.Size {
			n.v.outOfSync(n.crel, fmt.Errorf("%w: %d bytes stored, its record lists %d", ErrOutOfSync, st.Size, m.Size))
			n.v.otherVersion.Store(n.crel, true)
		}
		if _, other := n.v.otherVersion.Load(n.crel); other {
			// The content served is the stored one, authenticated but
			// not the version the record lists: its size is what a
			// read returns, its mtime the stored one (as restore
			// writes it).
			size, mtime = uint64(st.Size), st.Mtim
		}
		// The storage's atime and ctime say nothing about the file.
		out.Mtime, out.Mtimensec = uint64(mtime.Sec), uint32(mtime.Nsec)
		out.Atime, out.Atimensec = out.Mtime, out.Mtimensec
		out.Ctime, out.Ctimensec = out.Mtime, out.Mtimensec
		out.Size, out.Blocks = size, (size+511)/512
		if n.fromRecord {
			out.Nlink = 1
		}
	case n.v.v2:
		// Not in the record: as restore writes it, with no set-id or
		// sticky bit and no owner of its own.
		out.Mode = st.Mode&syscall.S_IFMT | st.Mode&0o777
		out.Uid, out.Gid = n.v.uid, n.v.gid
	}
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	e, err := n.v.b.Lookup(n.rel, n.crel, name)
	if err != nil {
		switch {
		case errors.Is(err, ErrDamaged):
			n.v.log.Error("entry failed authentication", "path", e.CRel, "err", err)
		case errors.Is(err, ErrOutOfSync):
			n.v.outOfSync(e.CRel, err)
		}
		return nil, errno(err)
	}
	if !shown(&e) {
		return nil, syscall.ENOENT
	}
	return n.child(ctx, &e, out), 0
}

// child makes the inode of the shown entry e of directory n and fills out,
// for a LOOKUP or a READDIRPLUS entry.
func (n *node) child(ctx context.Context, e *Entry, out *fuse.EntryOut) *fs.Inode {
	switch err := e.RecordErr; {
	case err == nil:
	case errors.Is(err, ErrOutOfSync):
		n.v.outOfSync(e.CRel, err)
	default:
		n.v.recordDamaged(n.crel, err)
	}
	child := n.v.node(*e)
	i := ino(e)
	child.attr(&out.Attr, &e.Stat, i)
	return n.NewInode(ctx, child, fs.StableAttr{Mode: entryMode(e), Ino: i})
}

// entryMode is the S_IFMT bits the view shows for e: its record's type,
// or the stored one.
func entryMode(e *Entry) uint32 {
	if m := e.Meta; m != nil {
		return typeBits(m.Type)
	}
	return e.Stat.Mode & syscall.S_IFMT
}

// OpendirHandle opens the directory; its handle lists it once and
// serves READDIRPLUS from that listing: every entry's attributes come from
// the listing's stat and record, with no second lookup of each name.
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return &dirHandle{dir: n}, 0, 0
}

// dirHandle is an open directory: the shown entries of one listing, read
// at the first readdir (as go-fuse's own dir streams do, so that an
// unreadable directory fails its readdir, not its open).
type dirHandle struct {
	dir     *node
	listed  bool
	entries []Entry
	// pos is the index of the next entry; Readdirent hands out pos+1 as
	// the offset after an entry, which Seekdir takes back.
	pos int
	// de is what Readdirent returns, filled anew for every entry: go-fuse
	// copies it before it asks for the next.
	de fuse.DirEntry
}

// list reads the directory and logs what it leaves out.
func (h *dirHandle) list() syscall.Errno {
	n := h.dir
	l, err := n.v.b.ReadDir(n.rel, n.crel)
	if err != nil {
		return errno(err)
	}
	for _, p := range l.Damaged {
		n.v.log.Error("entry failed authentication, left out of the listing", "path", p.Stored, "err", p.Err)
	}
	for _, p := range l.OutOfSync {
		n.v.outOfSync(p.Stored, p.Err)
	}
	for _, p := range l.Foreign {
		n.v.log.Debug("foreign entry (not an efs name) ignored", "path", p)
	}
	shownEntries := l.Entries[:0]
	for _, e := range l.Entries {
		if shown(&e) {
			shownEntries = append(shownEntries, e)
		}
	}
	h.entries, h.listed = shownEntries, true
	return 0
}

func (h *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if !h.listed {
		if en := h.list(); en != 0 {
			return nil, en
		}
	}
	if h.pos >= len(h.entries) {
		return nil, 0
	}
	e := &h.entries[h.pos]
	h.pos++
	h.de = fuse.DirEntry{Name: e.Name, Mode: entryMode(e), Ino: ino(e), Off: uint64(h.pos)}
	return &h.de, 0
}

// Seekdir moves to an offset Readdirent handed out; 0 is the start
// (rewinddir). The backup does not change under the mount, so the
// listing is kept.
func (h *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if !h.listed {
		if en := h.list(); en != 0 {
			return en
		}
	}
	if off > uint64(len(h.entries)) {
		return syscall.EINVAL
	}
	h.pos = int(off)
	return 0
}

// Lookup serves READDIRPLUS: name is the entry Readdirent just returned,
// answered from the listing as a LOOKUP would answer it. A file whose
// stored size is impossible goes through the directory's Lookup, which
// reports the damage (EIO) as it would for a stat.
func (h *dirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n := h.dir
	if h.pos == 0 || h.entries[h.pos-1].Name != name || h.entries[h.pos-1].StatErr != nil {
		return n.Lookup(ctx, name, out)
	}
	return n.child(ctx, &h.entries[h.pos-1], out), 0
}

func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	var st syscall.Stat_t
	if !n.fromRecord {
		var err error
		if st, err = n.v.b.Lstat(n.rel, n.crel); err != nil {
			if errors.Is(err, ErrDamaged) {
				n.v.log.Error("file has an impossible size", "path", n.crel)
			}
			return errno(err)
		}
	}
	n.attr(&out.Attr, &st, n.StableAttr().Ino)
	return 0
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if !fusemount.ReadOnly(flags) {
		return nil, 0, syscall.EROFS
	}
	f, err := n.v.b.Open(n.rel, n.crel)
	if err != nil {
		if errors.Is(err, ErrDamaged) {
			n.v.log.Error("file failed authentication", "path", n.crel, "err", err)
		}
		return nil, 0, errno(err)
	}
	if err := f.CheckRecord(n.meta); err != nil {
		// Served anyway: its content authenticates, it is only another
		// version than the record's (FORMAT.md, "Reading a v2 backup").
		n.v.outOfSync(n.crel, err)
		n.v.otherVersion.Store(n.crel, true)
	}
	// The backup does not change under the mount: let the kernel keep
	// pages across opens.
	return &handle{f: f, log: n.v.log}, fuse.FOPEN_KEEP_CACHE, 0
}

// Readlink: in v2 the target is the record's (Backup.Target); the stored
// link only shows that the storage kept it, and is checked so that damage
// and a link that differs from its record are still logged.
func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	t, err := n.v.b.Target(Entry{Rel: n.rel, CRel: n.crel, Meta: n.meta, FromRecord: n.fromRecord})
	switch {
	case errors.Is(err, ErrDamaged):
		n.v.log.Error("symlink target failed authentication", "path", n.crel, "err", err)
		return nil, syscall.EIO
	case errors.Is(err, ErrOutOfSync):
		n.v.outOfSync(n.crel, err)
		if t == "" {
			return nil, syscall.EIO
		}
	case err != nil:
		return nil, errno(err)
	}
	return []byte(t), 0
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	var s syscall.Statfs_t
	if err := syscall.Statfs(n.v.b.Dir(), &s); err != nil {
		return fs.ToErrno(err)
	}
	out.FromStatfsT(&s)
	return 0
}

func (n *node) Setattr(context.Context, fs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}
func (n *node) Mkdir(context.Context, string, uint32, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (n *node) Mknod(context.Context, string, uint32, uint32, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (n *node) Create(context.Context, string, uint32, uint32, *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EROFS
}
func (n *node) Unlink(context.Context, string) syscall.Errno { return syscall.EROFS }
func (n *node) Rmdir(context.Context, string) syscall.Errno  { return syscall.EROFS }
func (n *node) Rename(context.Context, string, fs.InodeEmbedder, string, uint32) syscall.Errno {
	return syscall.EROFS
}
func (n *node) Symlink(context.Context, string, string, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (n *node) Link(context.Context, fs.InodeEmbedder, string, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (n *node) Setxattr(context.Context, string, []byte, uint32) syscall.Errno { return syscall.EROFS }
func (n *node) Removexattr(context.Context, string) syscall.Errno              { return syscall.EROFS }

// Getxattr serves a v2 entry's xattrs (user.* and POSIX ACLs) from its
// record. A v1 backup carries none: ENOSYS makes the kernel stop asking
// for the whole mount (it answers EOPNOTSUPP itself) instead of one round
// trip per `ls -l` probe of every entry. A v2 entry without a record entry
// has none either, but answers ENODATA: ENOSYS would switch xattrs off
// for every other entry of the mount too.
//
// A name no record can carry (security.*, trusted.*, system.* besides the
// ACLs) answers EOPNOTSUPP, for every entry: the view has no such
// namespace. That is what ls needs to stop its per-entry probe of
// security.selinux on the whole device (coreutils caches "unsupported"
// by st_dev), half the round trips of an `ls -l`; unlike ENOSYS, the
// kernel passes it on and keeps asking for the names records hold.
func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if !n.v.v2 {
		return 0, syscall.ENOSYS
	}
	if !record.KeptXattr(attr) {
		return 0, syscall.EOPNOTSUPP
	}
	if n.meta == nil {
		return 0, syscall.ENODATA
	}
	for _, x := range n.meta.Xattrs {
		if x.Name == attr {
			if len(dest) < len(x.Value) {
				return uint32(len(x.Value)), syscall.ERANGE
			}
			return uint32(copy(dest, x.Value)), 0
		}
	}
	return 0, syscall.ENODATA
}

// Listxattr lists the names Getxattr serves, each ending in a zero byte.
func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	if !n.v.v2 {
		return 0, syscall.ENOSYS
	}
	var list []byte
	if n.meta != nil {
		for _, x := range n.meta.Xattrs {
			list = append(append(list, x.Name...), 0)
		}
	}
	if len(dest) < len(list) {
		return uint32(len(list)), syscall.ERANGE
	}
	return uint32(copy(dest, list)), 0
}

// handle is an open file of the view.
type handle struct {
	f   *File
	log *slog.Logger
}

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.f.ReadAt(dest, off)
	if err != nil && err != io.EOF {
		if errors.Is(err, ErrDamaged) {
			h.log.Error("block failed authentication, returning EIO", "path", h.f.CRel(), "offset", off, "err", err)
			return nil, syscall.EIO
		}
		return nil, errno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Flush answers ENOSYS: a read-only file has nothing to flush, and after
// the first ENOSYS the kernel stops sending FLUSH on every close(2).
func (h *handle) Flush(ctx context.Context) syscall.Errno { return syscall.ENOSYS }

func (h *handle) Release(ctx context.Context) syscall.Errno {
	if err := h.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fs.ToErrno(err)
	}
	return 0
}
