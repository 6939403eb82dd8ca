//go:build unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"log/syslog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// daemonLogger is the logger of a mount: stderr in the foreground; in the
// background (no terminal to write to) --log FILE, else syslog, else a
// file in logDir, created only once there is a line to write. The string
// says where the lines go.
func daemonLogger(m *mountFlags, lf *logFlags) (*slog.Logger, string, error) {
	if !isDaemonChild() {
		return lf.logger(os.Stderr), "", nil
	}
	if m.logFile != "" {
		f, err := os.OpenFile(m.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, "", fmt.Errorf("opening --log file: %w", err)
		}
		return lf.logger(f), m.logFile, nil
	}
	if w, err := syslog.New(syslog.LOG_INFO|syslog.LOG_DAEMON, "efs"); err == nil {
		return lf.logger(w), "syslog", nil
	}
	dir, err := logDir()
	if err != nil {
		return nil, "", withHint(fmt.Errorf("no syslog, and no safe directory for a log file: %w", err), "give --log FILE")
	}
	w := &lazyLog{dir: dir}
	return lf.logger(w), dir, nil
}

// logDir is where a background mount without syslog logs:
// $XDG_RUNTIME_DIR/efs, else ~/.local/state/efs. Unlike /tmp, only the user
// can write there, so nobody can plant a symlink where the log will go.
// An existing directory must be the user's own and writable by nobody
// else; a missing one is made (mode 0700) on the first line.
func logDir() (string, error) {
	base := os.Getenv("XDG_RUNTIME_DIR")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, ".local", "state")
	}
	dir := filepath.Join(base, "efs")
	if err := checkPrivateDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return dir, nil
}

// checkPrivateDir requires dir to be a directory (not a symlink to one)
// owned by this user and writable by nobody else.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symlink", dir)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case ok && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s belongs to another user", dir)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s is writable by other users (mode %04o)", dir, fi.Mode().Perm())
	}
	return nil
}

// lazyLog is a log file in dir that exists only once a line is written: a
// mount that fails, or says nothing, leaves no empty file behind. The file
// is new, 0600 and named after the process. If it cannot be made, lines are dropped: a background process
// has nowhere else to say so.
type lazyLog struct {
	dir string

	mu     sync.Mutex
	f      *os.File
	failed bool
}

func (l *lazyLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil && !l.failed {
		l.f = l.open()
		l.failed = l.f == nil
	}
	if l.f == nil {
		return len(p), nil
	}
	return l.f.Write(p)
}

func (l *lazyLog) open() *os.File {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return nil
	}
	if checkPrivateDir(l.dir) != nil {
		return nil
	}
	// efs-PID.log, or efs-PID.N.log when an earlier process of the same
	// PID left one. O_EXCL: only a new file, never one planted there.
	for n := 0; n < 100; n++ {
		name := fmt.Sprintf("efs-%d.log", os.Getpid())
		if n > 0 {
			name = fmt.Sprintf("efs-%d.%d.log", os.Getpid(), n)
		}
		f, err := os.OpenFile(filepath.Join(l.dir, name), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil
		}
		return f
	}
	return nil
}
