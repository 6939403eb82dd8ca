package main

import (
	"fmt"

	"github.com/efs-project/efs/forward"
	"github.com/efs-project/efs/keys"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// runMount implements efs mount CIPHERDIR MOUNTPOINT.
func runMount(args []string) error {
	fs := newFlagSet("mount", "CIPHERDIR MOUNTPOINT", "Mount a backup decrypted and authenticated, read-only. A block that fails\nauthentication reads as an I/O error (EIO) and is logged with its ciphertext path.\nIn a format v2 backup, modes, owners, times, symlink targets and xattrs come from\nthe directory records; entries that differ from their record are logged too.")
	var kf keyFlags
	var mf mountFlags
	var lf logFlags
	kf.register(fs, true)
	mf.register(fs)
	lf.register(fs)
	pos, err := parseArgs(fs, args, 2, 2)
	if err != nil {
		return err
	}
	cipherDir, mnt := pos[0], pos[1]
	if err := checkDir("CIPHERDIR", cipherDir); err != nil {
		return err
	}
	if err := checkMountpoint(mnt); err != nil {
		return err
	}
	if !mf.fg && !isDaemonChild() {
		return daemonizeMount(&kf)
	}
	// Errors reach a waiting parent through run's notifyParent.
	log, _, err := daemonLogger(&mf, &lf)
	if err != nil {
		return err
	}
	b, u, err := openBackup(&kf, cipherDir, log)
	if err != nil {
		return err
	}
	defer u.Wipe()
	server, err := mountExclusive(mnt, func() (*fuse.Server, error) {
		server, err := forward.Mount(b, mnt, forward.MountOptions{AllowOther: mf.allowOther, Log: log})
		if err != nil {
			return nil, withCode(exitNoFUSE, fmt.Errorf("mounting %s: %w", mnt, err))
		}
		return server, nil
	})
	if err != nil {
		return err
	}
	log.Info("mounted", "cipherdir", cipherDir, "mountpoint", mnt)
	serve(server, mnt, log)
	return nil
}

// daemonizeMount collects the master key or the password here, where the
// terminal and standard input are, and starts the background mount with it.
func daemonizeMount(kf *keyFlags) error {
	if !kf.givesMasterKey() {
		pw, err := kf.get("Password", false)
		if err != nil {
			return err
		}
		defer clear(pw)
		return daemonize(handPassword, pw)
	}
	text, err := kf.masterKeyText()
	if err != nil {
		return err
	}
	defer clear(text)
	// A mistyped key fails here, not in the background.
	mk, err := keys.ParseMasterKeyBytes(text)
	if err != nil {
		return withCode(exitUsage, err)
	}
	mk.Wipe()
	return daemonize(handMasterKey, text)
}
