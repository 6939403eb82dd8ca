package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// newFlagSet returns a FlagSet whose errors are returned, not printed and
// exited on, so that run prints them and decides the exit code. Its Usage
// writes the command's help to the FlagSet's output, which is io.Discard
// except while parseArgs prints the help asked for with -h.
func newFlagSet(name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "%s\n\n%s\n", usageLine(fs, args), summary)
		if hasFlags(fs) {
			fmt.Fprint(w, "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// usageLine is "usage: efs NAME [flags] ARGS", the first line of the help
// and the line printed after a usage error.
func usageLine(fs *flag.FlagSet, args string) string {
	line := "usage: efs " + fs.Name()
	if hasFlags(fs) {
		line += " [flags]"
	}
	if args != "" {
		line += " " + args
	}
	return line
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// errHelp is returned after -h printed the usage.
var errHelp = flag.ErrHelp

// parseArgs parses flags anywhere on the command line ("efs reverse A B
// --fg" works as well as "efs reverse --fg A B"), checks the number of
// positional arguments and returns them. "--" ends flag parsing.
//
// Where usage goes: help the user asked for (-h) is the command's output,
// so it goes to stdout and the exit code is 0; usage shown because of a
// mistake goes to stderr with the error, exit code 2, so that a script's
// stdout never holds text it did not ask for. run follows the same rule
// for "efs help" and a bare "efs".
func parseArgs(fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				fs.SetOutput(os.Stdout)
				fs.Usage()
				fs.SetOutput(io.Discard)
				return nil, errHelp
			}
			return nil, usageErr(fs, err)
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
		return nil, usageErr(fs, errors.New("wrong number of arguments"))
	}
	return pos, nil
}

// usageErr wraps a flag or argument error of fs's command with its usage
// line and, if it has flags, a hint to list them.
func usageErr(fs *flag.FlagSet, err error) error {
	// The usage line's ARGS are the first line of the help, after the name.
	var b strings.Builder
	fs.SetOutput(&b)
	fs.Usage()
	fs.SetOutput(io.Discard)
	line, _, _ := strings.Cut(b.String(), "\n")
	err = &usageError{err: err, usage: line}
	if hasFlags(fs) {
		err = withHint(err, fmt.Sprintf("efs %s -h lists its flags", fs.Name()))
	}
	return err
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
