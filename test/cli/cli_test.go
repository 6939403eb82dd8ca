//go:build linux

package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/e2e"
)

// fastKDF are the init flags that keep argon2id cheap.
var fastKDF = []string{"--kdf-memory", "8", "--kdf-time", "1"}

// recoveryLine matches the master key line efs init prints: 8 groups of 8
// hex digits joined by dashes.
var recoveryLine = regexp.MustCompile(`(?m)^\s*([0-9a-f]{8}(?:-[0-9a-f]{8}){7})\s*$`)

// expect runs efs and fails unless it exits with code.
func expect(t *testing.T, code int, args ...string) e2e.Result {
	t.Helper()
	r := e2e.RunEfs(t, args...)
	if r.Code != code {
		t.Fatalf("efs %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, code, r.Stdout, r.Stderr)
	}
	return r
}

// initDir runs a successful efs init on a fresh directory and returns it
// with the recovery key it printed.
func initDir(t *testing.T, pass string, extra ...string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	args := append(append([]string{"init", "--passfile", pass}, fastKDF...), extra...)
	r := expect(t, 0, append(args, dir)...)
	m := recoveryLine.FindAllStringSubmatch(r.Stdout, -1)
	if len(m) != 1 {
		t.Fatalf("efs init printed %d master keys:\n%s", len(m), r.Stdout)
	}
	return dir, m[0][1]
}

func TestInit(t *testing.T) {
	pass := e2e.WritePassfile(t, "first password")
	dir, key := initDir(t, pass)
	path := filepath.Join(dir, config.FileName)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, want 0600", st.Mode().Perm())
	}
	before, _ := os.ReadFile(path)

	// The printed key is the master key inside the config.
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := cfg.Unlock([]byte("first password"))
	if err != nil {
		t.Fatal(err)
	}
	if mk.Recovery() != key {
		t.Fatal("printed master key is not the one in the config")
	}
	mk.Wipe()

	// A second init refuses and leaves the config alone.
	r := expect(t, 10, append(append([]string{"init", "--passfile", pass}, fastKDF...), dir)...)
	if strings.Contains(r.Stdout, "master key") || !strings.Contains(r.Stderr, "exists") {
		t.Errorf("second init output:\nstdout: %s\nstderr: %s", r.Stdout, r.Stderr)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("second init changed the config")
	}

	// Bad options are usage errors and write nothing.
	for _, bad := range [][]string{
		{"--block-size", "5000"}, {"--block-size", "2048"}, {"--block-size", "x"},
		{"--name-encoding", "base58"}, {"--file-id", "hash"}, {"--name-max", "20"}, {"--no-such-flag"},
	} {
		empty := t.TempDir()
		args := append(append(append([]string{"init", "--passfile", pass}, fastKDF...), bad...), empty)
		expect(t, 2, args...)
		if _, err := os.Stat(filepath.Join(empty, config.FileName)); err == nil {
			t.Errorf("init %v wrote a config", bad)
		}
	}
	expect(t, 2, "init", "--passfile", pass) // no PLAINDIR
	expect(t, 6, append(append([]string{"init", "--passfile", pass}, fastKDF...), filepath.Join(dir, "missing"))...)
	expect(t, 2, append(append([]string{"init", "--passfile", e2e.WritePassfile(t, "")}, fastKDF...), t.TempDir())...)
	expect(t, 2, append(append([]string{"init"}, fastKDF...), t.TempDir())...) // no password and no terminal

	// --config writes elsewhere.
	other := filepath.Join(t.TempDir(), "my.toml")
	plain := t.TempDir()
	expect(t, 0, append(append([]string{"init", "--passfile", pass, "--config", other}, fastKDF...), plain)...)
	if _, err := os.Stat(other); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(plain, config.FileName)); err == nil {
		t.Fatal("init --config also wrote PLAINDIR/.efs.toml")
	}
}

func TestInfo(t *testing.T) {
	dir, _ := initDir(t, e2e.WritePassfile(t, "pw"), "--name-encoding", "base64", "--block-size", "8192", "--file-id", "path", "--name-max", "143")
	r := expect(t, 0, "info", dir)
	for _, want := range []string{"format version: 2", "name encoding:  base64", "name limit:     143", "block size:     8192", "file id:        path", "argon2id, 1 passes, 8 MiB"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("efs info lacks %q:\n%s", want, r.Stdout)
		}
	}
	// The config file itself, and a backup's efs.toml, work too.
	expect(t, 0, "info", filepath.Join(dir, config.FileName))
	backup := t.TempDir()
	data, _ := os.ReadFile(filepath.Join(dir, config.FileName))
	os.WriteFile(filepath.Join(backup, "efs.toml"), data, 0o600)
	if r := expect(t, 0, "info", backup); !strings.Contains(r.Stdout, "block size:     8192") {
		t.Errorf("info of a backup:\n%s", r.Stdout)
	}
	expect(t, 4, "info", t.TempDir())
	expect(t, 6, "info", filepath.Join(dir, "missing"))
	os.WriteFile(filepath.Join(backup, "efs.toml"), bytes.Replace(data, []byte("block_size = 8192"), []byte("block_size = 8193"), 1), 0o600)
	if r := expect(t, 5, "info", backup); !strings.Contains(r.Stderr, "block_size") {
		t.Errorf("corrupt config error does not name the field: %s", r.Stderr)
	}
}

func TestPasswd(t *testing.T) {
	oldPw, newPw, wrong := e2e.WritePassfile(t, "old password"), e2e.WritePassfile(t, "new password"), e2e.WritePassfile(t, "not it")
	dir, key := initDir(t, oldPw)
	path := filepath.Join(dir, config.FileName)
	before, _ := os.ReadFile(path)

	r := expect(t, 3, "passwd", "--passfile", wrong, "--new-passfile", newPw, dir)
	if !strings.Contains(r.Stderr, "wrong password") || strings.Contains(r.Stderr, "not it") {
		t.Errorf("wrong-password message: %s", r.Stderr)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("failed passwd changed the config")
	}
	expect(t, 0, "passwd", "--passfile", oldPw, "--new-passfile", newPw, dir)
	// The old password no longer works; the new one does, through passwd
	// again (back to the old password).
	expect(t, 3, "passwd", "--passfile", oldPw, "--new-passfile", newPw, dir)
	expect(t, 0, "passwd", "--passfile", newPw, "--new-passfile", oldPw, "--config", path, "unused")
	// Nothing but the wrapping changed: same settings, same master key.
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := cfg.Unlock([]byte("old password"))
	if err != nil {
		t.Fatal(err)
	}
	defer mk.Wipe()
	if mk.Recovery() != key {
		t.Fatal("passwd changed the master key")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".efs.toml.tmp*")); len(left) > 0 {
		t.Fatalf("passwd left %v", left)
	}
	expect(t, 4, "passwd", "--passfile", oldPw, "--new-passfile", newPw, t.TempDir())
	expect(t, 2, "passwd", "--passfile", oldPw, "--new-passfile", e2e.WritePassfile(t, ""), dir)
}

func TestVersionHelp(t *testing.T) {
	re := regexp.MustCompile(`^efs \S+ \(format v2\)\n$`)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if r := expect(t, 0, args...); !re.MatchString(r.Stdout) {
			t.Errorf("efs %v printed %q", args, r.Stdout)
		}
	}
	expect(t, 2, "version", "extra")
	r := expect(t, 0, "help")
	for _, cmd := range []string{"init", "reverse", "mount", "restore", "fsck", "passwd", "info", "version"} {
		if !strings.Contains(r.Stdout, "efs "+cmd) {
			t.Errorf("help does not list %s", cmd)
		}
	}
	if !strings.Contains(r.Stdout, "Exit codes:") {
		t.Fatalf("help lists no exit codes:\n%s", r.Stdout)
	}
	for code := 0; code <= 10; code++ {
		if !regexp.MustCompile(`(?m)^\s+` + strconv.Itoa(code) + `  \S`).MatchString(r.Stdout) {
			t.Errorf("help does not explain exit code %d", code)
		}
	}
	if r := expect(t, 0, "help", "init"); !strings.Contains(r.Stdout+r.Stderr, "block-size") {
		t.Errorf("efs help init does not show the flags")
	}
	if r := expect(t, 2, "frobnicate"); !strings.Contains(r.Stderr, "unknown command") {
		t.Errorf("unknown command message: %s", r.Stderr)
	}
	expect(t, 2)
}
