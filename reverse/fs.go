//go:build linux

package reverse

// The FUSE side of the reverse view: a thin, read-only go-fuse adapter over
// the Tree's model (items.go). Tree.List serves readdir(plus), Tree.Resolve
// lookups, Tree.Stat getattr, Tree.SealRecord the bytes of efs.dir; what
// the view shows and with which attributes is decided there, not here.
// Every node keeps only what rebuilds the Ref of its item and asks the
// Tree again on each call, so the view follows the plaintext tree as it
// changes (within the 1 s kernel cache). Nothing here writes to the
// plaintext tree: the mount is "ro", the nodes implement only read
// operations, and go-fuse's defaults refuse the rest.

import (
	"bytes"
	"context"
	"errors"
	"hash/maphash"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/fusemount"
	"github.com/efs-project/efs/record"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// MountOptions configure Mount.
type MountOptions struct {
	// AllowOther lets other users see the mount (FUSE allow_other).
	AllowOther bool
	// FsName is shown as the mount's source in the mount table and df.
	FsName string
	// Debug logs every FUSE request to the Tree's logger. Debug lines
	// carry view names only (the view never holds plaintext names).
	Debug bool
}

// Mount mounts the view of t at mountpoint and returns the running server.
// t and its keys must stay alive until the server has stopped.
func Mount(t *Tree, mountpoint string, opts MountOptions) (*fuse.Server, error) {
	fo, root, err := fsOptions(t, opts)
	if err != nil {
		return nil, err
	}
	server, err := fusemount.Mount(mountpoint, root, fo, t.log)
	if err != nil {
		return nil, err
	}
	fusemount.SetReadahead(mountpoint, readahead, t.log)
	if err := t.hideMount(mountpoint); err != nil {
		t.log.Warn("cannot stat the mountpoint: a mountpoint inside the plaintext directory would show the view inside itself", "err", reason(err))
	}
	return server, nil
}

// readahead is the view's kernel readahead window. At 4 MiB the kernel
// sends a sequential reader's 1 MiB requests four at a time rather than one
// after the other, and the daemon's threads sleep and wake half as often:
// warm 1 GiB read on 2 cores, 13,000 → 7,000 context switches and about
// 15% less daemon CPU than at 1 MiB; 8 MiB did no better.
const readahead = 4 << 20

// fsOptions returns the go-fuse options and the root node Mount uses.
func fsOptions(t *Tree, opts MountOptions) (*fs.Options, fs.InodeEmbedder, error) {
	it, err := t.Root()
	if err != nil {
		return nil, nil, err
	}
	v := &view{tree: t, log: t.log, seed: maphash.MakeSeed(), keep: keepLeaves, batch: pruneBatch}
	root := &dirNode{node: node{v: v}, ref: Dir{}.Child(&it)}
	fsName := opts.FsName
	if fsName == "" {
		fsName = "efs"
	}
	fo := fusemount.Options(fusemount.Config{
		FsName: fsName, AllowOther: opts.AllowOther,
		// The kernel checks the plaintext mode bits (matters with
		// --allow-other).
		DefaultPermissions: true,
		RootIno:            it.Attr.Ino, Debug: opts.Debug, Log: t.log,
	})
	return fo, root, nil
}

// view is the state shared by all nodes of one mount.
type view struct {
	tree *Tree
	log  *slog.Logger
	seed maphash.Seed // of the fingerprints of what file opens served

	mu     sync.Mutex
	warned map[string]bool // view paths of entries left out and logged

	// results are the READ replies in flight (readResult), reused.
	results sync.Pool

	// Leaf nodes made and not yet pruned, oldest first; more than keep
	// are pruned batch at a time (keepLeaves, pruneBatch but in tests).
	pruneMu     sync.Mutex
	leaves      []*fs.Inode
	keep, batch int
}

// maxWarned bounds the memory of entries already logged as left out;
// past it, they are logged again.
const maxWarned = 4096

// omitted logs, once per view path, an entry the view leaves out because
// it cannot show it (err says why).
func (v *view) omitted(viewPath string, err error) {
	v.warnOnce(viewPath, "the view leaves out an entry it cannot show", err)
}

// warnOnce logs msg about the item at viewPath, once per view path.
func (v *view) warnOnce(viewPath, msg string, err error) {
	v.mu.Lock()
	if v.warned == nil || len(v.warned) >= maxWarned {
		v.warned = make(map[string]bool)
	}
	seen := v.warned[viewPath]
	v.warned[viewPath] = true
	v.mu.Unlock()
	if !seen {
		v.log.Warn(msg, "path", shortPath(viewPath), "bytes", len(viewPath), "err", reason(err))
	}
}

// Interfaces the nodes implement. Left out on purpose, because the view is
// read-only: Setattr, Create, Mkdir, Mknod, Link, Symlink, Unlink, Rmdir,
// Rename, Setxattr, Removexattr, Write, Fsync, Allocate,
// CopyFileRange, Lseek (no holes: ciphertext has none), locks and ioctls.
// The "ro" mount makes the kernel refuse writes with EROFS before they
// reach go-fuse, whose defaults refuse anything that still arrives.
var (
	_ fs.NodeLookuper       = (*dirNode)(nil)
	_ fs.NodeOpendirHandler = (*dirNode)(nil)
	_ fs.NodeGetattrer      = (*dirNode)(nil)
	_ fs.NodeStatfser       = (*dirNode)(nil)
	_ fs.NodeGetxattrer     = (*dirNode)(nil)
	_ fs.NodeListxattrer    = (*dirNode)(nil)

	_ fs.FileReaddirenter = (*dirHandle)(nil)
	_ fs.FileSeekdirer    = (*dirHandle)(nil)
	_ fs.FileLookuper     = (*dirHandle)(nil)

	_ fs.NodeGetattrer   = (*fileNode)(nil)
	_ fs.NodeOpener      = (*fileNode)(nil)
	_ fs.NodeStatfser    = (*fileNode)(nil)
	_ fs.NodeGetxattrer  = (*fileNode)(nil)
	_ fs.NodeListxattrer = (*fileNode)(nil)
	_ fs.FileReader      = (*fileHandle)(nil)
	_ fs.FileReleaser    = (*fileHandle)(nil)
	_ fs.FileFlusher     = (*fileHandle)(nil)

	_ fs.NodeGetattrer   = (*linkNode)(nil)
	_ fs.NodeReadlinker  = (*linkNode)(nil)
	_ fs.NodeStatfser    = (*linkNode)(nil)
	_ fs.NodeGetxattrer  = (*linkNode)(nil)
	_ fs.NodeListxattrer = (*linkNode)(nil)

	_ fs.NodeGetattrer   = (*virtualNode)(nil)
	_ fs.NodeOpener      = (*virtualNode)(nil)
	_ fs.NodeStatfser    = (*virtualNode)(nil)
	_ fs.NodeGetxattrer  = (*virtualNode)(nil)
	_ fs.NodeListxattrer = (*virtualNode)(nil)
	_ fs.FileReader      = (*virtualHandle)(nil)

	_ fs.NodeGetattrer   = (*recordNode)(nil)
	_ fs.NodeOpener      = (*recordNode)(nil)
	_ fs.NodeStatfser    = (*recordNode)(nil)
	_ fs.NodeGetxattrer  = (*recordNode)(nil)
	_ fs.NodeListxattrer = (*recordNode)(nil)
	_ fs.FileReader      = (*recordHandle)(nil)
	_ fs.FileReleaser    = (*recordHandle)(nil)
	_ fs.FileFlusher     = (*recordHandle)(nil)
)

// node is a directory's share of what every node kind has: the mount's
// state, statfs and the (empty) extended attributes.
type node struct {
	fs.Inode
	v *view
}

// leaf is what every node kind but directories shares: the inode and
// the item's place.
type leaf struct {
	fs.Inode
	place
}

// place is what a node other than a directory keeps of its item: the
// plaintext name and inode number, from which, with its directory's
// node and its view name there, ref builds its Ref on each call. The
// kernel keeps a node for every entry it has looked up (a backup tool
// walks them all, a million for a million files) until it forgets them,
// so a place holds no path, and neither the directory nor the view name:
// they are the Inode's parent and its name there, which go-fuse keeps
// anyway (a leaf's view inode number comes from its path, so it has one
// parent, until the kernel forgets it). Only the few directory nodes
// keep whole paths.
type place struct {
	plain string // plaintext name of the entry, or a companion's long entry
	ino   uint64 // the plaintext entry's inode number (entries only)
}

// placeOf is the place of item it.
func placeOf(it *Item) place {
	var l place
	if it.Entry != nil && it.Kind != ItemRecord {
		l.plain = it.Entry.Plain
	}
	if it.Kind == ItemEntry {
		l.ino = it.Entry.Stat.Ino
	}
	return l
}

// ref is the Ref of the item of node l, of kind k and file type typ (as
// Dir.Child gives it). A node that is in no directory (go-fuse dropped
// it from its parent) has none: ESTALE makes the kernel look it up again.
func (l *leaf) ref(k ItemKind, typ uint32) (Ref, syscall.Errno) {
	name, dn := l.parent()
	if dn == nil {
		return Ref{}, syscall.ESTALE
	}
	d := &dn.ref.Dir
	r := Ref{Dir: Dir{View: join(d.View, name)}, Kind: k}
	switch k {
	case ItemEntry, ItemCompanion:
		r.Rel = join(d.Rel, l.plain)
	case ItemRecord:
		r.Rel = d.Rel
	}
	if k == ItemEntry {
		r.Ino, r.Type = l.ino, typ
	}
	return r, 0
}

// entryRel is the plaintext path of entry node l, all that opening or
// stat'ing a file or symlink needs of its Ref: the view path a Ref holds
// too is built only for a log line (viewPath). Like ref, it is ESTALE
// for a node that is in no directory.
func (l *leaf) entryRel() (string, syscall.Errno) {
	_, dn := l.parent()
	if dn == nil {
		return "", syscall.ESTALE
	}
	return join(dn.ref.Rel, l.plain), 0
}

// parent is the directory node l is in and l's view name there, or nil
// if go-fuse dropped l from its parent.
func (l *leaf) parent() (string, *dirNode) {
	name, p := l.Parent()
	if p == nil {
		return "", nil
	}
	dn, _ := p.Operations().(*dirNode)
	return name, dn
}

// viewPath is the view path of node l for a log line ("?" if it is in
// no directory).
func (l *leaf) viewPath() string {
	if name, dn := l.parent(); dn != nil {
		return "/" + join(dn.ref.View, name)
	}
	return "?"
}

// at is the place of leaf l.
func (l *leaf) at() *place { return &l.place }

// same reports whether l and o stand for the same item of one directory
// and view name.
func (l *place) same(o *place) bool {
	return l.plain == o.plain && l.ino == o.ino
}

// view is the mount's state, which the root's node holds. Only a node
// go-fuse has taken (NewInode) knows its root.
func (l *leaf) view() *view { return l.Root().Operations().(*dirNode).v }

// Statfs passes the plaintext file system's numbers through.
func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.v.statfs(out)
}

func (l *leaf) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return l.view().statfs(out)
}

func (v *view) statfs(out *fuse.StatfsOut) syscall.Errno {
	var st syscall.Statfs_t
	if err := v.tree.statfs(&st); err != nil {
		return errno(err)
	}
	out.FromStatfsT(&st)
	return 0
}

// Getxattr: the view has no extended attributes (plaintext xattrs would
// leak names and values in the clear). ENOSYS, not ENODATA: after the
// first one the kernel stops asking for the whole mount and answers
// EOPNOTSUPP itself, as for a file system without xattrs. `ls -l` probes
// two xattrs per entry (ACLs, SELinux); with ENODATA each was a round
// trip, 100,000 for a 50,000-entry directory.
func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

// Listxattr: an empty list.
func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return 0, 0
}

// Getxattr and Listxattr of the other kinds: as for directories.
func (l *leaf) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

func (l *leaf) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return 0, 0
}

// errno maps a Tree error to the errno the kernel sees.
func errno(err error) syscall.Errno {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrNotFound):
		return syscall.ENOENT
	case errors.Is(err, ErrNotRegular), errors.Is(err, ErrStale):
		return syscall.ESTALE
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrRecord):
		return syscall.EIO
	case errors.Is(err, ErrTooLarge):
		return syscall.EOVERFLOW // what stat(2) says of a size it cannot show
	case errors.Is(err, ErrTargetTooLong):
		return syscall.ENAMETOOLONG
	}
	// Declared here, not above: errors.As makes it escape, and it was
	// allocated on every call, nil errors included.
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return syscall.EIO
}

// fuseAttr converts the model's attributes for the kernel.
func fuseAttr(a *Attr, out *fuse.Attr) {
	*out = fuse.Attr{
		Ino: a.Ino, Size: uint64(a.Size), Blocks: (uint64(a.Size) + 511) / 512, Blksize: 4096,
		Mode: a.Mode, Nlink: a.Nlink,
		Owner: fuse.Owner{Uid: a.Uid, Gid: a.Gid},
		Atime: uint64(a.Atime.Sec), Atimensec: uint32(a.Atime.Nsec),
		Mtime: uint64(a.Mtime.Sec), Mtimensec: uint32(a.Mtime.Nsec),
		Ctime: uint64(a.Ctime.Sec), Ctimensec: uint32(a.Ctime.Nsec),
	}
}

// getattr answers GETATTR for the item r: ESTALE when the plaintext entry
// was replaced, which makes the kernel look the path up again.
func (v *view) getattr(r Ref, out *fuse.AttrOut) syscall.Errno {
	a, err := v.tree.Stat(r)
	return v.attrOut(&a, err, out)
}

// getattrEntry is getattr of the entry leaf l of file type typ, through
// its plaintext path alone (entryRel).
func (l *leaf) getattrEntry(typ uint32, out *fuse.AttrOut) syscall.Errno {
	rel, en := l.entryRel()
	if en != 0 {
		return en
	}
	v := l.view()
	a, err := v.tree.statEntry(rel, l.ino, typ)
	return v.attrOut(&a, err, out)
}

// attrOut fills out with a, or is the errno of err.
func (v *view) attrOut(a *Attr, err error, out *fuse.AttrOut) syscall.Errno {
	if err != nil {
		return errno(err)
	}
	fuseAttr(a, &out.Attr)
	return 0
}

// newChild makes the inode for item it of directory d, named name there
// (it.Name, passed apart: see Dir.child), and fills out.
func (d *dirNode) newChild(ctx context.Context, name string, it *Item, out *fuse.EntryOut) *fs.Inode {
	fuseAttr(&it.Attr, &out.Attr)
	l := placeOf(it)
	var ops fs.InodeEmbedder
	fresh := true // a leaf node made here, not one go-fuse has already
	switch typ := it.Attr.Type(); {
	case it.Kind == ItemRecord:
		// As for files: the node the kernel knows is the one to tell.
		rn, _ := d.known(name, &l).(*recordNode)
		if rn != nil {
			fresh = false
		} else {
			rn = &recordNode{leaf: leaf{place: l}}
		}
		rn.told(&it.Attr)
		ops = rn
	case it.Kind != ItemEntry:
		ops = &virtualNode{leaf: leaf{place: l}, kind: it.Kind}
	case typ == unix.S_IFDIR:
		ops, fresh = &dirNode{node: node{v: d.v}, ref: d.ref.child(name, it)}, false
	case typ == unix.S_IFREG:
		// go-fuse keeps the node it already has for this inode number,
		// if any: that is the one the kernel hears of.
		fn, _ := d.known(name, &l).(*fileNode)
		if fn != nil {
			fresh = false
		} else {
			fn = newFileNode(l)
		}
		out.Attr.Size = uint64(fn.told(it.Attr.Size))
		out.Attr.Blocks = (out.Attr.Size + 511) / 512
		ops = fn
	default:
		if ln, ok := d.known(name, &l).(*linkNode); ok {
			ops, fresh = ln, false
		} else {
			ops = &linkNode{leaf: leaf{place: l}}
		}
	}
	ch := d.NewInode(ctx, ops, fs.StableAttr{Mode: it.Attr.Type(), Ino: it.Attr.Ino})
	if fresh {
		d.v.made(ch)
	}
	return ch
}

// known is the leaf node d already has under view name name for the item
// at place l, nil if none: go-fuse would keep it and drop a new one (for
// a file or a record, the node that counts what the kernel was told), so
// a lookup of a known entry makes none.
func (d *dirNode) known(name string, l *place) fs.InodeEmbedder {
	if ch := d.GetChild(name); ch != nil {
		if n, ok := ch.Operations().(interface{ at() *place }); ok && n.at().same(l) {
			return ch.Operations()
		}
	}
	return nil
}

// The kernel keeps a node for every entry it has looked up, and forgets
// it only when short of memory: a backup tool's walk of a million files
// would have the view hold a million nodes (~600 bytes each with
// go-fuse's share), all at once. So the view asks the kernel to forget
// leaf nodes (everything but directories) once more than keepLeaves were
// made, the oldest pruneBatch at a time (FUSE_NOTIFY_PRUNE, Linux 6.16;
// before it, an entry invalidation each), and not before their entries
// expired (fusemount.CacheTTL): the kernel would look those up again
// anyway, so pruning costs no extra LOOKUP, only a new node for it. The
// kernel keeps the nodes in use (open files, working directories).
const (
	keepLeaves = 1 << 14
	pruneBatch = 1 << 10
)

// made records a leaf node just made, and prunes the oldest when there
// are too many.
func (v *view) made(n *fs.Inode) {
	v.pruneMu.Lock()
	v.leaves = append(v.leaves, n)
	var batch []*fs.Inode
	if len(v.leaves) >= v.keep+v.batch {
		batch = make([]*fs.Inode, v.batch)
		copy(batch, v.leaves)
		clear(v.leaves[:v.batch])
		v.leaves = v.leaves[v.batch:]
	}
	v.pruneMu.Unlock()
	if batch != nil {
		// Not in the request: the kernel may need locks it holds.
		go v.prune(batch)
	}
}

// prune asks the kernel to forget the nodes of batch it still has, once
// their entries expired.
func (v *view) prune(batch []*fs.Inode) {
	time.Sleep(fusemount.CacheTTL)
	known := batch[:0]
	for _, n := range batch {
		// A node go-fuse did not take (it kept the one it had for
		// the inode number) never reached the kernel.
		if !n.Forgotten() {
			known = append(known, n)
		}
	}
	if len(known) == 0 {
		return
	}
	if en := known[0].NotifyPrune(known); en != syscall.ENOSYS {
		return
	}
	for _, n := range known {
		if name, p := n.Parent(); p != nil {
			p.NotifyEntry(name)
		}
	}
}

// dirNode is a plaintext directory. It keeps its whole Ref: its children
// build theirs from it.
type dirNode struct {
	node
	ref Ref
}

func (n *dirNode) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return n.v.getattr(n.ref, out)
}

func (n *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	var e Entry // kept on the stack: see Tree.resolveInto
	it, err := n.v.tree.resolveInto(n.ref.Dir, name, &e)
	if err != nil {
		return nil, errno(err)
	}
	return n.newChild(ctx, name, &it, out), 0
}

// OpendirHandle lists the directory once; the handle then serves
// readdir(plus) from that listing, so READDIRPLUS costs no extra lookups.
func (n *dirNode) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	h := &dirHandle{dir: n}
	if en := h.list(); en != 0 {
		return nil, 0, en
	}
	return h, 0, 0
}

// dirHandle is an open directory.
type dirHandle struct {
	dir   *dirNode
	items []Item
	pos   int
	// ent is the entry Readdirent returns, reused: go-fuse copies it
	// before asking for the next, and asks under the handle's lock.
	ent fuse.DirEntry
}

// list (re)reads the directory.
func (h *dirHandle) list() syscall.Errno {
	n := h.dir
	h.items, h.pos = nil, 0
	items, err := n.v.tree.List(n.ref.Dir)
	if err != nil {
		// An unavailable root was logged once when it became so.
		if en := errno(err); en != syscall.ENOENT && !errors.Is(err, ErrUnavailable) {
			n.v.log.Warn("cannot list directory", "path", "/"+n.ref.View, "err", reason(err))
		}
		return errno(err)
	}
	// Leave out what the view cannot show, as lookups do. A record that
	// cannot be computed stays listed and answers EIO, so that a sync
	// tool reports it and keeps its copy.
	shown := items[:0]
	for i := range items {
		it := &items[i]
		switch {
		case it.Kind == ItemRecord:
			if it.Err != nil {
				n.v.warnOnce(join(n.ref.View, it.Name), "cannot compute the directory record", it.Err)
			}
			// Its bytes are taken again at open: the listing
			// keeps only its attributes.
			it.Record = nil
			shown = append(shown, *it)
		case it.Err == nil:
			shown = append(shown, *it)
		case it.Kind == ItemEntry:
			n.v.omitted(join(n.ref.View, it.Name), it.Err)
		}
	}
	h.items = shown
	return 0
}

// Readdirent returns the next entry. Off is the position after the entry,
// which Seekdir accepts back.
func (h *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if h.pos >= len(h.items) {
		return nil, 0
	}
	it := &h.items[h.pos]
	h.pos++
	h.ent = fuse.DirEntry{Name: it.Name, Mode: it.Attr.Mode, Ino: it.Attr.Ino, Off: uint64(h.pos)}
	return &h.ent, 0
}

// Seekdir moves to a position Readdirent handed out; 0 lists the
// directory afresh (rewinddir).
func (h *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if off == 0 {
		return h.list()
	}
	if off > uint64(len(h.items)) {
		return syscall.EINVAL
	}
	h.pos = int(off)
	return 0
}

// Lookup serves READDIRPLUS from the listing: name is the entry
// Readdirent just returned.
func (h *dirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n := h.dir
	if h.pos == 0 || h.items[h.pos-1].Name != name {
		return n.Lookup(ctx, name, out)
	}
	it := &h.items[h.pos-1]
	if it.Err != nil {
		return nil, errno(it.Err) // a record that cannot be computed
	}
	return n.newChild(ctx, name, it, out), 0
}

// fileNode is a plaintext regular file.
//
// The kernel reads a file up to the size it last heard of (from a lookup,
// a READDIRPLUS entry or GETATTR, cached for a second), but the ciphertext
// is laid out for the plaintext's size: its last block is marked final. A
// file that grew since the kernel heard of it would be read up to the old
// ciphertext size of a ciphertext laid out for the new one, a torn copy
// that does not authenticate. So the node remembers the size it last told
// the kernel, and an open serves the plaintext's first that many bytes
// when the file has grown since: for a file being appended to, exactly the
// version the reader saw, complete. Each open's size is then fixed; while
// a file is open, every further open serves the same size and every reply
// tells that size, so that readers sharing the kernel's cached pages agree
// on one layout. The file shows its new size once it is closed and the
// kernel asks again.
//
// The node is one of a million when the kernel knows a million files:
// its fields are packed so that it stays in a 192-byte size class
// (go-fuse's Inode alone is 128 bytes). So it keeps what the last open
// served as a 64-bit fingerprint, not the 48 bytes of it.
type fileNode struct {
	leaf

	mu     sync.Mutex
	opens  int32 // open handles
	opened bool  // opened before: last is set
	known  int64 // view size the kernel last heard of; -1 before any
	// served is the plaintext size the last open served: while opens >
	// 0, the size every open handle serves.
	served int64
	// last is the fingerprint (view.fingerprint) of the cacheKey of the
	// last open.
	last uint64
}

// cacheKey is what an open served, to decide whether the kernel's cached
// pages of the view still hold its ciphertext: the plaintext version and
// the size served of it.
type cacheKey struct {
	version
	served int64
}

// fingerprint is k hashed with the mount's random seed. Two versions
// of a file whose fingerprints collide (a chance of 2⁻⁶⁴ per change)
// would be read from stale cached pages: a torn copy, which fails
// authentication at restore and is replaced at the next sync.
func (v *view) fingerprint(k cacheKey) uint64 { return maphash.Comparable(v.seed, k) }

// version tells versions of a plaintext file apart. Size and mtime alone
// are not enough: an in-place edit that keeps the size and puts the mtime
// back (touch -d, rsync --inplace, a restore) would be served from stale
// pages, and the copy would mix two versions and fail authentication. The
// ctime cannot be set from user space and changes on every write; the
// inode number tells a replaced file: an open of another inode than the
// node's fails (ESTALE), so the version needs no inode number.
type version struct {
	size         int64
	mtime, ctime unix.Timespec
}

// versionOf is the version of a plaintext file with fstat st.
func versionOf(st *unix.Stat_t) version {
	return version{size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
}

func newFileNode(p place) *fileNode {
	return &fileNode{leaf: leaf{place: p}, known: -1}
}

// told records that the kernel is being told view size size, or changes it
// to the size the open handles serve; it returns the size to tell.
func (n *fileNode) told(size int64) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.opens > 0 {
		size = n.view().tree.CipherSize(n.served)
	}
	n.known = size
	return size
}

// Getattr tells the current attributes, with the open handles' size while
// the file is open.
func (n *fileNode) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if en := n.getattrEntry(unix.S_IFREG, out); en != 0 {
		return en
	}
	out.Size = uint64(n.told(int64(out.Size)))
	out.Blocks = (out.Size + 511) / 512
	return 0
}

// Open opens the plaintext file for reading, at the size the kernel has
// when the file grew since (see fileNode). The kernel may keep its cached
// pages when the open serves what the previous one did.
func (n *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if !fusemount.ReadOnly(flags) {
		return nil, 0, syscall.EROFS
	}
	rel, en := n.entryRel()
	if en != 0 {
		return nil, 0, en
	}
	v := n.view()
	h := &fileHandle{node: n}
	f := &h.f
	if err := v.tree.openFile(rel, f); err != nil {
		en := errno(err)
		if en != syscall.ENOENT && en != syscall.ESTALE && !errors.Is(err, ErrUnavailable) {
			v.log.Warn("cannot open plaintext file", "path", n.viewPath(), "err", reason(err))
		}
		return nil, 0, en
	}
	st := f.Stat()
	if st.Ino != n.ino {
		f.Close()
		return nil, 0, syscall.ESTALE // replaced since lookup: look up again
	}
	n.mu.Lock()
	size := st.Size
	switch {
	case n.opens > 0 && st.Size >= n.served:
		size = n.served // one size for all open handles
	case n.known >= 0 && v.tree.CipherSize(st.Size) > n.known:
		if known, err := v.tree.plainSizeFor(n.known); err == nil && known <= st.Size {
			size = known // grew since the kernel heard of it
		}
	}
	f.Limit(size)
	key := v.fingerprint(cacheKey{versionOf(st), size})
	var fuseFlags uint32
	if n.opened && n.last == key {
		fuseFlags |= fuse.FOPEN_KEEP_CACHE
	}
	n.opened, n.last, n.served = true, key, size
	n.opens++
	stale := n.known >= 0 && n.known != f.Size()
	n.mu.Unlock()
	if stale {
		// The kernel has another size (the file shrank): make it ask
		// again (attributes only), and hear the served size.
		n.NotifyContent(-1, 0)
	}
	return h, fuseFlags, 0
}

// released counts a handle closed.
func (n *fileNode) released() {
	n.mu.Lock()
	n.opens--
	n.mu.Unlock()
}

// fileHandle is an open file: ciphertext is computed straight into the
// kernel's read buffer. The File is part of it: one allocation per open.
type fileHandle struct {
	f    File
	node *fileNode
}

// Read encrypts into dest (go-fuse's pooled request buffer), so a read
// costs no allocation and no copy beyond the plaintext read itself.
func (h *fileHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.f.ReadAt(dest, off)
	v := h.node.view()
	if err != nil && err != io.EOF {
		v.log.Warn("read failed", "path", h.node.viewPath(), "offset", off, "err", reason(err))
		if errors.Is(err, content.ErrChanged) {
			return nil, syscall.EIO
		}
		en := errno(err)
		if en == syscall.ENOENT {
			en = syscall.EIO
		}
		return nil, en
	}
	return v.result(dest[:n]), 0
}

// readResult is a READ reply of bytes in go-fuse's buffer, as
// fuse.ReadResultData makes, but taken from the view's pool and given
// back when go-fuse is done with it: one allocation less per read.
type readResult struct {
	data []byte
	pool *sync.Pool
}

// result is the reply of a read that filled data.
func (v *view) result(data []byte) fuse.ReadResult {
	r, _ := v.results.Get().(*readResult)
	if r == nil {
		r = &readResult{pool: &v.results}
	}
	r.data = data
	return r
}

func (r *readResult) Size() int                              { return len(r.data) }
func (r *readResult) Bytes(buf []byte) ([]byte, fuse.Status) { return r.data, fuse.OK }

// Done is go-fuse's last use of r: it has taken the bytes.
func (r *readResult) Done() {
	r.data = nil
	r.pool.Put(r)
}

// Flush answers ENOSYS: a read-only file has nothing to flush, and after
// the first ENOSYS the kernel stops sending FLUSH on every close(2) for the
// whole mount, a quarter of the requests a sync tool causes per file.
func (h *fileHandle) Flush(ctx context.Context) syscall.Errno { return syscall.ENOSYS }

// Release closes the plaintext file and wipes its key.
func (h *fileHandle) Release(ctx context.Context) syscall.Errno {
	h.node.released()
	return errno(h.f.Close())
}

// linkNode is a plaintext symlink, shown with its target encrypted.
type linkNode struct {
	leaf
}

func (n *linkNode) ref() (Ref, syscall.Errno) { return n.leaf.ref(ItemEntry, unix.S_IFLNK) }

func (n *linkNode) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return n.getattrEntry(unix.S_IFLNK, out)
}

func (n *linkNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	ref, en := n.ref()
	if en != 0 {
		return nil, en
	}
	target, err := n.view().tree.Readlink(ref.Rel)
	if err != nil {
		return nil, errno(err)
	}
	return []byte(target), 0
}

// virtualNode is a file efs adds to the view: efs.toml or a long-name
// companion. Its bytes come from the Tree at each open, so efs.toml follows
// the config file (efs passwd while mounted).
type virtualNode struct {
	leaf
	kind ItemKind // ItemConfig or ItemCompanion

	mu     sync.Mutex
	opened bool   // opened before: data is set
	data   []byte // the bytes served by the last open
}

func (n *virtualNode) ref() (Ref, syscall.Errno) { return n.leaf.ref(n.kind, 0) }

func (n *virtualNode) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	ref, en := n.ref()
	if en != 0 {
		return en
	}
	return n.view().getattr(ref, out)
}

// Open takes the file's current bytes. The kernel may keep its cached
// pages unless the bytes changed since the previous open.
func (n *virtualNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if !fusemount.ReadOnly(flags) {
		return nil, 0, syscall.EROFS
	}
	ref, en := n.ref()
	if en != 0 {
		return nil, 0, en
	}
	it, err := n.view().tree.Reread(ref)
	if err != nil {
		return nil, 0, errno(err)
	}
	var fuseFlags uint32
	n.mu.Lock()
	if !n.opened || bytes.Equal(n.data, it.Data) {
		fuseFlags |= fuse.FOPEN_KEEP_CACHE // nothing cached yet, or still valid
	}
	n.opened, n.data = true, it.Data
	n.mu.Unlock()
	return &virtualHandle{data: it.Data}, fuseFlags, 0
}

// virtualHandle is an open virtual file: the bytes it had at open.
type virtualHandle struct {
	data []byte
}

func (h *virtualHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= int64(len(h.data)) {
		return fuse.ReadResultData(nil), 0
	}
	end := min(off+int64(len(dest)), int64(len(h.data)))
	return fuse.ReadResultData(h.data[off:end]), 0
}

// recordNode is efs.dir, the directory record (format v2). A record
// changes whenever an entry of its directory does, without the
// directory's mtime changing, and two versions of it do not combine (a
// torn copy fails authentication). So every open takes a snapshot of the
// record as it is then and serves it with direct I/O: the kernel neither
// caches its pages nor cuts reads at a size it heard of earlier, and fstat
// of the open file tells the snapshot's size (rsync copies as many bytes
// as fstat says). A reader so copies one version, whole. The snapshot is
// dropped at release.
type recordNode struct {
	leaf

	mu    sync.Mutex
	known recordVersion // what the kernel last heard of, zero for nothing
}

// recordVersion is what the kernel caches of a record that matters to a
// copy of it.
type recordVersion struct {
	size  int64
	mtime unix.Timespec
}

func (n *recordNode) ref() (Ref, syscall.Errno) { return n.leaf.ref(ItemRecord, 0) }

// told records the attributes the kernel is told.
func (n *recordNode) told(a *Attr) {
	n.mu.Lock()
	n.known = recordVersion{a.Size, a.Mtime}
	n.mu.Unlock()
}

// Getattr tells the record as it is now, or, for an open file (fstat), as
// its handle serves it.
func (n *recordNode) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if h, ok := f.(*recordHandle); ok {
		fuseAttr(&h.attr, &out.Attr)
	} else {
		ref, en := n.ref()
		if en == 0 {
			en = n.view().getattr(ref, out)
		}
		if en != 0 {
			return en
		}
	}
	n.mu.Lock()
	n.known = recordVersion{int64(out.Size), unix.Timespec{Sec: int64(out.Mtime), Nsec: int64(out.Mtimensec)}}
	n.mu.Unlock()
	return 0
}

// Open takes the snapshot.
func (n *recordNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if !fusemount.ReadOnly(flags) {
		return nil, 0, syscall.EROFS
	}
	ref, en := n.ref()
	if en != 0 {
		return nil, 0, en
	}
	v := n.view()
	it, err := v.tree.Reread(ref)
	if err != nil {
		if errors.Is(err, ErrRecord) {
			v.warnOnce(ref.View, "cannot compute the directory record", err)
		}
		return nil, 0, errno(err)
	}
	d, _ := ref.parent()
	s, err := v.tree.SealRecord(d, &it)
	if err != nil {
		v.log.Warn("cannot seal the directory record", "path", "/"+ref.View, "err", reason(err))
		return nil, 0, syscall.EIO
	}
	n.mu.Lock()
	stale := n.known != recordVersion{it.Attr.Size, it.Attr.Mtime}
	if stale {
		n.known = recordVersion{}
	}
	n.mu.Unlock()
	if stale {
		// The kernel has another version's size: make it ask again, so
		// that fstat tells the snapshot's (Getattr with the handle).
		n.NotifyContent(-1, 0)
	}
	return &recordHandle{s: s, attr: it.Attr}, fuse.FOPEN_DIRECT_IO, 0
}

// recordHandle is an open record: the snapshot's ciphertext is computed
// straight into the kernel's read buffer.
type recordHandle struct {
	s    *record.Sealed
	attr Attr
}

func (h *recordHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.s.ReadAt(dest, off)
	if err != nil && err != io.EOF {
		return nil, syscall.EIO
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Flush: as for files (fileHandle.Flush).
func (h *recordHandle) Flush(ctx context.Context) syscall.Errno { return syscall.ENOSYS }

// Release drops the snapshot and wipes its key.
func (h *recordHandle) Release(ctx context.Context) syscall.Errno {
	h.s.Wipe()
	return 0
}
