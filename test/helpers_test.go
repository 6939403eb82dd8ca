// Package test holds efs's end-to-end tests: they build the real binary,
// mount real FUSE file systems, and drive rsync, rclone and diff against
// them. FUSE tests skip only when FUSE is unavailable and EFS_REQUIRE_FUSE
// is unset; CI sets it, so there a missing FUSE fails the run.
package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efs-project/efs/internal/testenv"
)

// efsBin is the efs binary built once by TestMain.
var efsBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "efs-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	efsBin = filepath.Join(dir, "efs")
	build := exec.Command("go", "build", "-o", efsBin, "../cmd/efs")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building efs:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testPassword is what every test tree is initialised with.
const testPassword = "correct horse battery staple"

// result is the outcome of one efs run.
type result struct {
	Stdout, Stderr string
	Code           int
}

// runEfs runs the efs binary with args and returns its output and exit code.
func runEfs(t testing.TB, args ...string) result {
	t.Helper()
	cmd := exec.Command(efsBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = nil
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running efs %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// mustEfs runs efs and fails the test unless it exits 0.
func mustEfs(t testing.TB, args ...string) result {
	t.Helper()
	r := runEfs(t, args...)
	if r.Code != 0 {
		t.Fatalf("efs %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// passfile writes the test password to a file and returns its path.
func passfile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// initTree runs efs init on dir with fast KDF parameters and any extra
// init flags; it returns the master key printed for recovery.
func initTree(t testing.TB, dir string, extra ...string) string {
	t.Helper()
	args := append([]string{"init", "--passfile", passfile(t), "--kdf-memory", "8", "--kdf-time", "1"}, extra...)
	r := mustEfs(t, append(args, dir)...)
	for _, line := range strings.Split(r.Stdout, "\n") {
		line = strings.TrimSpace(line)
		if len(line) == 71 && strings.Count(line, "-") == 7 {
			return line
		}
	}
	t.Fatalf("efs init printed no master key:\n%s", r.Stdout)
	return ""
}

// mount runs "efs reverse" or "efs mount" (cmd) with the test password on
// src, returns the mountpoint and unmounts it when the test ends. extra
// flags go before the positional arguments.
func mount(t testing.TB, cmd, src string, extra ...string) string {
	t.Helper()
	testenv.RequireFUSE(t)
	mnt := t.TempDir()
	args := append([]string{cmd, "--passfile", passfile(t)}, extra...)
	mustEfs(t, append(args, src, mnt)...)
	t.Cleanup(func() { unmount(t, mnt) })
	return mnt
}

// unmount unmounts mnt, retrying while it is busy.
func unmount(t testing.TB, mnt string) {
	t.Helper()
	var r result
	for i := 0; i < 50; i++ {
		r = runEfs(t, "unmount", mnt)
		if r.Code == 0 || !isMounted(mnt) {
			waitUnmounted(t, mnt)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("unmounting %s: exit %d: %s", mnt, r.Code, r.Stderr)
	runEfs(t, "unmount", "--lazy", mnt)
}

func waitUnmounted(t testing.TB, mnt string) {
	for i := 0; i < 50 && isMounted(mnt); i++ {
		time.Sleep(100 * time.Millisecond)
	}
}

// isMounted reports whether mnt is a mount point.
func isMounted(mnt string) bool {
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

// writeFile creates path (and its parents) with data.
func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs an external command and fails the test if it fails.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
