package reverse

// The root follows its path. A view that kept its fd on the directory it
// was mounted on would, after `rm -rf plain; cp -a src plain`, show the
// deleted, empty directory, and the next `rsync -a --delete` would empty
// the backup; after `mv plain old; mkdir plain` it would go on showing old
// without a word. So the root's path is stat'ed again (on every operation
// on the root directory itself, at most every followEvery otherwise): when
// it leads to another directory, that one is opened and shown instead, once
// it holds the config; while the path is missing, or the directory there
// has no config (or one for other keys), every operation fails with
// ErrUnavailable, which the FUSE view answers as EIO. Sync tools keep their
// copy on I/O errors (rsync skips its deletions), and mirror the new tree
// once it is complete.

import (
	"errors"
	"fmt"
	"time"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/sys/unix"
)

// followEvery is how often operations below the root check the root's
// path; operations on the root directory (listing it, looking up in it,
// stat of it) always do.
const followEvery = 100 * time.Millisecond

// ErrUnavailable: the view shows nothing while the plaintext directory's
// path is missing or leads to a directory without this view's config. The
// FUSE view answers EIO.
var ErrUnavailable = errors.New("the plaintext directory is not available")

// Why the view is unavailable (for one log line when it becomes so).
var (
	errRootMissing     = fmt.Errorf("%w: its path leads to no directory", ErrUnavailable)
	errRootNoConfig    = fmt.Errorf("%w: it has no config file (.efs.toml)", ErrUnavailable)
	errRootOtherConfig = fmt.Errorf("%w: it was replaced by one whose config does not fit this view (another key or other settings): mount it again", ErrUnavailable)
)

// rootDir is one opening of the plaintext directory.
type rootDir struct {
	fd       int
	dev, ino uint64
}

// openRoot opens the directory at path.
func openRoot(path string) (rootDir, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return rootDir{}, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return rootDir{}, err
	}
	return rootDir{fd: fd, dev: uint64(st.Dev), ino: st.Ino}, nil
}

// lockRoot follows the root's path (always with force, else at most every
// followEvery) and returns the root fd, read-locked: the caller calls
// t.rootMu.RUnlock when done with it, and must not lock it again before.
func (t *Tree) lockRoot(force bool) (int, error) {
	t.follow(force)
	t.rootMu.RLock()
	if err := t.rootErr; err != nil {
		t.rootMu.RUnlock()
		return -1, err
	}
	return t.root.fd, nil
}

// withRoot calls f with the root fd, which stays open until f returns.
func (t *Tree) withRoot(f func(fd int) error) error {
	fd, err := t.lockRoot(false)
	if err != nil {
		return err
	}
	defer t.rootMu.RUnlock()
	return f(fd)
}

// follow checks the root's path, unless force is false and it was checked
// less than followEvery ago, and records the outcome: the new root, or
// why the view is unavailable.
func (t *Tree) follow(force bool) {
	if !force && time.Duration(int64(time.Since(t.born))-t.checked.Load()) < followEvery {
		return
	}
	t.checkMu.Lock()
	defer t.checkMu.Unlock()
	t.checked.Store(int64(time.Since(t.born)))
	err := t.checkRoot()
	prev := t.rootErr // written only with checkMu held, as here
	if err != prev {
		t.rootMu.Lock()
		t.rootErr = err
		t.rootMu.Unlock()
	}
	switch {
	case err != nil && err != prev:
		t.log.Warn("the view answers I/O errors until the plaintext directory is back", "reason", err.Error())
	case err == nil && prev != nil:
		t.log.Info("the plaintext directory is back: the view shows it again")
	}
}

// checkRoot stats the root's path and, when it leads to another directory,
// opens that one. It runs with checkMu held, under which alone t.root
// changes, so it reads t.root without rootMu.
func (t *Tree) checkRoot() error {
	var st unix.Stat_t
	if err := unix.Stat(t.path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return errRootMissing
	}
	if uint64(st.Dev) == t.root.dev && st.Ino == t.root.ino {
		if t.cfgInTree && !hasConfig(t.root.fd) {
			return errRootNoConfig
		}
		return nil
	}
	return t.reopen()
}

// hasConfig reports whether the directory fd holds a config file; one that
// cannot be stat'ed for another reason than its absence counts (efs.toml
// then keeps its last version, see currentConfig).
func hasConfig(fd int) bool {
	var st unix.Stat_t
	return unix.Fstatat(fd, config.FileName, &st, 0) != unix.ENOENT
}

// reopen opens the directory now at the root's path and shows it instead
// of the old one, if it holds a config that fits this view (when the
// config lives in the tree); with checkMu held.
func (t *Tree) reopen() error {
	root, err := openRoot(t.path)
	if err != nil {
		return errRootMissing
	}
	var cf *configFile
	if t.cfgInTree {
		cf, err = t.readConfig(root.fd)
		if err == nil {
			err = t.checkConfig(cf.data)
		}
		if err != nil {
			unix.Close(root.fd)
			if errors.Is(err, unix.ENOENT) {
				return errRootNoConfig
			}
			return errRootOtherConfig
		}
	}
	t.rootMu.Lock()
	old := t.root
	t.root = root
	t.rootMu.Unlock()
	unix.Close(old.fd)
	t.rootDev.Store(root.dev)
	if cf != nil {
		t.cfgMu.Lock()
		t.cfg, t.cfgRejected = cf, unix.Stat_t{}
		t.cfgMu.Unlock()
	}
	t.mu.Lock()
	clear(t.long)
	t.mu.Unlock()
	t.log.Warn("the plaintext directory was replaced at its path: the view shows the new one")
	return nil
}
