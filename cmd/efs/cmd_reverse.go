//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/reverse"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// reverseGCPercent is the reverse daemon's GOGC unless the environment
// sets one. Its heap is mostly the nodes the kernel holds: one per entry
// it has looked up, up to the newest 16,384 files' and those of the last
// second (the view has the kernel forget the others), and Go's default
// of 100 lets the heap grow to twice that between collections. Measured
// with find -ls of 100,000 files, three runs each: peak RSS 49–56 MiB at
// 50, 60–74 MiB at 100 (gocryptfs -reverse: 74 MiB), for 2.25 s of
// daemon CPU against 1.99 s. Before the view pruned nodes, with a full
// copy too: 50 took the peak from 180 to 141 MiB for about 6% more
// daemon CPU; 33 to 121 MiB for about 15%.
const reverseGCPercent = 50

// setReverseGC sets reverseGCPercent unless GOGC says otherwise.
func setReverseGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(reverseGCPercent)
	}
}

// runReverse implements efs reverse PLAINDIR MOUNTPOINT: it mounts the
// encrypted, read-only view of PLAINDIR and, unless --fg, returns once the
// view is mounted, leaving a background process to serve it.
func runReverse(args []string) error {
	fs := newFlagSet("reverse", "PLAINDIR MOUNTPOINT", "Mount the deterministic, encrypted, read-only view of PLAINDIR at MOUNTPOINT.\nPoint rsync, rclone or any sync tool at MOUNTPOINT; efs unmount MOUNTPOINT ends it.")
	var kf keyFlags
	kf.register(fs, false)
	var mf mountFlags
	mf.register(fs)
	var lf logFlags
	lf.register(fs)
	var vf viewFlags
	vf.register(fs, "show directories on other file systems as empty")
	pos, err := parseArgs(fs, args, 2, 2)
	if err != nil {
		return err
	}
	plainDir, mnt := pos[0], pos[1]
	if err := checkDir("PLAINDIR", plainDir); err != nil {
		return err
	}
	if err := checkMountpoint(mnt); err != nil {
		return err
	}
	exclude, err := vf.excluder()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(plainDir, config.FileName)
	hint := noTreeConfigHint(plainDir)
	if !mf.fg && !isDaemonChild() {
		// Fail before asking for a password when there is no config.
		path := cfgPath
		if kf.config != "" {
			path = kf.config
		}
		if _, err := config.Load(path); errors.Is(err, config.ErrNotFound) {
			return withHint(err, hint)
		}
		pw, err := kf.get("Password", false)
		if err != nil {
			return err
		}
		defer clear(pw)
		return daemonize(handPassword, pw)
	}
	log, _, err := daemonLogger(&mf, &lf)
	if err != nil {
		return err
	}
	tree, u, err := vf.openTree(&kf, plainDir, exclude, log)
	if err != nil {
		return err
	}
	// The keys stay alive while the view is mounted and are wiped after.
	defer u.Wipe()
	defer tree.Close()
	absPlain, err := filepath.Abs(plainDir)
	if err != nil {
		absPlain = plainDir
	}
	server, err := mountExclusive(mnt, func() (*fuse.Server, error) {
		server, err := reverse.Mount(tree, mnt, reverse.MountOptions{
			AllowOther: mf.allowOther,
			FsName:     absPlain,
			Debug:      lf.verbose && mf.fg,
		})
		if err != nil {
			return nil, withCode(exitNoFUSE, fmt.Errorf("mounting %s: %w", mnt, err))
		}
		return server, nil
	})
	if err != nil {
		return err
	}
	log.Info("mounted the encrypted view", "mountpoint", mnt)
	setReverseGC()
	serve(server, mnt, log)
	return nil
}
