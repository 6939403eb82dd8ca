package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/efs-project/efs/config"
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
	exclude, err := vf.excluder()
	if err != nil {
		return err
	}
	log := lf.logger(os.Stderr)
	u, err := kf.unlock(filepath.Join(plainDir, config.FileName), []string{noTreeConfigHint(plainDir)}, log)
	if err != nil {
		return err
	}
	defer u.Wipe()
	if _, err := os.Stat(dest); errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(dest, 0o700); err != nil {
			return withCode(exitBadDir, fmt.Errorf("creating DEST: %w", err))
		}
	}
	if err := checkDir("DEST", dest); err != nil {
		return err
	}
	tree, err := reverse.New(plainDir, u.Keys, reverse.Options{
		Settings:      u.Settings,
		ConfigPath:    u.ConfigPath,
		Exclude:       exclude,
		OneFileSystem: vf.oneFS,
		Logger:        log,
	})
	if err != nil {
		return withCode(exitBadDir, err)
	}
	defer tree.Close()

	prog := newProgress("exporting", lf.quiet)
	var last reverse.ExportStats
	stats, err := reverse.Export(tree, dest, reverse.ExportOptions{
		Logger: log,
		Progress: func(s reverse.ExportStats) {
			prog.add(int64(s.Written+s.Skipped-last.Written-last.Skipped), s.Bytes-last.Bytes)
			last = s
		},
	})
	prog.done()
	var xe *reverse.ExportError
	if err != nil && !errors.As(err, &xe) {
		if errors.Is(err, reverse.ErrNotExport) {
			return withCode(exitBadDir, withHint(fmt.Errorf("DEST %s: %w", dest, err), "give an empty or new directory, or an earlier export"))
		}
		return withCode(exitBadDir, fmt.Errorf("export to %s: %w", dest, err))
	}
	if !lf.quiet {
		fmt.Fprintf(os.Stderr, "export done: %d written (%s), %d up to date, %d removed\n",
			stats.Written, mib(stats.Bytes), stats.Skipped, stats.Removed)
	}
	if xe == nil {
		return nil
	}
	// On the user's terminal, name the plaintext paths they must fix; in
	// scripts and logs only view paths.
	onTerminal := term.IsTerminal(int(os.Stderr.Fd()))
	paths := xe.SummaryPaths(onTerminal)
	n := len(paths)
	fmt.Fprintf(os.Stderr, "%d %s could not be exported (an earlier export of them, if any, was kept):\n", n, plural(n, "entry", "entries"))
	for _, p := range paths {
		fmt.Fprintf(os.Stderr, "  FAILED %s\n", p)
	}
	return withCode(exitIntegrity, fmt.Errorf("export: %d %s failed (listed above); the rest is exported", n, plural(n, "entry", "entries")))
}
