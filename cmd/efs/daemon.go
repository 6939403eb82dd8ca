package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// A mount command without --fg re-executes efs in the background with
// --fg and daemonEnv set to the kind of secret the parent hands over on
// fd 3: the password (handPassword) or the master key (handMasterKey). The
// secret itself never goes into argv or the environment, which other
// processes can read for as long as the mount lives. The parent then waits
// on fd 4 until the child reports "0\n" (mounted) or "CODE\nMESSAGE\n" and
// one "HINT\n" per hint (failed).
const daemonEnv = "_EFS_DAEMON_CHILD"

const (
	handPassword  = "password"
	handMasterKey = "masterkey"
)

const (
	daemonSecretFD = 3
	daemonReadyFD  = 4
)

func isDaemonChild() bool { return os.Getenv(daemonEnv) != "" }

// daemonSecret returns the secret the parent piped to a daemon child, if
// it is of the kind asked for; ok is false otherwise. The caller wipes it.
func daemonSecret(kind string) (b []byte, ok bool, err error) {
	if os.Getenv(daemonEnv) != kind {
		return nil, false, nil
	}
	f := os.NewFile(daemonSecretFD, kind)
	defer f.Close()
	b, err = readSecret(f)
	if err != nil {
		return nil, true, fmt.Errorf("reading the %s from the parent process: %w", kind, err)
	}
	if len(b) == 0 {
		return nil, true, withCode(exitUsage, fmt.Errorf("the %s is empty", kind))
	}
	return b, true, nil
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
	fs.StringVar(&m.logFile, "log", "", "in the background, append log lines to `FILE` instead of syslog (without syslog:\nefs-PID.log in $XDG_RUNTIME_DIR/efs or ~/.local/state/efs, made on the first line)")
}

// daemonize starts this command again in the background and waits until it
// has mounted or failed. secret (of kind handPassword or handMasterKey) was
// collected here, where the terminal is, and goes to the child over a pipe.
func daemonize(kind string, secret []byte) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the efs executable: %w", err)
	}
	secretR, secretW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer secretW.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		secretR.Close()
		return err
	}
	defer readyR.Close()
	// The child gets the key over the pipe, not --masterkey KEY, and has
	// no use for the file --masterkey-file names.
	args := append([]string{os.Args[1], "--fg"}, dropFlags(os.Args[2:], "masterkey", "masterkey-file")...)
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), daemonEnv+"="+kind)
	cmd.ExtraFiles = []*os.File{secretR, readyW} // fds 3 and 4
	newSession(cmd)
	err = cmd.Start()
	secretR.Close()
	readyW.Close()
	if err != nil {
		return fmt.Errorf("starting the background process: %w", err)
	}
	// At most maxSecretLen bytes: the pipe holds them without blocking.
	secretW.Write(secret)
	secretW.Close()
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

// dropFlags returns args without the flags named (with their values, as
// "--name value" or "--name=value"); after "--" everything is positional.
func dropFlags(args []string, names ...string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && slices.Contains(names, name) {
			if !hasValue {
				i++ // its value
			}
			continue
		}
		out = append(out, a)
	}
	return out
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
