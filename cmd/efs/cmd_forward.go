package main

// Owned by the restore work (issue 4): efs mount, restore, fsck,
// encrypt-path and decrypt-path.

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/forward"
	"github.com/efs-project/efs/naming"
)

// noBackupHints follow the "config not found" error for cipherDir.
func noBackupHints(cipherDir string) []string {
	var hints []string
	if _, err := os.Stat(filepath.Join(cipherDir, config.FileName)); err == nil {
		hints = append(hints, "it has "+config.FileName+", so it looks like a plaintext tree: give efs the backup (the copy of the efs reverse view) instead")
	}
	return append(hints,
		"this directory has no efs.toml, so it is not an efs backup, or its config was lost",
		"if it is your backup, recover it with the master key printed by efs init: --masterkey-file FILE",
		"add --name-encoding, --name-max, --block-size, --file-id if efs init was given them")
}

// masterKeyHint follows a corrupt or altered config of a backup.
const masterKeyHint = "if the config is damaged, recover with the master key printed by efs init: --masterkey-file FILE"

// openBackup unlocks the backup in cipherDir (checked to be a directory).
func openBackup(kf *keyFlags, cipherDir string, log *slog.Logger) (*forward.Backup, *unlocked, error) {
	kf.backupDir = cipherDir
	u, err := kf.unlock(filepath.Join(cipherDir, naming.ConfigName), noBackupHints(cipherDir), log)
	if err != nil {
		if errors.Is(err, config.ErrCorrupt) || errors.Is(err, config.ErrTampered) {
			err = withHint(err, masterKeyHint)
		}
		return nil, nil, err
	}
	b, err := forward.New(cipherDir, u.Keys, u.Settings)
	if err != nil {
		u.Wipe()
		return nil, nil, err
	}
	return b, u, nil
}

// jobsFlag registers --jobs on restore and fsck.
func jobsFlag(fs *flag.FlagSet) *int {
	return fs.Int("jobs", 0, "handle `N` directories and files at once (0: the default, max(8, 2 × CPUs));\nmore keep a slow source, such as an rclone mount of a remote, busy; the file\ndata held in memory stays bounded (64 MiB) whatever N")
}

// checkJobs refuses a negative --jobs.
func checkJobs(fs *flag.FlagSet, jobs int) error {
	if jobs < 0 {
		return usageErr(fs, errors.New("--jobs must be 0 (the default) or more"))
	}
	return nil
}

// runRestore implements efs restore CIPHERDIR DEST [PATH...].
func runRestore(args []string) error {
	fs := newFlagSet("restore", "CIPHERDIR DEST [PATH...]", "Decrypt a backup, or the plaintext PATHs of it, into DEST without FUSE.\nEach file is authenticated completely before it appears in DEST. In format v2,\nmodes, owners, times, xattrs, ACLs and symlinks come from the directory records;\nentries that differ from their record are listed (exit 11 unless one failed).\nOn Windows, names it cannot hold (a:b, con.txt, a final dot or space) are written\nunder reversible look-alikes and listed; a mode is only its read-only bit, owners,\nxattrs and ACLs are not restored (counted), and a symlink needs an administrator\nor Developer Mode: without, each one fails and is listed (exit 9).")
	var kf keyFlags
	var lf logFlags
	kf.register(fs, true)
	lf.register(fs)
	force := fs.Bool("force", false, "replace files and symlinks in DEST that differ from the backup, and give\ndirectories that were already there the backup's mode, owner and times")
	salvage := fs.Bool("salvage", false, "also write what authenticates of a damaged file (lost blocks as zeros)\nunder its name + "+forward.SalvageSuffix)
	jobs := jobsFlag(fs)
	pos, err := parseArgs(fs, args, 2, -1)
	if err != nil {
		return err
	}
	if err := checkJobs(fs, *jobs); err != nil {
		return err
	}
	cipherDir, dest, paths := pos[0], pos[1], pos[2:]
	if err := checkDir("CIPHERDIR", cipherDir); err != nil {
		return err
	}
	if err := checkNewDir("DEST", dest); err != nil {
		return err
	}
	log := lf.logger(os.Stderr)
	b, u, err := openBackup(&kf, cipherDir, log)
	if err != nil {
		return err
	}
	defer u.Wipe()
	ctx, stop := interruptible()
	defer stop()
	p := newProgress("restored", lf.quiet)
	if len(paths) == 0 {
		p.countTotal(cipherDir) // for some paths the whole backup is no estimate
	}
	rep, err := forward.Restore(ctx, b, dest, paths, forward.WalkOptions{Force: *force, Salvage: *salvage, Progress: p.add, Workers: *jobs})
	p.done()
	switch {
	case errors.Is(err, forward.ErrDestInBackup):
		return withCode(exitBadDir, withHint(fmt.Errorf("DEST %s: %w", dest, err), "restoring there would put plaintext into the backup folder: choose a DEST outside CIPHERDIR"))
	case err != nil && ctx.Err() == nil:
		return withCode(exitBadDir, fmt.Errorf("DEST %s: %w", dest, err))
	}
	if !lf.quiet {
		fmt.Fprintf(os.Stderr, "restored %d files, %d directories, %d symlinks, %s in %.1fs (%s)",
			rep.Files, rep.Dirs, rep.Symlinks, mib(rep.Bytes), p.elapsed(), p.rate())
		if rep.Skipped > 0 {
			fmt.Fprintf(os.Stderr, "; %d already in place", rep.Skipped)
		}
		fmt.Fprintln(os.Stderr)
		if b.Format() < 2 {
			v1Notice(os.Stderr)
		}
		reportForeign(os.Stderr, rep.Foreign)
	}
	reportRenamed(os.Stderr, rep.Renamed, rep.XattrsLost)
	// Out of sync first, so that the failures, if any, stand next to
	// the error line, whose exit code (9) wins.
	serr := reportOutOfSync(os.Stderr, rep.OutOfSync, true)
	if ctx.Err() != nil {
		reportFailures(os.Stderr, "failed before the interruption", rep.Failures, true)
		return fmt.Errorf("interrupted: every file in DEST is complete, none half-written; run the same command again to finish")
	}
	ferr := reportFailures(os.Stderr, "failed authentication or could not be restored", rep.Failures, true)
	if ferr == nil {
		return serr
	}
	exists := false
	for _, f := range rep.Failures {
		exists = exists || errors.Is(f.Err, forward.ErrExists)
	}
	var hints []string
	if exists {
		hints = append(hints, "--force replaces entries that differ from the backup")
	}
	if rep.Salvageable > 0 {
		hints = append(hints, "--salvage writes what still authenticates of a damaged file beside it")
	}
	ferr = withHint(ferr, hints...)
	return ferr
}

// runFsck implements efs fsck CIPHERDIR.
func runFsck(args []string) error {
	fs := newFlagSet("fsck", "CIPHERDIR", "Authenticate every name, long-name companion, symlink and block of a backup,\nand in format v2 every directory record against the entries stored, and report\neach failure. Exit 0 only if everything is intact, 9 if something is damaged,\n11 if entries only differ from their directory records (out of sync).")
	var kf keyFlags
	var lf logFlags
	kf.register(fs, true)
	lf.register(fs)
	jobs := jobsFlag(fs)
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if err := checkJobs(fs, *jobs); err != nil {
		return err
	}
	cipherDir := pos[0]
	if err := checkDir("CIPHERDIR", cipherDir); err != nil {
		return err
	}
	log := lf.logger(os.Stderr)
	b, u, err := openBackup(&kf, cipherDir, log)
	if err != nil {
		return err
	}
	defer u.Wipe()
	ctx, stop := interruptible()
	defer stop()
	p := newProgress("checked", lf.quiet)
	p.countTotal(cipherDir)
	rep, err := forward.Check(ctx, b, forward.WalkOptions{Progress: p.add, Workers: *jobs})
	p.done()
	if err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	if !lf.quiet {
		fmt.Fprintf(os.Stderr, "%d files, %d directories, %d symlinks intact, %s checked in %.1fs (%s)\n",
			rep.Files, rep.Dirs, rep.Symlinks, mib(rep.Bytes), p.elapsed(), p.rate())
		if b.Format() < 2 {
			v1Notice(os.Stderr)
		}
		reportForeign(os.Stderr, rep.Foreign)
	}
	serr := reportOutOfSync(os.Stderr, rep.OutOfSync, true)
	if err := reportFailures(os.Stderr, "failed authentication or could not be checked", rep.Failures, true); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	if !lf.quiet {
		fmt.Fprintln(os.Stderr, "backup is intact")
	}
	return nil
}

// relativeTo turns an absolute p into a path relative to root when it
// lies inside it, so paths copied from a log or a shell work too.
func relativeTo(root, p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(absRoot, p); err == nil && r != ".." && !strings.HasPrefix(r, "../") {
		return r
	}
	return p
}

// orDot prints the root as ".", not as an empty line.
func orDot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// runEncryptPath implements efs encrypt-path PLAINDIR REL.
func runEncryptPath(args []string) error {
	fs := newFlagSet("encrypt-path", "PLAINDIR REL", "Print the ciphertext path (relative to the view or backup root) of the\nplaintext path REL (relative to PLAINDIR).")
	var kf keyFlags
	var lf logFlags
	kf.register(fs, false)
	lf.register(fs)
	pos, err := parseArgs(fs, args, 2, 2)
	if err != nil {
		return err
	}
	plainDir, rel := pos[0], relativeTo(pos[0], pos[1])
	if err := checkDir("PLAINDIR", plainDir); err != nil {
		return err
	}
	u, err := kf.unlock(filepath.Join(plainDir, config.FileName), []string{noTreeConfigHint(plainDir)}, lf.logger(os.Stderr))
	if err != nil {
		return err
	}
	defer u.Wipe()
	namer, err := naming.New(u.Keys.Name(), u.Keys.Symlink(), u.Settings.NamingOptions())
	if err != nil {
		return err
	}
	crel, long := namer.EncryptPath(filepath.ToSlash(rel))
	fmt.Println(orDot(crel))
	for _, l := range long {
		fmt.Fprintf(os.Stderr, "note: %s is a long name; its full encrypted name is in the companion file %s%s\n", l, l, naming.CompanionSuffix)
	}
	return nil
}

// runDecryptPath implements efs decrypt-path CIPHERDIR CREL.
func runDecryptPath(args []string) error {
	fs := newFlagSet("decrypt-path", "CIPHERDIR CREL", "Print the plaintext path of the ciphertext path CREL (relative to CIPHERDIR),\ne.g. one named in a log line.")
	var kf keyFlags
	var lf logFlags
	kf.register(fs, true)
	lf.register(fs)
	pos, err := parseArgs(fs, args, 2, 2)
	if err != nil {
		return err
	}
	cipherDir, crel := pos[0], relativeTo(pos[0], pos[1])
	if err := checkDir("CIPHERDIR", cipherDir); err != nil {
		return err
	}
	b, u, err := openBackup(&kf, cipherDir, lf.logger(os.Stderr))
	if err != nil {
		return err
	}
	defer u.Wipe()
	crel = filepath.ToSlash(crel)
	dir, base := path.Split(strings.Trim(path.Clean("/"+crel), "/"))
	record := base == naming.RecordName && b.Format() >= 2
	if record {
		// A directory record stands for its directory.
		crel = dir
	}
	rel, companion, err := b.DecryptPath(crel)
	if err != nil {
		if errors.Is(err, forward.ErrDamaged) {
			return withCode(exitIntegrity, err)
		}
		return err
	}
	fmt.Println(orDot(rel))
	if companion {
		fmt.Fprintln(os.Stderr, "note: CREL is the long-name companion file of this entry")
	}
	if record {
		fmt.Fprintln(os.Stderr, "note: CREL is the directory record ("+naming.RecordName+") of this directory")
	}
	return nil
}
