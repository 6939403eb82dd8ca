package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// A mount command without --fg re-executes efs in the background with
// --fg and this variable set. The parent hands the password over fd 3
// (never argv or the environment) and waits on fd 4 until the child
// reports "0\n" (mounted) or "CODE\nMESSAGE\n" and one "HINT\n" per hint
// (failed).
const daemonEnv = "_EFS_DAEMON_CHILD"

const (
	daemonPassFD  = 3
	daemonReadyFD = 4
)

func isDaemonChild() bool { return os.Getenv(daemonEnv) == "1" }

// daemonPassword returns the password the parent piped to a daemon child.
// ok is false outside a daemon child.
func daemonPassword() (pw []byte, ok bool, err error) {
	if !isDaemonChild() {
		return nil, false, nil
	}
	f := os.NewFile(daemonPassFD, "password")
	defer f.Close()
	pw, err = readAllLimited(f)
	if err != nil {
		return nil, true, fmt.Errorf("reading password from parent: %w", err)
	}
	if len(pw) == 0 {
		return nil, true, withCode(exitUsage, errors.New("the password is empty"))
	}
	return pw, true, nil
}

// mountFlags are the options every mounting command shares.
type mountFlags struct {
	fg         bool
	allowOther bool
	logFile    string
}

func (m *mountFlags) register(fs interface {
	BoolVar(*bool, string, bool, string)
	StringVar(*string, string, string, string)
}) {
	fs.BoolVar(&m.fg, "fg", false, "stay in the foreground and log to stderr (default: return once mounted, log to syslog)")
	fs.BoolVar(&m.allowOther, "allow-other", false, "let other users see the mount (needs user_allow_other in /etc/fuse.conf for non-root)")
	fs.StringVar(&m.logFile, "log", "", "in the background, append log lines to `FILE` instead of syslog")
}

// daemonize starts this command again in the background and waits until it
// has mounted or failed. needPassword tells whether to collect the password
// here, where the terminal is.
func daemonize(pf *passwordFlags, needPassword bool) error {
	var pw []byte
	if needPassword {
		var err error
		if pw, err = pf.get("Password", false); err != nil {
			return err
		}
		defer clear(pw)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the efs executable: %w", err)
	}
	passR, passW, err := os.Pipe()
	if err != nil {
		return err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	args := append([]string{os.Args[1], "--fg"}, os.Args[2:]...)
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.ExtraFiles = []*os.File{passR, readyW} // fds 3 and 4
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if !needPassword {
		passR.Close()
		passR, _ = os.Open(os.DevNull)
		cmd.ExtraFiles[0] = passR
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the background process: %w", err)
	}
	passR.Close()
	readyW.Close()
	if needPassword {
		passW.Write(pw)
	}
	passW.Close()
	defer readyR.Close()
	r := bufio.NewReader(readyR)
	line, err := r.ReadString('\n')
	if err != nil {
		// The child died without a word: reap it for its exit status.
		werr := cmd.Wait()
		return fmt.Errorf("the background efs process exited before mounting (%v)", werr)
	}
	code, _ := strconv.Atoi(strings.TrimSpace(line))
	if code == exitOK {
		cmd.Process.Release()
		return nil
	}
	rest, _ := io.ReadAll(r)
	cmd.Wait()
	return childError(code, string(rest))
}

// writeChildError writes the failure report of a daemon child after its
// exit-code line: the error, then one hint a line.
func writeChildError(w io.Writer, err error) {
	fmt.Fprintf(w, "%v\n", err)
	for _, h := range hintsOf(err) {
		fmt.Fprintln(w, h)
	}
}

// childError rebuilds in the parent the error writeChildError reported.
func childError(code int, report string) error {
	lines := strings.Split(strings.TrimSpace(report), "\n")
	return withCode(code, withHint(errors.New(lines[0]), lines[1:]...))
}

// notifyParent reports the mount outcome to a waiting parent; a no-op in a
// foreground run.
func notifyParent(err error) {
	if !isDaemonChild() {
		return
	}
	f := os.NewFile(daemonReadyFD, "ready")
	if f == nil {
		return
	}
	defer f.Close()
	if err == nil {
		fmt.Fprintf(f, "%d\n", exitOK)
		return
	}
	fmt.Fprintf(f, "%d\n", exitCode(err))
	writeChildError(f, err)
}

// daemonLogger is the logger of a background mount: --log FILE, else
// syslog, else a file in the temp dir (there is no terminal to write to).
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
	path := filepath.Join(os.TempDir(), fmt.Sprintf("efs-%d.log", os.Getpid()))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("no syslog and no log file: %w", err)
	}
	return lf.logger(f), path, nil
}

// checkMountpoint requires an existing, empty directory that is not already
// a mount point, and a usable /dev/fuse.
func checkMountpoint(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return withCode(exitMountpoint, fmt.Errorf("mountpoint: %w", err))
	}
	if !st.IsDir() {
		return withCode(exitMountpoint, fmt.Errorf("mountpoint %s is not a directory", path))
	}
	if mounted, _ := isMountpoint(path); mounted {
		return withCode(exitMountpoint, withHint(fmt.Errorf("mountpoint %s is already mounted", path), "efs unmount "+path+" unmounts it"))
	}
	f, err := os.Open(path)
	if err != nil {
		return withCode(exitMountpoint, fmt.Errorf("mountpoint: %w", err))
	}
	names, _ := f.Readdirnames(1)
	f.Close()
	if len(names) > 0 {
		return withCode(exitMountpoint, fmt.Errorf("mountpoint %s is not empty", path))
	}
	fd, err := unix.Open("/dev/fuse", unix.O_RDWR, 0)
	if err != nil {
		return withCode(exitNoFUSE, withHint(fmt.Errorf("FUSE is not available: /dev/fuse: %w", err), "install fuse3, or load the fuse kernel module"))
	}
	unix.Close(fd)
	return nil
}

// isMountpoint compares the device of path with that of its parent, and
// falls back to /proc/self/mountinfo for bind mounts of the same device.
func isMountpoint(path string) (bool, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false, err
	}
	var st, pst unix.Stat_t
	if err := unix.Stat(abs, &st); err != nil {
		return false, err
	}
	if err := unix.Stat(filepath.Dir(abs), &pst); err != nil {
		return false, err
	}
	if st.Dev != pst.Dev || st.Ino == pst.Ino {
		return true, nil
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && unescapeMountinfo(fields[4]) == abs {
			return true, nil
		}
	}
	return false, nil
}

func unescapeMountinfo(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// serve reports success to a waiting parent, then waits until the file
// system is unmounted, unmounting it cleanly on SIGINT or SIGTERM.
func serve(server *fuse.Server, mountpoint string, log *slog.Logger) {
	defer startProfile()()
	notifyParent(nil)
	if isDaemonChild() {
		// Detach from the parent's (already /dev/null) stdio for good.
		if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
			unix.Dup2(int(null.Fd()), 0)
			unix.Dup2(int(null.Fd()), 1)
			unix.Dup2(int(null.Fd()), 2)
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for sig := range sigs {
			log.Info("unmounting", "signal", sig.String(), "mountpoint", mountpoint)
			for i := 0; ; i++ {
				err := server.Unmount()
				if err == nil {
					break
				}
				if i == 0 {
					log.Warn("unmount failed, retrying (is the mountpoint busy?)", "err", err)
				}
				time.Sleep(500 * time.Millisecond)
				if i > 20 {
					log.Error("giving up unmounting; use efs unmount", "mountpoint", mountpoint)
					break
				}
			}
		}
	}()
	server.Wait()
	signal.Stop(sigs)
	log.Info("unmounted", "mountpoint", mountpoint)
}

// runUnmount implements efs unmount MOUNTPOINT.
func runUnmount(args []string) error {
	fs := newFlagSet("unmount", "MOUNTPOINT", "Unmount an efs view (reverse or forward).")
	lazy := fs.Bool("lazy", false, "detach now even if busy; finish when no longer used")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	mp := pos[0]
	if mounted, err := isMountpoint(mp); err != nil || !mounted {
		return withCode(exitMountpoint, fmt.Errorf("%s is not mounted", mp))
	}
	var lastErr error
	for _, tool := range []string{"fusermount3", "fusermount"} {
		if _, err := exec.LookPath(tool); err != nil {
			continue
		}
		targs := []string{"-u", mp}
		if *lazy {
			targs = []string{"-u", "-z", mp}
		}
		out, err := exec.Command(tool, targs...).CombinedOutput()
		if err == nil {
			return nil
		}
		lastErr = fmt.Errorf("%s: %s", tool, strings.TrimSpace(string(out)))
	}
	flags := 0
	if *lazy {
		flags = unix.MNT_DETACH
	}
	if err := unix.Unmount(mp, flags); err != nil {
		if lastErr != nil {
			return withCode(exitMountpoint, fmt.Errorf("unmounting %s: %w (%v)", mp, err, lastErr))
		}
		return withCode(exitMountpoint, fmt.Errorf("unmounting %s: %w", mp, err))
	}
	return nil
}
