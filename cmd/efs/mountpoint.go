//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// mountState is what is at a mountpoint.
type mountState int

const (
	notMounted mountState = iota
	mountedLive
	// mountedDead is a FUSE mount whose server is gone (killed, crashed):
	// every access fails with ENOTCONN until it is unmounted.
	mountedDead
)

// deadMountError is the exit-7 error for a mountpoint left by a FUSE
// server that ended without unmounting.
func deadMountError(path string) error {
	return withCode(exitMountpoint, withHint(
		fmt.Errorf("mountpoint %s is a dead FUSE mount (the process serving it is gone)", path),
		"efs unmount "+path+" unmounts it"))
}

// checkMountpoint requires an existing, empty directory that is not already
// a mount point, and a usable /dev/fuse.
func checkMountpoint(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, unix.ENOTCONN) {
		return deadMountError(path)
	}
	if err != nil {
		return withCode(exitMountpoint, fmt.Errorf("mountpoint: %w", err))
	}
	if !st.IsDir() {
		return withCode(exitMountpoint, fmt.Errorf("mountpoint %s is not a directory", path))
	}
	if state, _ := mountStateOf(path); state != notMounted {
		return withCode(exitMountpoint, withHint(fmt.Errorf("mountpoint %s is already mounted", path), "efs unmount "+path+" unmounts it"))
	}
	f, err := os.Open(path)
	if err != nil {
		return withCode(exitMountpoint, fmt.Errorf("mountpoint: %w", err))
	}
	names, _ := f.Readdirnames(1)
	f.Close()
	if len(names) > 0 {
		return withCode(exitMountpoint, fmt.Errorf("mountpoint %s is not empty", path))
	}
	fd, err := unix.Open("/dev/fuse", unix.O_RDWR, 0)
	if err != nil {
		return withCode(exitNoFUSE, withHint(fmt.Errorf("FUSE is not available: /dev/fuse: %w", err), "install fuse3, or load the fuse kernel module"))
	}
	unix.Close(fd)
	return nil
}

// mountStateOf tells a live mount from a dead one (stat fails with
// ENOTCONN) and from none: a device differing from the parent's, or for
// bind mounts of the same device, an entry in /proc/self/mountinfo.
func mountStateOf(path string) (mountState, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return notMounted, err
	}
	// mountinfo has the path with its parents' symlinks resolved; the
	// last element is not resolved, since a dead mount cannot be stat'ed.
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(dir, filepath.Base(abs))
	}
	var st, pst unix.Stat_t
	if err := unix.Stat(abs, &st); errors.Is(err, unix.ENOTCONN) {
		return mountedDead, nil
	} else if err != nil {
		return notMounted, err
	}
	if err := unix.Stat(filepath.Dir(abs), &pst); err != nil {
		return notMounted, err
	}
	if st.Dev != pst.Dev || st.Ino == pst.Ino {
		return mountedLive, nil
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return notMounted, nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && unescapeMountinfo(fields[4]) == abs {
			return mountedLive, nil
		}
	}
	return notMounted, nil
}

func unescapeMountinfo(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// mountLockWait bounds how long a mount waits for another efs mounting on
// the same mountpoint; mounting itself takes well under a second.
const mountLockWait = 30 * time.Second

// mountExclusive runs mount with the mountpoint locked against other efs
// processes, after checking it again under the lock. Without it, two
// efs reverse started at once both pass checkMountpoint and both mount,
// one on top of the other.
//
// The lock is flock on the mountpoint directory itself, so it needs no
// lock file anywhere. It is held until the mount is up (or failed); a
// process that opens the path after that reaches the new mount's root,
// gets the lock at once and finds the mountpoint mounted.
func mountExclusive(path string, mount func() (*fuse.Server, error)) (*fuse.Server, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOTCONN) {
		return nil, deadMountError(path)
	}
	if err != nil {
		return nil, withCode(exitMountpoint, fmt.Errorf("mountpoint: %w", &os.PathError{Op: "open", Path: path, Err: err}))
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(mountLockWait)
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, withCode(exitMountpoint, fmt.Errorf("locking mountpoint %s: %w", path, err))
		}
		if time.Now().After(deadline) {
			return nil, withCode(exitMountpoint, fmt.Errorf("mountpoint %s: another efs has been mounting there for %v", path, mountLockWait))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := checkMountpoint(path); err != nil {
		return nil, err
	}
	return mount()
}

// runUnmount implements efs unmount MOUNTPOINT.
func runUnmount(args []string) error {
	fs := newFlagSet("unmount", "MOUNTPOINT", "Unmount an efs view (reverse or forward), also one whose efs process was killed.")
	lazy := fs.Bool("lazy", false, "detach now even if busy; finish when no longer used")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	mp := pos[0]
	state, err := mountStateOf(mp)
	if err != nil || state == notMounted {
		return withCode(exitMountpoint, fmt.Errorf("%s is not mounted", mp))
	}
	err = unmount(mp, *lazy)
	if err != nil && state == mountedDead && !*lazy {
		// Nothing serves a dead mount: detaching it loses nothing.
		err = unmount(mp, true)
	}
	return err
}

// unmount unmounts mp with fusermount3 or fusermount, else umount2.
func unmount(mp string, lazy bool) error {
	var lastErr error
	for _, tool := range []string{"fusermount3", "fusermount"} {
		if _, err := exec.LookPath(tool); err != nil {
			continue
		}
		targs := []string{"-u", mp}
		if lazy {
			targs = []string{"-u", "-z", mp}
		}
		out, err := exec.Command(tool, targs...).CombinedOutput()
		if err == nil {
			return nil
		}
		lastErr = fmt.Errorf("%s: %s", tool, strings.TrimSpace(string(out)))
	}
	flags := 0
	if lazy {
		flags = unix.MNT_DETACH
	}
	if err := unix.Unmount(mp, flags); err != nil {
		if lastErr != nil {
			return withCode(exitMountpoint, fmt.Errorf("unmounting %s: %w (%v)", mp, err, lastErr))
		}
		return withCode(exitMountpoint, fmt.Errorf("unmounting %s: %w", mp, err))
	}
	return nil
}
