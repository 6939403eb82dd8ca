package main

import (
	"errors"

	"github.com/efs-project/efs/config"
)

// Exit codes, documented in `efs help` (exitCodesHelp in main.go) and README.md.
const (
	exitOK         = 0
	exitError      = 1  // anything not listed below
	exitUsage      = 2  // bad flags or arguments
	exitPassword   = 3  // wrong password (or wrong --masterkey)
	exitNoConfig   = 4  // no config: not an efs tree or backup, or init not run
	exitBadConfig  = 5  // config corrupt or altered
	exitBadDir     = 6  // PLAINDIR / CIPHERDIR / DEST missing or not a directory
	exitMountpoint = 7  // mountpoint missing, not a directory, not empty, or already mounted
	exitNoFUSE     = 8  // FUSE unavailable, or the kernel refused the mount
	exitIntegrity  = 9  // fsck/restore/export finished but some entries failed
	exitExists     = 10 // efs init found an existing config
	exitOutOfSync  = 11 // fsck/restore: entries differ from their directory records, none failed
)

// codeError attaches an exit code to an error.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

// withCode returns err carrying exit code code (nil stays nil).
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codeError{code: code, err: err}
}

// exitCode picks the exit code for err: an explicit code wins, then the
// config package's sentinels.
func exitCode(err error) int {
	var ce *codeError
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, config.ErrWrongPassword):
		return exitPassword
	case errors.Is(err, config.ErrNotFound):
		return exitNoConfig
	case errors.Is(err, config.ErrCorrupt), errors.Is(err, config.ErrTampered):
		return exitBadConfig
	case errors.Is(err, config.ErrExists):
		return exitExists
	}
	return exitError
}
