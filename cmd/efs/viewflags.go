package main

import (
	"flag"
	"fmt"

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
