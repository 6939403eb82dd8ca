//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// mountTimeout bounds how long a daemon may take to appear in mountinfo.
// encfs spends most of a second in PBKDF2 on this kind of machine.
const mountTimeout = 30 * time.Second

// mount is one running FUSE daemon started in the foreground by the bench,
// so its PID is known (for VmHWM) and it can be unmounted on any exit path.
type mount struct {
	dir     string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	logPath string
	umount  []string // command that unmounts dir cleanly
}

// startDaemon runs argv (a FUSE daemon told to stay in the foreground) and
// returns once dir shows up in /proc/self/mountinfo. The daemon gets its own
// process group so a Ctrl-C on the terminal reaches only the bench, which
// then unmounts everything in order.
func startDaemon(argv, env []string, stdin, dir, logPath string, umount []string) (*mount, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("daemon log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	m := &mount{dir: dir, cmd: cmd, done: make(chan struct{}), logPath: logPath, umount: umount}
	go func() { m.waitErr = cmd.Wait(); close(m.done) }()
	deadline := time.Now().Add(mountTimeout)
	for {
		ok, err := isMounted(dir)
		if err != nil {
			m.kill()
			return nil, err
		}
		if ok {
			return m, nil
		}
		select {
		case <-m.done:
			return nil, fmt.Errorf("%s exited before mounting %s (%v): %s", argv[0], dir, m.waitErr, tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.kill()
			return nil, fmt.Errorf("%s did not mount %s within %v: %s", argv[0], dir, mountTimeout, tail(logPath))
		}
	}
}

// pid is the daemon's process ID.
func (m *mount) pid() int { return m.cmd.Process.Pid }

// peakRSS reads the daemon's VmHWM (peak resident set) in bytes.
func (m *mount) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", m.pid()))
	if err != nil {
		return 0, fmt.Errorf("reading daemon status: %w", err)
	}
	defer f.Close()
	return parseVmHWM(f)
}

// cpuTime is the CPU time (user + system) the daemon has used so far. On
// a shared machine it compares the tools' work better than wall time.
func (m *mount) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.pid()))
	if err != nil {
		return 0, fmt.Errorf("reading daemon stat: %w", err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime from a /proc/PID/stat line. They are
// in USER_HZ ticks, which Linux fixes at 100 for /proc.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat line")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	var ticks int64
	for _, s := range f[11:13] { // fields 14 (utime) and 15 (stime)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// rss reads the daemon's VmRSS (resident set now) in bytes.
func (m *mount) rss() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", m.pid()))
	if err != nil {
		return 0, fmt.Errorf("reading daemon status: %w", err)
	}
	defer f.Close()
	return parseStatusKB(f, "VmRSS")
}

// parseVmHWM extracts VmHWM from a /proc/PID/status file, in bytes.
func parseVmHWM(r io.Reader) (int64, error) { return parseStatusKB(r, "VmHWM") }

// parseStatusKB extracts the kB field key from a /proc/PID/status file,
// in bytes.
func parseStatusKB(r io.Reader, key string) (int64, error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		var kb int64
		if _, err := fmt.Sscanf(s.Text(), key+": %d kB", &kb); err == nil {
			return kb << 10, nil
		}
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s line in /proc status", key)
}

// unmount detaches the file system and waits for the daemon to exit. A busy
// mount is retried briefly, then detached lazily and the daemon killed, so a
// failed run never leaves a mount behind.
func (m *mount) unmount() error {
	var err error
	for try := 0; try < 20; try++ {
		var out []byte
		out, err = exec.Command(m.umount[0], append(m.umount[1:], m.dir)...).CombinedOutput()
		if err == nil {
			break
		}
		err = fmt.Errorf("%s %s: %w: %s", m.umount[0], m.dir, err, strings.TrimSpace(string(out)))
		if ok, _ := isMounted(m.dir); !ok {
			err = nil
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		_ = exec.Command("fusermount3", "-uz", m.dir).Run()
	}
	select {
	case <-m.done:
	case <-time.After(15 * time.Second):
		m.kill()
		if err == nil {
			err = fmt.Errorf("daemon for %s did not exit after unmount", m.dir)
		}
	}
	return err
}

func (m *mount) kill() {
	_ = m.cmd.Process.Kill()
	<-m.done
	_ = exec.Command("fusermount3", "-uz", m.dir).Run()
}

// isMounted reports whether dir (absolute, clean) is a mount point.
func isMounted(dir string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, fmt.Errorf("reading mount table: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && unescapeMountinfo(fields[4]) == dir {
			return true, nil
		}
	}
	return false, s.Err()
}

// unescapeMountinfo undoes the kernel's octal escaping of space, tab,
// newline and backslash in mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%3o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// tail returns the last lines of a daemon log for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	if s == "" {
		return "(empty log)"
	}
	return s
}

// run executes a short command and wraps its output into the error.
func run(ctx context.Context, argv []string, env []string, stdin string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
