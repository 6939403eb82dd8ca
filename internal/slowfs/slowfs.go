//go:build linux

// Package slowfs mounts a directory read-only through FUSE and makes every
// answer wait that storage a round trip away would make wait: each
// directory listing, each lookup of a name its directory's listing did not
// bring, and each open. Reads of an open file do not wait, as a remote
// streams them. Tests and the bench read a backup through it to see that
// restore and fsck keep many requests in flight; it is no part of efs.
package slowfs

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Server is a mounted slow view.
type Server struct {
	srv *fuse.Server
	// Waits counts the answers that waited.
	waits atomic.Int64
}

// Waits is how many answers have waited so far.
func (s *Server) Waits() int64 { return s.waits.Load() }

// Unmount unmounts the view.
func (s *Server) Unmount() error { return s.srv.Unmount() }

// Mount shows dir at mountpoint, read-only, each listing, unlisted lookup
// and open answered only after delay.
func Mount(dir, mountpoint string, delay time.Duration) (*Server, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return nil, fmt.Errorf("slowfs: %w", err)
	}
	s := &Server{}
	root := &fs.LoopbackRoot{Path: dir, Dev: uint64(st.Dev)}
	root.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return &node{LoopbackNode: fs.LoopbackNode{RootData: r}, s: s, delay: delay}
	}
	root.RootNode = root.NewNode(root, nil, "", &st)
	// The kernel keeps what it learnt for the life of the mount: the
	// tree does not change under it, and a remote's client caches too.
	ttl := time.Hour
	srv, err := fs.Mount(mountpoint, root.RootNode, &fs.Options{
		EntryTimeout: &ttl, AttrTimeout: &ttl, NegativeTimeout: &ttl,
		MountOptions: fuse.MountOptions{FsName: "slowfs", Name: "slowfs", Options: []string{"ro"}, DirectMount: true},
	})
	if err != nil {
		return nil, fmt.Errorf("slowfs: mounting %s: %w", mountpoint, err)
	}
	s.srv = srv
	return s, nil
}

// node is a loopback node whose answers wait.
type node struct {
	fs.LoopbackNode
	s     *Server
	delay time.Duration
	// listed is set once the directory was listed: a listing brings
	// every entry's metadata, so a later lookup does not wait.
	listed atomic.Bool
}

var (
	_ fs.NodeLookuper       = (*node)(nil)
	_ fs.NodeOpener         = (*node)(nil)
	_ fs.NodeOpendirHandler = (*node)(nil)
	_ fs.NodeReaddirer      = (*node)(nil)
)

// wait sleeps delay. It does not give up when the kernel interrupts the
// request: the Go runtime signals its threads (preemption) all the time,
// and a remote's client such as rclone answers anyway; an EINTR here would
// reach the reader's open(2), which Go does not retry.
func (n *node) wait() syscall.Errno {
	n.s.waits.Add(1)
	time.Sleep(n.delay)
	return 0
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if !n.listed.Load() {
		if errno := n.wait(); errno != 0 {
			return nil, errno
		}
	}
	return n.LoopbackNode.Lookup(ctx, name, out)
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if errno := n.wait(); errno != 0 {
		return nil, 0, errno
	}
	return n.LoopbackNode.Open(ctx, flags)
}

func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if errno := n.wait(); errno != 0 {
		return nil, 0, errno
	}
	n.listed.Store(true)
	return n.LoopbackNode.OpendirHandle(ctx, flags)
}

func (n *node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	if errno := n.wait(); errno != 0 {
		return nil, errno
	}
	n.listed.Store(true)
	return n.LoopbackNode.Readdir(ctx)
}
