package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// newFlagSet returns a FlagSet whose errors are returned, not printed and
// exited on, so main decides the exit code.
func newFlagSet(name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(os.Stdout, "usage: efs %s %s\n\n%s\n\nflags:\n", name, args, summary)
		fs.SetOutput(os.Stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// errHelp is returned after -h printed the usage.
var errHelp = flag.ErrHelp

// parseArgs parses flags anywhere on the command line ("efs reverse A B
// --fg" works as well as "efs reverse --fg A B"), checks the number of
// positional arguments and returns them. "--" ends flag parsing.
func parseArgs(fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, errHelp // fs.Parse has printed the usage
			}
			return nil, withCode(exitUsage, fmt.Errorf("efs %s: %w", fs.Name(), err))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < minPos || (maxPos >= 0 && len(pos) > maxPos) {
		return nil, withCode(exitUsage, fmt.Errorf("efs %s: wrong number of arguments (see efs %s -h)", fs.Name(), fs.Name()))
	}
	return pos, nil
}

// stringList is a repeatable string flag (--exclude).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// logFlags are -q and -v.
type logFlags struct{ quiet, verbose bool }

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&l.quiet, "q", false, "quiet: print only errors")
	fs.BoolVar(&l.verbose, "v", false, "verbose: also print debug messages")
}

func (l *logFlags) level() slog.Level {
	switch {
	case l.quiet:
		return slog.LevelError
	case l.verbose:
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// logger writes human-readable lines to w at the flags' level.
func (l *logFlags) logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l.level()}))
}
