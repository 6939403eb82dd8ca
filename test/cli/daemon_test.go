//go:build linux

package cli_test

// Background mounts with real FUSE mounts and real processes: what the
// serving process exposes, where it logs, and what efs does when it dies
// or when two mounts race for one mountpoint.

import (
	"bytes"
	"errors"
	"fmt"
	"log/syslog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/internal/testenv"
	"golang.org/x/sys/unix"
)

// backupWithKey makes a tree, exports its view as a backup and returns the
// backup and the master key efs init printed.
func backupWithKey(t *testing.T) (backup, key string) {
	t.Helper()
	plain := t.TempDir()
	if err := os.WriteFile(filepath.Join(plain, "a.txt"), []byte("alpha\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	key = e2e.InitTree(t, plain)
	backup = filepath.Join(t.TempDir(), "backup")
	e2e.MustEfs(t, "export", "-q", "--passfile", e2e.Passfile(t), plain, backup)
	return backup, key
}

// TestBackgroundMountHidesMasterKey: the master key given to a background
// efs mount reaches the serving process over a pipe, not argv or the
// environment (it once sat in _EFS_MASTERKEY, readable in
// /proc/PID/environ for the mount's life), and that process is
// non-dumpable, so the user's other processes cannot read its memory or
// attach a debugger to it.
func TestBackgroundMountHidesMasterKey(t *testing.T) {
	testenv.RequireFUSE(t)
	backup, key := backupWithKey(t)
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	forms := []string{key, strings.ReplaceAll(key, "-", ""), strings.ToUpper(strings.ReplaceAll(key, "-", ""))}

	for _, how := range []string{"--masterkey-file FILE", "--masterkey-file -", "--masterkey KEY"} {
		t.Run(how, func(t *testing.T) {
			mnt := t.TempDir()
			var args []string
			var stdin []byte
			switch how {
			case "--masterkey-file FILE":
				args = []string{"--masterkey-file", keyFile}
			case "--masterkey-file -":
				args, stdin = []string{"--masterkey-file", "-"}, []byte(key+"\n")
			case "--masterkey KEY":
				args = []string{"--masterkey", key}
			}
			cmd := exec.Command(e2e.Bin(t), append(append([]string{"mount"}, args...), backup, mnt)...)
			cmd.Stdin = bytes.NewReader(stdin)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("efs mount %s: %v\n%s", how, err, stderr.String())
			}
			t.Cleanup(func() { e2e.Unmount(t, mnt) })
			wantStderr := ""
			if how == "--masterkey KEY" {
				wantStderr = "efs mount: warning: --masterkey puts the master key on the command line, where every local user can read it (ps, /proc)\n" +
					"hint: --masterkey-file FILE (- for standard input) keeps it out of sight\n"
			}
			if stderr.String() != wantStderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), wantStderr)
			}
			if got, err := os.ReadFile(filepath.Join(mnt, "a.txt")); err != nil || string(got) != "alpha\n" {
				t.Fatalf("a.txt through the mount: %q, %v", got, err)
			}

			pid := e2e.DaemonPID(t, mnt)
			for _, name := range []string{"cmdline", "environ"} {
				data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
				if err != nil {
					t.Fatalf("reading the mount process's %s: %v", name, err)
				}
				for _, f := range forms {
					if bytes.Contains(data, []byte(f)) {
						t.Errorf("/proc/%d/%s holds the master key", pid, name)
					}
				}
				if bytes.Contains(data, []byte(keyFile)) {
					t.Errorf("/proc/%d/%s names the key file", pid, name)
				}
			}

			// Without CAP_SYS_PTRACE, only a dumpable process's memory
			// can be read; a control process first, to show that the
			// probe tells the two apart.
			control := exec.Command("sleep", "30")
			if err := control.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { control.Process.Kill(); control.Wait() }()
			if err := peekWithoutPtraceCap(control.Process.Pid); err != nil {
				t.Fatalf("the probe cannot read a dumpable process's memory: %v", err)
			}
			if err := peekWithoutPtraceCap(pid); !errors.Is(err, unix.EPERM) {
				t.Errorf("the mount process is dumpable: its memory is readable without CAP_SYS_PTRACE (err %v)", err)
			}
		})
	}
}

// peekWithoutPtraceCap tries to read another process's memory, as any
// process of the same user could, from a thread that has dropped
// CAP_SYS_PTRACE from its effective capabilities. It reads one byte at
// address 1: the kernel first checks access, which it grants only to a
// dumpable process (the read then fails with EFAULT, reported as nil),
// and refuses for a non-dumpable one (EPERM). The thread ends with the
// goroutine, its capabilities with it.
func peekWithoutPtraceCap(pid int) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- fmt.Errorf("capget: %w", err)
			return
		}
		data[0].Effective &^= 1 << unix.CAP_SYS_PTRACE
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- fmt.Errorf("capset: %w", err)
			return
		}
		var b [1]byte
		_, err := unix.ProcessVMReadv(pid, []unix.Iovec{{Base: &b[0], Len: 1}}, []unix.RemoteIovec{{Base: 1, Len: 1}}, 0)
		if errors.Is(err, unix.EFAULT) {
			err = nil
		}
		errc <- err
	}()
	return <-errc
}

// TestDeadMount: after kill -9 of the process serving a view, its
// mountpoint fails every access with ENOTCONN. efs unmount once called it
// "not mounted" (exit 7) and efs reverse onto it printed "transport
// endpoint is not connected"; now efs reverse and efs mount name the
// problem and the fix, and efs unmount removes the dead mount.
func TestDeadMount(t *testing.T) {
	plain := t.TempDir()
	e2e.InitTree(t, plain)
	pw := e2e.Passfile(t)
	mnt := e2e.Mount(t, "reverse", plain)
	if err := syscall.Kill(e2e.DaemonPID(t, mnt), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, err := os.Stat(mnt); !errors.Is(err, syscall.ENOTCONN); _, err = os.Stat(mnt) {
		if time.Now().After(deadline) {
			t.Fatalf("stat of the mountpoint after kill -9: %v, want ENOTCONN", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, cmd := range []string{"reverse", "mount"} {
		r := expect(t, 7, cmd, "--passfile", pw, plain, mnt)
		want := fmt.Sprintf("efs %s: mountpoint %s is a dead FUSE mount (the process serving it is gone)\nhint: efs unmount %s unmounts it\n", cmd, mnt, mnt)
		if r.Stderr != want {
			t.Errorf("efs %s onto a dead mount:\n%s\nwant:\n%s", cmd, r.Stderr, want)
		}
	}
	if r := expect(t, 0, "unmount", mnt); r.Stdout != "" || r.Stderr != "" {
		t.Errorf("efs unmount of a dead mount printed:\n%s%s", r.Stdout, r.Stderr)
	}
	if e2e.IsMounted(mnt) {
		t.Fatal("the dead mount is still mounted after efs unmount")
	}
	// The mountpoint is usable again.
	expect(t, 0, "reverse", "--passfile", pw, plain, mnt)
	if _, err := os.Stat(filepath.Join(mnt, "efs.toml")); err != nil {
		t.Fatalf("remounted view: %v", err)
	}
}

// TestConcurrentReverse: two efs reverse started at the same moment onto
// one mountpoint both passed the mountpoint checks and both mounted, one
// on top of the other. Exactly one may succeed; the other is exit 7.
func TestConcurrentReverse(t *testing.T) {
	testenv.RequireFUSE(t)
	plain := t.TempDir()
	// A slower KDF widens the gap between each mount's first check and
	// its mount, where the two once raced.
	e2e.InitTree(t, plain, "--kdf-memory", "64", "--kdf-time", "3")
	pw := e2e.Passfile(t)
	mnt := t.TempDir()
	t.Cleanup(func() {
		for i := 0; i < 3 && e2e.IsMounted(mnt); i++ {
			e2e.Unmount(t, mnt)
		}
	})

	type result struct {
		code   int
		stderr string
	}
	results := make(chan result, 2)
	for range 2 {
		cmd := exec.Command(e2e.Bin(t), "reverse", "--passfile", pw, plain, mnt)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			cmd.Wait()
			results <- result{cmd.ProcessState.ExitCode(), stderr.String()}
		}()
	}
	a, b := <-results, <-results
	if a.code != 0 {
		a, b = b, a
	}
	want := fmt.Sprintf("efs reverse: mountpoint %s is already mounted\nhint: efs unmount %s unmounts it\n", mnt, mnt)
	if a.code != 0 || b.code != 7 || b.stderr != want {
		t.Errorf("two concurrent efs reverse: exit %d (%q) and %d (%q), want 0 and 7 (%q)", a.code, a.stderr, b.code, b.stderr, want)
	}
	if n := mountCount(t, mnt); n != 1 {
		t.Errorf("%d mounts on %s, want 1", n, mnt)
	}
}

// mountCount is the number of mounts on mnt in /proc/self/mountinfo.
func mountCount(t *testing.T, mnt string) int {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == mnt {
			n++
		}
	}
	return n
}

// TestDaemonLogFile: without syslog, a background mount logs to
// efs-PID.log in $XDG_RUNTIME_DIR/efs (0700), mode 0600, not to
// /tmp/efs-PID.log, where another user could plant a symlink.
func TestDaemonLogFile(t *testing.T) {
	testenv.RequireFUSE(t)
	if w, err := syslog.New(syslog.LOG_INFO, "efs-test"); err == nil {
		w.Close()
		t.Skip("syslog is there: a background mount logs to it, not to a file")
	}
	run := t.TempDir() // 0700
	t.Setenv("XDG_RUNTIME_DIR", run)
	plain := t.TempDir()
	e2e.InitTree(t, plain)
	mnt := e2e.Mount(t, "reverse", plain)
	pid := e2e.DaemonPID(t, mnt)

	dir := filepath.Join(run, "efs")
	st, err := os.Lstat(dir)
	if err != nil {
		t.Fatalf("no log directory: %v", err)
	}
	if !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Errorf("log directory %s: mode %v, want a directory 0700", dir, st.Mode())
	}
	path := filepath.Join(dir, fmt.Sprintf("efs-%d.log", pid))
	st, err = os.Lstat(path)
	if err != nil {
		t.Fatalf("no log file: %v", err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Errorf("log file %s: mode %v, want a regular file 0600", path, st.Mode())
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `msg="mounted the encrypted view"`) {
		t.Errorf("log file holds:\n%s", data)
	}
	if _, err := os.Lstat(filepath.Join(os.TempDir(), fmt.Sprintf("efs-%d.log", pid))); err == nil {
		t.Errorf("the mount also logged to %s", os.TempDir())
	}
}
