package forward

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"syscall"

	"github.com/efs-project/efs/internal/fusemount"
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
func Mount(b *Backup, mountpoint string, opts MountOptions) (*fuse.Server, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := b.Lstat("")
	if err != nil {
		return nil, err
	}
	root := &node{b: b, log: log}
	o := fusemount.Options(fusemount.Config{
		FsName: b.Dir(), AllowOther: opts.AllowOther,
		// Other users see the mount: let the kernel enforce the
		// backed-up modes and owners for them (as gocryptfs does).
		DefaultPermissions: opts.AllowOther,
		RootIno:            st.Ino, Log: log,
	})
	return fusemount.Mount(mountpoint, root, o, log)
}

// node is one directory, file or symlink of the view. Paths are fixed
// for the node's lifetime: the view is read-only, nothing is renamed.
type node struct {
	fs.Inode
	b         *Backup
	log       *slog.Logger
	rel, crel string
}

// The view implements these operations; everything else that would
// change the tree returns EROFS.
var (
	_ fs.NodeLookuper      = (*node)(nil)
	_ fs.NodeReaddirer     = (*node)(nil)
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
	_ fs.FileReader        = (*handle)(nil)
	_ fs.FileReleaser      = (*handle)(nil)
	_ fs.FileFlusher       = (*handle)(nil)
)

// errno maps an error to the FUSE answer: damage is EIO (and logged by
// the caller), system errors keep their errno.
func errno(err error) syscall.Errno {
	if errors.Is(err, ErrDamaged) {
		return syscall.EIO
	}
	return fs.ToErrno(err)
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	e, err := n.b.Lookup(n.rel, n.crel, name)
	if err != nil {
		if errors.Is(err, ErrDamaged) {
			n.log.Error("entry failed authentication", "path", e.CRel, "err", err)
		}
		return nil, errno(err)
	}
	if e.Kind == Other {
		return nil, syscall.ENOENT
	}
	out.Attr.FromStat(&e.Stat)
	child := &node{b: n.b, log: n.log, rel: e.Rel, crel: e.CRel}
	return n.NewInode(ctx, child, fs.StableAttr{Mode: e.Stat.Mode & syscall.S_IFMT, Ino: e.Stat.Ino}), 0
}

func (n *node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	l, err := n.b.ReadDir(n.rel, n.crel)
	if err != nil {
		return nil, errno(err)
	}
	for _, p := range l.Damaged {
		n.log.Error("entry failed authentication, left out of the listing", "path", p.Stored, "err", p.Err)
	}
	for _, p := range l.Foreign {
		n.log.Debug("foreign entry (not an efs name) ignored", "path", p)
	}
	list := make([]fuse.DirEntry, 0, len(l.Entries))
	for _, e := range l.Entries {
		if e.Kind == Other {
			continue
		}
		list = append(list, fuse.DirEntry{Name: e.Name, Mode: e.Stat.Mode & syscall.S_IFMT, Ino: e.Stat.Ino})
	}
	return fs.NewListDirStream(list), 0
}

func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	st, err := n.b.Lstat(n.crel)
	if err != nil {
		if errors.Is(err, ErrDamaged) {
			n.log.Error("file has an impossible size", "path", n.crel)
		}
		return errno(err)
	}
	out.Attr.FromStat(&st)
	return 0
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if !fusemount.ReadOnly(flags) {
		return nil, 0, syscall.EROFS
	}
	f, err := n.b.Open(n.rel, n.crel)
	if err != nil {
		if errors.Is(err, ErrDamaged) {
			n.log.Error("file failed authentication", "path", n.crel, "err", err)
		}
		return nil, 0, errno(err)
	}
	// The backup does not change under the mount: let the kernel keep
	// pages across opens.
	return &handle{f: f, log: n.log}, fuse.FOPEN_KEEP_CACHE, 0
}

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	t, err := n.b.Readlink(n.rel, n.crel)
	if err != nil {
		if errors.Is(err, ErrDamaged) {
			n.log.Error("symlink target failed authentication", "path", n.crel)
		}
		return nil, errno(err)
	}
	return []byte(t), 0
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	var s syscall.Statfs_t
	if err := syscall.Statfs(n.b.Dir(), &s); err != nil {
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

// Getxattr: a v1 backup carries no extended attributes. ENOSYS makes the
// kernel stop asking for the whole mount (it answers EOPNOTSUPP itself),
// instead of one round trip per `ls -l` probe of every entry.
func (n *node) Getxattr(context.Context, string, []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
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
