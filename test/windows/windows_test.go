//go:build linux && amd64

// Package windows_test runs the Windows build of efs (efs.exe) under Wine:
// init, export and restore of a tree, a restore of a Linux-made backup
// whose names Windows cannot hold, and the Linux build reading the export
// efs.exe wrote. A missing Wine skips the tests on a developer's machine
// and fails them in CI, whose script installs it (.ci/run).
//
// Wine 8 (Debian 12) cannot stand in for everything: its
// CreateSymbolicLink reports success and creates nothing, so no test
// restores a symlink there.
package windows_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/internal/testenv"
	"github.com/efs-project/efs/internal/winname"
)

// exeEnv and prefixEnv hand the efs.exe and the Wine prefix TestMain
// made to the tests.
const (
	exeEnv    = "EFS_WINE_EXE"
	prefixEnv = "EFS_WINE_PREFIX"
)

// TestMain builds efs.exe and, when Wine is installed, makes the one Wine
// prefix every test runs it in (wineboot takes seconds).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "efs-wine")
	if err == nil {
		err = setup(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "efs.exe under Wine:", err)
	}
	e2e.Main(m)
	if p := os.Getenv(prefixEnv); p != "" {
		k := exec.Command("wineserver", "-k")
		k.Env = append(os.Environ(), "WINEPREFIX="+p)
		k.Run() // so that nothing holds the prefix
	}
	os.RemoveAll(dir)
}

// setup builds efs.exe into dir and, if Wine is there, makes a prefix in
// it with the bcryptprimitives.dll Go needs.
func setup(dir string) error {
	exe := filepath.Join(dir, "efs.exe")
	cmd := exec.Command("go", "build", "-o", exe, "github.com/efs-project/efs/cmd/efs")
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building efs.exe: %w", err)
	}
	os.Setenv(exeEnv, exe)
	bin, err := wineBinary()
	if err != nil {
		return nil // the tests skip, or fail in CI
	}
	prefix := filepath.Join(dir, "prefix")
	boot := exec.Command(bin, "wineboot", "--init")
	boot.Env = append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all")
	if out, err := boot.CombinedOutput(); err != nil {
		return fmt.Errorf("wineboot --init: %w\n%s", err, out)
	}
	// Go 1.24 and later need bcryptprimitives.dll, which Wine has only
	// from release 9.
	dll := filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if _, err := os.Stat(dll); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(dll, prngDLL(), 0o644); err != nil {
			return err
		}
	}
	os.Setenv(prefixEnv, prefix)
	return nil
}

// wineBinary finds Wine's launcher.
func wineBinary() (string, error) {
	bin, err := exec.LookPath("wine")
	if err != nil {
		bin, err = exec.LookPath("wine64")
	}
	return bin, err
}

// wine runs efs.exe for one test.
type wine struct {
	t      *testing.T
	bin    string // wine or wine64
	exe    string
	prefix string
}

// newWine returns the Wine of TestMain's prefix, or skips t (fails it in
// CI) when Wine is not installed.
func newWine(t *testing.T) *wine {
	t.Helper()
	bin, err := wineBinary()
	if err != nil {
		testenv.SkipOrFail(t, "Wine is not installed (apt-get install wine64)")
	}
	exe, prefix := os.Getenv(exeEnv), os.Getenv(prefixEnv)
	if exe == "" || prefix == "" {
		t.Fatal("no efs.exe or Wine prefix: TestMain failed (see above)")
	}
	return &wine{t: t, bin: bin, exe: exe, prefix: prefix}
}

func (w *wine) env() []string {
	return append(os.Environ(), "WINEPREFIX="+w.prefix, "WINEDEBUG=-all")
}

// efs runs efs.exe with args (Linux paths work: Wine's drive Z: is /) and
// returns its outcome.
func (w *wine) efs(args ...string) e2e.Result {
	w.t.Helper()
	cmd := exec.Command(w.bin, append([]string{w.exe}, args...)...)
	cmd.Env = w.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("running efs.exe %v: %v", args, err)
	}
	return e2e.Result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// mustEfs runs efs.exe and fails the test unless it exits 0.
func (w *wine) mustEfs(args ...string) e2e.Result {
	w.t.Helper()
	r := w.efs(args...)
	if r.Code != 0 {
		w.t.Fatalf("efs.exe %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// file is one file of a test tree.
type file struct {
	rel      string
	data     []byte
	readOnly bool
}

// makeTree writes files below dir, with mtimes a second apart.
func makeTree(t *testing.T, dir string, files []file) {
	t.Helper()
	base := time.Date(2024, 5, 6, 7, 8, 9, 123456700, time.UTC)
	for i, f := range files {
		p := filepath.Join(dir, f.rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if f.readOnly {
			mode = 0o444
		}
		if err := os.WriteFile(p, f.data, mode); err != nil {
			t.Fatal(err)
		}
		mt := base.Add(time.Duration(i) * time.Second)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
}

// checkTree requires every file below dir, at the name name gives it
// there, with its bytes, mtime and read-only bit.
func checkTree(t *testing.T, dir string, files []file, name func(rel string) string) {
	t.Helper()
	base := time.Date(2024, 5, 6, 7, 8, 9, 123456700, time.UTC)
	for i, f := range files {
		p := filepath.Join(dir, name(f.rel))
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v", f.rel, err)
			continue
		}
		if !bytes.Equal(got, f.data) {
			t.Errorf("%s: %d bytes differ from the %d written", f.rel, len(got), len(f.data))
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := base.Add(time.Duration(i) * time.Second); !fi.ModTime().Equal(want) {
			t.Errorf("%s: mtime %v, want %v", f.rel, fi.ModTime(), want)
		}
		if ro := fi.Mode().Perm()&0o200 == 0; ro != f.readOnly {
			t.Errorf("%s: read-only %v, want %v (mode %v)", f.rel, ro, f.readOnly, fi.Mode())
		}
		if fi.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s: mode %v, writable by others", f.rel, fi.Mode())
		}
	}
}

// mapped is the path Restore writes rel at on Windows.
func mapped(rel string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		parts[i] = winname.Encode(p)
	}
	return filepath.Join(parts...)
}

// TestWindowsRoundTrip: efs.exe inits a tree, exports it and restores the
// export; the files come back with their bytes, mtimes (to Windows' 100
// ns), read-only bits and hard links. The Linux build finds the export
// intact and restores it too, and efs.exe's reverse says it needs FUSE.
func TestWindowsRoundTrip(t *testing.T) {
	w := newWine(t)
	work := t.TempDir()
	plain, cipher, out := filepath.Join(work, "plain"), filepath.Join(work, "cipher"), filepath.Join(work, "out")
	big := bytes.Repeat([]byte("efs on windows\n"), 100_000)
	files := []file{
		{rel: "empty"},
		{rel: "a.txt", data: []byte("hello\n")},
		{rel: "big.bin", data: big},
		{rel: "sub/deeper/b.txt", data: []byte("deep\n")},
		{rel: "sub/read-only.txt", data: []byte("do not touch\n"), readOnly: true},
		{rel: "ünïcödé/日本語.txt", data: []byte("名前\n")},
		{rel: "linked.txt", data: []byte("one inode, two names\n")},
	}
	makeTree(t, plain, files)
	if err := os.Link(filepath.Join(plain, "linked.txt"), filepath.Join(plain, "sub", "link2.txt")); err != nil {
		t.Fatal(err)
	}
	pw := e2e.Passfile(t)

	w.mustEfs("init", "--passfile", pw, "--kdf-memory", "8", "--kdf-time", "1", plain)
	w.mustEfs("export", "--passfile", pw, plain, cipher)
	r := w.mustEfs("restore", "--passfile", pw, cipher, out)
	if !strings.Contains(r.Stderr, "restored 8 files, 4 directories") {
		t.Errorf("restore said:\n%s", r.Stderr)
	}
	checkTree(t, out, files, filepath.FromSlash)
	var a, b syscall.Stat_t
	syscall.Stat(filepath.Join(out, "linked.txt"), &a)
	syscall.Stat(filepath.Join(out, "sub", "link2.txt"), &b)
	if a.Ino == 0 || a.Ino != b.Ino {
		t.Errorf("the hard link was not restored: inodes %d and %d", a.Ino, b.Ino)
	}
	// Again: everything is in place.
	if r := w.mustEfs("restore", "--passfile", pw, cipher, out); !strings.Contains(r.Stderr, "8 already in place") {
		t.Errorf("second restore said:\n%s", r.Stderr)
	}
	w.mustEfs("fsck", "--passfile", pw, cipher)

	// The Linux build reads what efs.exe wrote.
	e2e.MustEfs(t, "fsck", "--passfile", pw, cipher)
	lout := filepath.Join(work, "linux-out")
	e2e.MustEfs(t, "restore", "--passfile", pw, cipher, lout)
	checkTree(t, lout, files, filepath.FromSlash)

	if r := w.efs("reverse", "--passfile", pw, plain, filepath.Join(work, "mnt")); r.Code != 8 || !strings.Contains(r.Stderr, "FUSE") {
		t.Errorf("efs.exe reverse: exit %d, want 8 naming FUSE:\n%s", r.Code, r.Stderr)
	}
}

// TestWindowsCommands: the other commands of efs.exe agree with the Linux
// build: info, encrypt-path and decrypt-path (the password from --extpass,
// run by cmd.exe), passwd, and keygen.
func TestWindowsCommands(t *testing.T) {
	w := newWine(t)
	work := t.TempDir()
	plain, cipher := filepath.Join(work, "plain"), filepath.Join(work, "cipher")
	makeTree(t, plain, []file{{rel: "dir/f.txt", data: []byte("x")}})
	e2e.InitTree(t, plain)
	pw := e2e.Passfile(t)
	e2e.MustEfs(t, "export", "--passfile", pw, plain, cipher)

	if r := w.mustEfs("info", plain); !strings.Contains(r.Stdout, "format version: 2") {
		t.Errorf("efs.exe info:\n%s", r.Stdout)
	}
	extpass := "echo " + e2e.Password
	want := e2e.MustEfs(t, "encrypt-path", "--passfile", pw, plain, "dir/f.txt").Stdout
	if got := w.mustEfs("encrypt-path", "--extpass", extpass, plain, "dir/f.txt").Stdout; got != want {
		t.Errorf("efs.exe encrypt-path = %q, the Linux build %q", got, want)
	}
	if got := w.mustEfs("decrypt-path", "--passfile", pw, cipher, strings.TrimSpace(want)).Stdout; strings.TrimSpace(got) != "dir/f.txt" {
		t.Errorf("efs.exe decrypt-path = %q", got)
	}
	if r := w.efs("encrypt-path", "--extpass", "echo wrong", plain, "dir/f.txt"); r.Code != 3 {
		t.Errorf("a wrong --extpass password: exit %d\n%s", r.Code, r.Stderr)
	}

	newPw := e2e.WritePassfile(t, "a new password for windows")
	w.mustEfs("passwd", "--passfile", pw, "--new-passfile", newPw, plain)
	e2e.MustEfs(t, "encrypt-path", "--passfile", newPw, plain, "dir/f.txt")

	keys := filepath.Join(work, "keys")
	w.mustEfs("keygen", keys)
	for _, name := range []string{"client.crt", "client.key", "client.pub"} {
		if _, err := os.Stat(filepath.Join(keys, name)); err != nil {
			t.Errorf("efs.exe keygen: %v", err)
		}
	}
}

// TestWindowsNameMapping: a backup made on Linux, with names Windows
// cannot hold, restores under efs.exe with each of them mapped as winname
// says (reversibly), listed on stderr; xattrs are counted as not
// restored, and the restore succeeds.
func TestWindowsNameMapping(t *testing.T) {
	w := newWine(t)
	work := t.TempDir()
	plain, cipher, out := filepath.Join(work, "plain"), filepath.Join(work, "cipher"), filepath.Join(work, "out")
	files := []file{
		{rel: "plain.txt", data: []byte("0")},
		{rel: "a:b", data: []byte("1")},
		{rel: "con.txt", data: []byte("2")},
		{rel: "NUL", data: []byte("3")},
		{rel: "trailing.", data: []byte("4")},
		{rel: "trailing ", data: []byte("5")},
		{rel: `what?<>|"*`, data: []byte("6")},
		{rel: "back\\slash", data: []byte("7")},
		{rel: "tab\there", data: []byte("8")},
		{rel: "a＜b", data: []byte("9")}, // already a look-alike
		{rel: "d:ir/x*y", data: []byte("10")},
	}
	makeTree(t, plain, files)
	xattr := syscall.Setxattr(filepath.Join(plain, "plain.txt"), "user.note", []byte("kept on Linux"), 0) == nil
	if !xattr {
		t.Log("no user xattrs here: their count goes unchecked")
	}
	pw := e2e.Passfile(t)
	e2e.InitTree(t, plain)
	e2e.MustEfs(t, "export", "--passfile", pw, plain, cipher)

	r := w.mustEfs("restore", "--passfile", pw, cipher, out)
	checkTree(t, out, files, mapped)
	// Every file and directory whose name Windows cannot hold is listed,
	// once, as the name it was written under.
	renamed := map[string]bool{}
	for _, f := range files {
		for rel := f.rel; rel != "."; rel = filepath.Dir(rel) {
			name := filepath.Base(rel)
			enc := winname.Encode(name)
			if enc == name {
				continue
			}
			if winname.Decode(enc) != name || !winname.Valid(enc) {
				t.Errorf("%q: mapped to %q", name, enc)
			}
			if !strings.Contains(r.Stderr, " as "+enc) {
				t.Errorf("%q, written as %q, is not listed:\n%s", rel, enc, r.Stderr)
			}
			renamed[rel] = true
		}
	}
	if want := fmt.Sprintf("%d entries written under another name", len(renamed)); !strings.Contains(r.Stderr, want) {
		t.Errorf("restore said:\n%s\nwant %q", r.Stderr, want)
	}
	if xattr && !strings.Contains(r.Stderr, "1 entry had xattrs or ACLs, not restored") {
		t.Errorf("the lost xattr is not counted:\n%s", r.Stderr)
	}
	if r := w.mustEfs("restore", "--passfile", pw, cipher, out); !strings.Contains(r.Stderr, fmt.Sprintf("%d already in place", len(files))) {
		t.Errorf("second restore said:\n%s", r.Stderr)
	}
}
