package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/efs-project/efs/reverse"
	"golang.org/x/term"
)

// runExport implements efs export PLAINDIR DEST: the encrypted view written
// into an ordinary folder, without FUSE. A second run brings DEST up to
// date, rewriting only what changed.
func runExport(args []string) error {
	fs := newFlagSet("export", "PLAINDIR DEST", "Write the encrypted view of PLAINDIR into DEST without FUSE: the same names, contents,\nmodes and mtimes efs reverse shows. Later runs rewrite only changed entries and remove\nwhat PLAINDIR no longer has; DEST must be empty or an earlier export.")
	var kf keyFlags
	kf.register(fs, false)
	var lf logFlags
	lf.register(fs)
	var vf viewFlags
	vf.register(fs, "export directories on other file systems as empty")
	pos, err := parseArgs(fs, args, 2, 2)
	if err != nil {
		return err
	}
	plainDir, dest := pos[0], pos[1]
	if err := checkDir("PLAINDIR", plainDir); err != nil {
		return err
	}
	if err := checkNewDir("DEST", dest); err != nil {
		return err
	}
	exclude, err := vf.excluder()
	if err != nil {
		return err
	}
	log := lf.logger(os.Stderr)
	tree, u, err := vf.openTree(&kf, plainDir, exclude, log)
	if err != nil {
		return err
	}
	defer u.Wipe()
	defer tree.Close()

	ctx, stop := interruptible()
	defer stop()
	prog := newProgress("exporting", lf.quiet)
	rep, err := reverse.Export(ctx, tree, dest, reverse.ExportOptions{Logger: log, Progress: prog.add})
	prog.done()
	switch {
	case errors.Is(err, reverse.ErrNotExport):
		return withCode(exitBadDir, withHint(fmt.Errorf("DEST %s: %w", dest, err), "give an empty or new directory, or an earlier export"))
	case errors.Is(err, reverse.ErrDestInPlain), errors.Is(err, reverse.ErrPlainInDest):
		return withCode(exitBadDir, withHint(fmt.Errorf("DEST %s: %w", dest, err), "choose a destination apart from PLAINDIR"))
	case err != nil && ctx.Err() == nil:
		return withCode(exitBadDir, fmt.Errorf("export to %s: %w", dest, err))
	}
	if !lf.quiet {
		fmt.Fprintf(os.Stderr, "export done: %d written (%s), %d up to date, %d removed\n",
			rep.Written, mib(rep.Bytes), rep.Skipped, rep.Removed)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: DEST holds no half-written file; run the same command again to finish")
	}
	// On the user's terminal, name the plaintext paths they must fix; in
	// scripts and logs only view paths.
	onTerminal := term.IsTerminal(int(os.Stderr.Fd()))
	return reportFailures(os.Stderr, "could not be exported (an earlier export of them, if any, was kept)", rep.Failures, onTerminal)
}
