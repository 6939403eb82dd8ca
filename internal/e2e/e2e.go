//go:build unix

// Package e2e is the kit of efs's end-to-end tests (the packages below
// test/): it builds the real efs binary once per test package, runs it,
// mounts and unmounts real FUSE file systems that go away with the test,
// and makes and compares plaintext trees. A FUSE test skips only when FUSE
// is unavailable and EFS_REQUIRE_FUSE is unset (internal/testenv); CI sets
// it, so there a missing FUSE fails the run.
package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/efs-project/efs/internal/testenv"
)

// binEnv hands the path of the binary Main built to the tests of the same
// process. efs itself does not read it.
const binEnv = "EFS_E2E_BIN"

// Main builds the efs binary, runs the package's tests and removes the
// binary again; a test package calls it from TestMain:
//
//	func TestMain(m *testing.M) { e2e.Main(m) }
//
// If the build fails, Main says why on stderr and every test that runs efs
// fails.
func Main(m *testing.M) {
	os.Unsetenv(binEnv)
	if dir, err := build(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
	} else {
		defer os.RemoveAll(dir)
		os.Setenv(binEnv, filepath.Join(dir, "efs"))
	}
	m.Run()
}

// build builds cmd/efs into a new temporary directory and returns it.
func build() (string, error) {
	dir, err := os.MkdirTemp("", "efs-e2e-bin")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "efs"), "github.com/efs-project/efs/cmd/efs")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("building efs: %w", err)
	}
	return dir, nil
}

// Bin returns the path of the efs binary Main built.
func Bin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(binEnv)
	if bin == "" {
		t.Fatal("no efs binary: the build failed (see above), or TestMain does not call e2e.Main")
	}
	return bin
}

// Password is what every test tree is initialised with.
const Password = "correct horse battery staple"

// Result is the outcome of one efs run.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// RunEfs runs the efs binary with args, without standard input, and
// returns its output and exit code.
func RunEfs(t testing.TB, args ...string) Result {
	t.Helper()
	cmd := exec.Command(Bin(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = nil
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running efs %v: %v", args, err)
	}
	return Result{out.String(), errb.String(), code}
}

// MustEfs runs efs and fails the test unless it exits 0.
func MustEfs(t testing.TB, args ...string) Result {
	t.Helper()
	r := RunEfs(t, args...)
	if r.Code != 0 {
		t.Fatalf("efs %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// Run runs an external command and fails the test if it fails; it returns
// the command's combined output.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// WritePassfile writes password to a new file and returns its path.
func WritePassfile(t testing.TB, password string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Passfile writes Password to a new file and returns its path.
func Passfile(t testing.TB) string {
	t.Helper()
	return WritePassfile(t, Password)
}

// InitTree runs efs init on dir with Password, fast KDF parameters and any
// extra init flags; it returns the master key printed for recovery.
func InitTree(t testing.TB, dir string, extra ...string) string {
	t.Helper()
	args := append([]string{"init", "--passfile", Passfile(t), "--kdf-memory", "8", "--kdf-time", "1"}, extra...)
	r := MustEfs(t, append(args, dir)...)
	for _, line := range strings.Split(r.Stdout, "\n") {
		line = strings.TrimSpace(line)
		if len(line) == 71 && strings.Count(line, "-") == 7 {
			return line
		}
	}
	t.Fatalf("efs init printed no master key:\n%s", r.Stdout)
	return ""
}

// HaveFUSE reports whether the FUSE parts of a test that has others
// should run: FUSE is available, or required (EFS_REQUIRE_FUSE), in which
// case its mount fails rather than being left out.
func HaveFUSE() bool {
	ok, _ := testenv.FUSEAvailable()
	return ok || os.Getenv("EFS_REQUIRE_FUSE") != ""
}

// Mount runs "efs reverse" or "efs mount" (cmd) with Password on src,
// returns the mountpoint and unmounts it when the test ends. extra flags
// go before the positional arguments. Without FUSE it skips the test (see
// the package comment).
func Mount(t testing.TB, cmd, src string, extra ...string) string {
	t.Helper()
	testenv.RequireFUSE(t)
	mnt := t.TempDir()
	args := append([]string{cmd, "--passfile", Passfile(t)}, extra...)
	MustEfs(t, append(args, src, mnt)...)
	t.Cleanup(func() { Unmount(t, mnt) })
	return mnt
}

// Unmount unmounts mnt with efs unmount, retrying while it is busy, and
// falls back to a lazy unmount.
func Unmount(t testing.TB, mnt string) {
	t.Helper()
	var r Result
	for i := 0; i < 50; i++ {
		r = RunEfs(t, "unmount", mnt)
		if r.Code == 0 || !IsMounted(mnt) {
			waitUnmounted(mnt)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("unmounting %s: exit %d: %s", mnt, r.Code, r.Stderr)
	RunEfs(t, "unmount", "--lazy", mnt)
}

// waitUnmounted gives the kernel up to 5 s to drop the mount.
func waitUnmounted(mnt string) {
	for i := 0; i < 50 && IsMounted(mnt); i++ {
		time.Sleep(100 * time.Millisecond)
	}
}

// IsMounted reports whether mnt is a mount point.
func IsMounted(mnt string) bool {
	abs, _ := filepath.Abs(mnt)
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == abs {
			return true
		}
	}
	return false
}

// DaemonPID returns the process ID of the background efs serving mnt: the
// one started as "efs reverse|mount --fg ... mnt" by a mount without --fg.
func DaemonPID(t testing.TB, mnt string) int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
		if len(args) > 3 && (args[1] == "reverse" || args[1] == "mount") && args[2] == "--fg" && args[len(args)-1] == mnt {
			pids = append(pids, pid)
		}
	}
	if len(pids) != 1 {
		t.Fatalf("%d efs processes serve %s, want 1: %v", len(pids), mnt, pids)
	}
	return pids[0]
}
