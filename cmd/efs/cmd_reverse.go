//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/gcgoal"
	"github.com/efs-project/efs/reverse"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// reverseGC is the reverse daemon's heap goal unless the environment sets
// GOGC. Its heap is mostly the nodes the kernel holds: one per entry it
// has looked up, up to the newest 16,384 files' and those of the last
// second (the view has the kernel forget the others), and go-fuse's
// request buffers. At scale the goal is 50% over the live heap, not Go's
// 100%: with find -ls of 100,000 files, peak RSS 49–56 MiB at 50 against
// 60–74 MiB at 100 (gocryptfs -reverse: 74 MiB). A small heap gets 16 MiB
// of headroom instead: at 50% a full rsync of 20,000 small files (about
// 25 MiB live) collected every 12 MiB allocated and the collector took 14%
// of the daemon's CPU. With the headroom, three interleaved runs: daemon
// CPU 2.30 → 1.75 s, peak RSS 44 → 51 MiB; at 100,000 files the peak went
// 72 → 80 MiB (gocryptfs -reverse 84) and find -ls took 1.77 → 1.52 s.
// 24 MiB took that peak to 86 MiB for no CPU measurably saved.
func reverseGC() gcgoal.Goal {
	return gcgoal.Goal{Percent: 50, Headroom: 16 << 20, MaxPercent: 400}
}

// keepReverseGC keeps reverseGC unless GOGC says otherwise, and returns
// the function that stops it.
func keepReverseGC() (stop func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	return gcgoal.Keep(reverseGC())
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
	defer keepReverseGC()()
	serve(server, mnt, log)
	return nil
}
