package main

import (
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/efs-project/efs/config"

	"github.com/efs-project/efs/internal/ignore"
	"github.com/efs-project/efs/reverse"
)

// viewFlags choose what the encrypted view shows; efs reverse and efs
// export share them so that both show the same entries.
type viewFlags struct {
	excludes    stringList
	excludeFrom string
	oneFS       bool
}

func (v *viewFlags) register(fs *flag.FlagSet, oneFSHelp string) {
	fs.Var(&v.excludes, "exclude", "leave out entries matching gitignore `PATTERN` (repeatable)")
	fs.StringVar(&v.excludeFrom, "exclude-from", "", "read exclude patterns from `FILE` (gitignore syntax, one per line)")
	fs.BoolVar(&v.oneFS, "one-file-system", false, oneFSHelp)
}

// excluder builds the matcher for --exclude and --exclude-from; nil when
// neither is given.
func (v *viewFlags) excluder() (reverse.Excluder, error) {
	patterns := append([]string(nil), v.excludes...)
	if v.excludeFrom != "" {
		more, err := ignore.ReadFile(v.excludeFrom)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("--exclude-from: %w", err))
		}
		patterns = append(patterns, more...)
	}
	if len(patterns) == 0 {
		return nil, nil
	}
	ex, err := ignore.Compile(patterns)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("--exclude: %w", err))
	}
	return ex, nil
}

// openTree unlocks the config of the plaintext tree plainDir and opens
// its view model with these flags (exclude is v.excluder's matcher, built
// before any password is asked for): what efs reverse, export and serve
// all start with, the twin of openBackup. Close the tree, then wipe the
// keys.
func (v *viewFlags) openTree(kf *keyFlags, plainDir string, exclude reverse.Excluder, log *slog.Logger) (*reverse.Tree, *unlocked, error) {
	u, err := kf.unlock(filepath.Join(plainDir, config.FileName), []string{noTreeConfigHint(plainDir)}, log)
	if err != nil {
		return nil, nil, err
	}
	tree, err := reverse.New(plainDir, u.Keys, reverse.Options{
		Settings:      u.Settings,
		ConfigPath:    u.ConfigPath,
		Exclude:       exclude,
		OneFileSystem: v.oneFS,
		Logger:        log,
	})
	if err != nil {
		u.Wipe()
		return nil, nil, withCode(exitBadDir, err)
	}
	return tree, u, nil
}
