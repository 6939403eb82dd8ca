//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// scratchFS is an ext4 filesystem of its own, in a sparse image file on
// a loop device, for one scale tree and its copies. Unlinking a million
// files and their two copies one by one took 2 min 36 s of a 16 min 48 s
// scale run, and ext4 then makes the next file creations pay for the
// deletions (see runTimed); unmounting the image and deleting it takes a
// second. The image lives on the bench's -tmp disk, so the trees still
// go through a page cache and an ext4 onto the same device.
type scratchFS struct {
	dir string // the mount point
	img string // the image file
	dev string // the loop device
}

// mountScratch makes an image of size bytes with room for inodes files,
// attaches it to a loop device (direct I/O onto the image where the
// kernel allows it, so that its pages are not cached twice) and mounts it
// on dir. It needs root, losetup and mkfs.ext4; the error says which step
// failed, and the caller falls back to a plain directory.
func mountScratch(ctx context.Context, dir string, size int64, inodes int) (s *scratchFS, err error) {
	s = &scratchFS{dir: dir, img: dir + ".img"}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.remove(ctx))
			s = nil
		}
	}()
	f, err := os.Create(s.img)
	if err != nil {
		return s, err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return s, fmt.Errorf("image: %w", err)
	}
	// lazy_itable_init leaves the inode tables unwritten and noinit_itable
	// (below) keeps the kernel from zeroing them in the background while a
	// command is timed: a new filesystem needs neither.
	mkfs := []string{"mkfs.ext4", "-q", "-F", "-N", strconv.Itoa(inodes), "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", s.img}
	if err := run(ctx, mkfs, nil, ""); err != nil {
		return s, err
	}
	if s.dev, err = attachLoop(ctx, s.img, true); err != nil {
		if s.dev, err = attachLoop(ctx, s.img, false); err != nil {
			return s, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return s, err
	}
	if err := unix.Mount(s.dev, dir, "ext4", 0, "noinit_itable"); err != nil {
		return s, fmt.Errorf("mounting %s on %s: %w", s.dev, dir, err)
	}
	return s, nil
}

// attachLoop attaches img to a free loop device and returns its path.
func attachLoop(ctx context.Context, img string, direct bool) (string, error) {
	args := []string{"losetup", "--find", "--show"}
	if direct {
		args = append(args, "--direct-io=on", "--sector-size", "4096")
	}
	out, err := exec.CommandContext(ctx, args[0], append(args[1:], img)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// remove unmounts the filesystem, detaches its loop device and deletes
// the image, skipping the steps that mountScratch never reached. An image
// still mounted (busy) stays, and the error says so.
func (s *scratchFS) remove(ctx context.Context) error {
	if s.dev != "" {
		if err := unix.Unmount(s.dir, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmounting %s: %w", s.dir, err)
		}
		if err := run(ctx, []string{"losetup", "--detach", s.dev}, nil, ""); err != nil {
			return err
		}
	}
	return errors.Join(removeIfThere(s.img), removeIfThere(s.dir))
}

func removeIfThere(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// scratchSize is the image size and inode count for a scale tree of n
// files and its two copies: a 4 KiB block per file (the files are 0–127
// bytes, so all but one in 128 take a block), a directory block per 40
// files, and a quarter more for ext4's own metadata and the journal.
func scratchSize(n int) (size int64, inodes int) {
	dirs := (n + scaleDirSize - 1) / scaleDirSize
	perTree := int64(n)*4<<10 + int64(n/40+dirs)*4<<10
	size = 3*perTree + 3*perTree/4 + 256<<20
	return size, 3*(n+dirs) + 3*(n+dirs)/10 + 1024
}

// scaleDisk gives measureScale the folder for the tree of n files and its
// copies: a scratchFS when one can be made, else a folder under the
// bench's tmp. done removes what the tree left.
func (b *bench) scaleDisk(ctx context.Context, n int) (dir string, done func() error, err error) {
	dir = filepath.Join(b.tmp, fmt.Sprintf("scalefs-%d", n))
	size, inodes := scratchSize(n)
	s, err := mountScratch(ctx, dir, size, inodes)
	if err == nil {
		b.log.Info("scale tree on its own filesystem", "dir", dir, "image GiB", size>>30, "inodes", inodes, "loop", s.dev)
		return dir, func() error { return s.remove(context.WithoutCancel(ctx)) }, nil
	}
	if ctx.Err() != nil {
		return "", nil, ctx.Err()
	}
	b.log.Info("scale tree on the tmp filesystem (removing it takes minutes at a million files)", "why", err)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	return dir, func() error { return removeTree(dir) }, nil
}
