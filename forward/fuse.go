package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// MountOptions configure the FUSE view.
type MountOptions struct {
	// AllowOther lets other users see the mount.
	AllowOther bool
	// Log receives one line per entry or block that fails, naming the
	// ciphertext path only.
	Log *slog.Logger
}

// cacheTimeout is how long the kernel may cache entries and attributes:
// the backup does not change under a read-only mount, but a second of
// caching keeps an rsync'd-over backup fresh enough.
const cacheTimeout = time.Second

// maxRead is the largest read the kernel is asked to send (1 MiB), so a
// single request spans many blocks and DecryptAt uses every core.
const maxRead = 1 << 20

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
	timeout := cacheTimeout
	o := &fs.Options{
		EntryTimeout:    &timeout,
		AttrTimeout:     &timeout,
		NegativeTimeout: &timeout,
		RootStableAttr:  &fs.StableAttr{Mode: syscall.S_IFDIR, Ino: st.Ino},
		// Show mode 000 as 000, not as go-fuse's 0644/0755 stand-in.
		NullPermissions: true,
		Logger:          stdlog.New(slogWriter{log}, "", 0),
		MountOptions: fuse.MountOptions{
			// Read requests of up to 1 MiB (go-fuse sets max_read and
			// max_pages from MaxWrite; older kernels cap it at 128 KiB).
			MaxWrite:     maxRead,
			MaxReadAhead: maxRead,
			// Up to 64 readahead requests in flight instead of 12.
			MaxBackground: 64,
			Logger:        stdlog.New(slogWriter{log}, "", 0),
			AllowOther:    opts.AllowOther,
			FsName:        b.Dir(),
			Name:          "efs",
			// ro: the kernel refuses writes before they reach us.
			Options: []string{"ro"},
		},
	}
	if opts.AllowOther {
		// Other users see the mount: let the kernel enforce the
		// backed-up modes and owners for them (as gocryptfs does).
		o.MountOptions.Options = append(o.MountOptions.Options, "default_permissions")
	}
	server, err := fs.Mount(mountpoint, root, o)
	if err != nil {
		return nil, err
	}
	raiseReadahead(mountpoint, log)
	return server, nil
}

// raiseReadahead widens the kernel's readahead window for the mount from
// its 128 KiB default to maxRead (the FUSE handshake can only lower it), so
// sequential reads arrive as 1 MiB requests that DecryptAt spreads over all
// cores. Only root may write to sysfs; otherwise the default stays.
func raiseReadahead(mountpoint string, log *slog.Logger) {
	var st unix.Stat_t
	if err := unix.Stat(mountpoint, &st); err != nil {
		return
	}
	path := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	if err := os.WriteFile(path, []byte(strconv.Itoa(maxRead>>10)), 0); err != nil {
		log.Debug("kernel readahead stays at its default", "err", err)
	}
}

// slogWriter passes go-fuse's own log lines (which carry no names) on to
// the slog logger.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn(strings.TrimSpace(string(p)), "from", "go-fuse")
	return len(p), nil
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
	entries, probs, err := n.b.ReadDir(n.rel, n.crel)
	if err != nil {
		return nil, errno(err)
	}
	for _, p := range probs {
		n.log.Error("entry failed authentication, left out of the listing", "path", p.Stored, "err", p.Err)
	}
	list := make([]fuse.DirEntry, 0, len(entries))
	for _, e := range entries {
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
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND|syscall.O_CREAT) != 0 {
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
