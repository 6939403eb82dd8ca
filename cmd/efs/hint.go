package main

import (
	"errors"
	"fmt"
	"io"
)

// An error message is one line that says what went wrong. Advice on what
// to do about it (a flag to give, a command to run) is a hint attached with
// withHint; run prints each hint on a line of its own after the error:
//
//	efs fsck: config not found: backup/efs.toml
//	hint: if it is your backup, recover it with ... --masterkey KEY

// hintError is an error with advice for the user.
type hintError struct {
	err   error
	hints []string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// withHint returns err carrying hints, each printed as a "hint:" line
// (nil stays nil, and no hints leave err as it is).
func withHint(err error, hints ...string) error {
	if err == nil || len(hints) == 0 {
		return err
	}
	return &hintError{err: err, hints: hints}
}

// hintsOf returns the hints attached anywhere in err's tree, outermost
// first.
func hintsOf(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if h, ok := err.(*hintError); ok {
			out = append(out, h.hints...)
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if e := u.Unwrap(); e != nil {
				walk(e)
			}
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// usageError is a bad flag or a wrong number of arguments. run prints the
// command's usage line after it; its exit code is exitUsage.
type usageError struct {
	err   error
	usage string // "usage: efs NAME [flags] ARGS"
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// printError writes err for the user: "efs NAME: message" on one line, then
// the usage line of a usage error, then one "hint:" line per hint.
func printError(w io.Writer, name string, err error) {
	fmt.Fprintf(w, "%s: %v\n", name, err)
	var ue *usageError
	if errors.As(err, &ue) && ue.usage != "" {
		fmt.Fprintln(w, ue.usage)
	}
	for _, h := range hintsOf(err) {
		fmt.Fprintf(w, "hint: %s\n", h)
	}
}
