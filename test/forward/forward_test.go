//go:build linux

package forward_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/internal/refcrypt"
	"github.com/efs-project/efs/internal/testenv"
	"github.com/efs-project/efs/naming"
)

// encryptTree writes the backup of the initialised plaintext tree plain
// into out with the reference encryptor (internal/refcrypt), which follows
// docs/FORMAT.md and not efs's packages: the forward tools are checked
// against the format itself.
func encryptTree(t testing.TB, plain, out string) {
	t.Helper()
	cfg, err := os.ReadFile(filepath.Join(plain, config.FileName))
	if err != nil {
		t.Fatal(err)
	}
	keys, s, err := refcrypt.Unlock(cfg, []byte(e2e.Password))
	if err != nil {
		t.Fatal(err)
	}
	if err := refcrypt.Write(keys, s, plain, out); err != nil {
		t.Fatal(err)
	}
}

// newBackup creates an initialised plaintext corpus and its backup; it
// returns the plaintext dir, the backup dir and the master key.
func newBackup(t testing.TB, initFlags ...string) (plain, cipher, masterKey string) {
	t.Helper()
	plain, cipher = t.TempDir(), t.TempDir()
	e2e.Corpus(t, plain)
	masterKey = e2e.InitTree(t, plain, initFlags...)
	encryptTree(t, plain, cipher)
	return plain, cipher, masterKey
}

var variants = []struct {
	name  string
	flags []string
}{
	{"defaults", nil},
	{"base64-143-1MiB-path", []string{"--name-encoding", "base64", "--name-max", "143", "--block-size", "1048576", "--file-id", "path"}},
	{"base32-64KiB", []string{"--block-size", "65536", "--name-max", "100"}},
	{"hide-metadata", []string{"--hide-metadata"}},
	{"padme", []string{"--padding", "padme"}},
	{"padme-hide-metadata", []string{"--padding", "padme", "--hide-metadata"}},
}

func TestRoundTrip(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			plain, cipher, _ := newBackup(t, v.flags...)
			r := e2e.MustEfs(t, "fsck", "--passfile", e2e.Passfile(t), cipher)
			if !strings.Contains(r.Stderr, "intact") {
				t.Errorf("fsck of an intact backup says: %s", r.Stderr)
			}
			mnt := e2e.Mount(t, "mount", cipher)
			e2e.DiffTree(t, plain, mnt)
			e2e.SameMeta(t, plain, mnt)
			dest := t.TempDir()
			e2e.MustEfs(t, "restore", "--passfile", e2e.Passfile(t), cipher, dest)
			e2e.DiffTree(t, plain, dest)
			e2e.SameMeta(t, plain, dest)
		})
	}
}

func TestRestorePaths(t *testing.T) {
	plain, cipher, _ := newBackup(t)
	dest := t.TempDir()
	deep := "level-0/level-1/level-2"
	long := "names/" + strings.Repeat("n", 250)
	e2e.MustEfs(t, "restore", "--passfile", e2e.Passfile(t), cipher, dest, "sizes/f00004097", deep, "link-\xff", long)
	for _, p := range []string{"sizes/f00004097", "link-\xff", long} {
		diffFile(t, filepath.Join(plain, p), filepath.Join(dest, p))
	}
	e2e.DiffTree(t, filepath.Join(plain, deep), filepath.Join(dest, deep))
	if _, err := os.Lstat(filepath.Join(dest, "bytes")); err == nil {
		t.Error("restore of some paths restored others too")
	}
	// Existing files are kept unless --force.
	os.WriteFile(filepath.Join(dest, "sizes/f00004097"), []byte("mine"), 0o644)
	r := e2e.RunEfs(t, "restore", "--passfile", e2e.Passfile(t), cipher, dest, "sizes/f00004097")
	if r.Code != 9 || !strings.Contains(r.Stderr, "--force") {
		t.Errorf("restore over an existing file: exit %d: %s", r.Code, r.Stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "sizes/f00004097")); string(b) != "mine" {
		t.Error("restore overwrote an existing file without --force")
	}
	e2e.MustEfs(t, "restore", "--force", "--passfile", e2e.Passfile(t), cipher, dest, "sizes/f00004097")
	diffFile(t, filepath.Join(plain, "sizes/f00004097"), filepath.Join(dest, "sizes/f00004097"))
	// A path that is not in the backup fails.
	if r := e2e.RunEfs(t, "restore", "--passfile", e2e.Passfile(t), cipher, dest, "no/such/file"); r.Code != 9 {
		t.Errorf("restore of a missing path: exit %d: %s", r.Code, r.Stderr)
	}
}

// diffFile compares two files or symlinks.
func diffFile(t testing.TB, want, got string) {
	t.Helper()
	wi, err := os.Lstat(want)
	if err != nil {
		t.Fatal(err)
	}
	if wi.Mode()&os.ModeSymlink != 0 {
		a, _ := os.Readlink(want)
		b, err := os.Readlink(got)
		if err != nil || a != b {
			t.Errorf("symlink %q: %q, %v; want %q", got, b, err, a)
		}
		return
	}
	a, _ := os.ReadFile(want)
	b, err := os.ReadFile(got)
	if err != nil || !bytes.Equal(a, b) {
		t.Errorf("%q: %d bytes, %v; want %d bytes", got, len(b), err, len(a))
	}
}

func TestPathMapping(t *testing.T) {
	plain, cipher, _ := newBackup(t, "--name-max", "80")
	for _, rel := range []string{"sizes/f00000001", "names/" + strings.Repeat("n", 200), "level-0/level-1", "link-\xff"} {
		r := e2e.MustEfs(t, "encrypt-path", "--passfile", e2e.Passfile(t), plain, rel)
		crel := strings.TrimSpace(r.Stdout)
		if _, err := os.Lstat(filepath.Join(cipher, crel)); err != nil {
			t.Errorf("encrypt-path %q gave a path not in the backup: %v", rel, err)
		}
		if strings.HasPrefix(rel, "names/") != strings.Contains(r.Stderr, "companion") {
			t.Errorf("encrypt-path %q: long-name note: %q", rel, r.Stderr)
		}
		r = e2e.MustEfs(t, "decrypt-path", "--passfile", e2e.Passfile(t), cipher, crel)
		if got := strings.TrimSuffix(r.Stdout, "\n"); got != rel {
			t.Errorf("decrypt-path(encrypt-path(%q)) = %q", rel, got)
		}
		if strings.HasPrefix(rel, "names/") {
			r = e2e.MustEfs(t, "decrypt-path", "--passfile", e2e.Passfile(t), cipher, filepath.Join(cipher, crel+naming.CompanionSuffix))
			if got := strings.TrimSuffix(r.Stdout, "\n"); got != rel || !strings.Contains(r.Stderr, "companion") {
				t.Errorf("decrypt-path of the companion of %q = %q, %q", rel, got, r.Stderr)
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	plain, cipher, key := newBackup(t)
	pw := e2e.Passfile(t)
	wrong := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(wrong, []byte("not the password\n"), 0o600)
	if r := e2e.RunEfs(t, "restore", "--passfile", wrong, cipher, t.TempDir()); r.Code != 3 {
		t.Errorf("wrong password: exit %d: %s", r.Code, r.Stderr)
	}
	if r := e2e.RunEfs(t, "fsck", "--passfile", pw, filepath.Join(cipher, "nope")); r.Code != 6 {
		t.Errorf("missing CIPHERDIR: exit %d: %s", r.Code, r.Stderr)
	}
	if r := e2e.RunEfs(t, "restore", "--passfile", pw, cipher, filepath.Join(cipher, "nope")); r.Code != 6 {
		t.Errorf("missing DEST: exit %d: %s", r.Code, r.Stderr)
	}
	// Not a backup at all.
	other := t.TempDir()
	e2e.WriteFile(t, filepath.Join(other, "holiday.jpg"), []byte("jpeg"))
	for _, cmd := range [][]string{{"fsck", other}, {"restore", other, t.TempDir()}} {
		r := e2e.RunEfs(t, append([]string{cmd[0], "--passfile", pw}, cmd[1:]...)...)
		if r.Code != 4 || !strings.Contains(r.Stderr, "not an efs backup") || !strings.Contains(r.Stderr, "--masterkey") {
			t.Errorf("efs %s on a non-backup: exit %d: %s", cmd[0], r.Code, r.Stderr)
		}
	}
	// The config deleted: exit 4 and a pointer to --masterkey, then
	// recovery with the master key.
	os.Remove(filepath.Join(cipher, naming.ConfigName))
	r := e2e.RunEfs(t, "restore", "--passfile", pw, cipher, t.TempDir())
	if r.Code != 4 || !strings.Contains(r.Stderr, "--masterkey") {
		t.Errorf("missing config: exit %d: %s", r.Code, r.Stderr)
	}
	if e2e.HaveFUSE() {
		mnt := t.TempDir()
		if r := e2e.RunEfs(t, "mount", "--passfile", pw, cipher, mnt); r.Code != 4 || !strings.Contains(r.Stderr, "--masterkey") {
			t.Errorf("mount without config: exit %d: %s", r.Code, r.Stderr)
			if r.Code == 0 {
				e2e.Unmount(t, mnt)
			}
		}
	}
	dest := t.TempDir()
	e2e.MustEfs(t, "restore", "--masterkey", key, cipher, dest)
	e2e.DiffTree(t, plain, dest)
	e2e.MustEfs(t, "fsck", "--masterkey", key, cipher)
	// A corrupted config: exit 5 with the password, recovery with the key.
	os.WriteFile(filepath.Join(cipher, naming.ConfigName), []byte("version = 1\ngarbage"), 0o644)
	if r := e2e.RunEfs(t, "fsck", "--passfile", pw, cipher); r.Code != 5 || !strings.Contains(r.Stderr, "--masterkey") {
		t.Errorf("corrupt config: exit %d: %s", r.Code, r.Stderr)
	}
	e2e.MustEfs(t, "fsck", "--masterkey", key, cipher)
	// Recovery through the FUSE view.
	if e2e.HaveFUSE() {
		mnt := t.TempDir()
		e2e.MustEfs(t, "mount", "--masterkey", key, cipher, mnt)
		t.Cleanup(func() { e2e.Unmount(t, mnt) })
		e2e.DiffTree(t, plain, mnt)
		// The background process does not show the key to ps.
		cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, c := range cmdlines {
			if b, _ := os.ReadFile(c); bytes.Contains(b, []byte(key)) {
				t.Errorf("%s holds the master key: %q", c, b)
			}
		}
	}
}

// TestRecoveryOverrides recovers a backup made with non-default
// settings from the master key and the recovery flags alone.
func TestRecoveryOverrides(t *testing.T) {
	plain, cipher, key := newBackup(t, "--name-encoding", "base64", "--name-max", "143", "--block-size", "16384", "--file-id", "path")
	os.Remove(filepath.Join(cipher, naming.ConfigName))
	if r := e2e.RunEfs(t, "fsck", "--masterkey", key, cipher); r.Code != 9 {
		t.Errorf("recovery with the wrong settings: exit %d, want 9", r.Code)
	}
	dest := t.TempDir()
	e2e.MustEfs(t, "restore", "--masterkey", key, "--name-encoding", "base64", "--name-max", "143", "--block-size", "16384", "--file-id", "path", cipher, dest)
	e2e.DiffTree(t, plain, dest)
}

// TestReverseChain runs the real chain: plaintext → efs reverse →
// rsync -a → efs mount / efs restore → diff -r, modes and mtimes.
func TestReverseChain(t *testing.T) {
	plain := t.TempDir()
	e2e.Corpus(t, plain)
	e2e.InitTree(t, plain)
	view := e2e.Mount(t, "reverse", plain)
	backup := t.TempDir()
	e2e.Run(t, "rsync", "-a", view+"/", backup+"/")
	// The view agrees with the format-level writer byte for byte.
	independent := t.TempDir()
	encryptTree(t, plain, independent)
	out, err := exec.Command("diff", "-r", "--no-dereference", independent, backup).CombinedOutput()
	if err != nil {
		t.Errorf("efs reverse differs from the format-level writer: %v\n%.2000s", err, out)
	}
	e2e.MustEfs(t, "fsck", "--passfile", e2e.Passfile(t), backup)
	mnt := e2e.Mount(t, "mount", backup)
	e2e.DiffTree(t, plain, mnt)
	e2e.SameMeta(t, plain, mnt)
	dest := t.TempDir()
	e2e.MustEfs(t, "restore", "--passfile", e2e.Passfile(t), backup, dest)
	e2e.DiffTree(t, plain, dest)
	e2e.SameMeta(t, plain, dest)
}

// TestRcloneChain uploads the reverse view with rclone sync to a
// WebDAV server (rclone serve webdav on a random local port), downloads it
// again and restores it.
func TestRcloneChain(t *testing.T) {
	if _, err := exec.LookPath("rclone"); err != nil {
		testenv.SkipOrFail(t, "rclone not installed")
	}
	plain := t.TempDir()
	e2e.Corpus(t, plain)
	e2e.InitTree(t, plain)
	view := e2e.Mount(t, "reverse", plain)
	remote := e2e.WebDAV(t, t.TempDir())
	e2e.Run(t, "rclone", "sync", "--links", "--transfers", "16", view, remote)
	download := t.TempDir()
	e2e.Run(t, "rclone", "sync", "--links", "--transfers", "16", remote, download)
	e2e.MustEfs(t, "fsck", "--passfile", e2e.Passfile(t), download)
	dest := t.TempDir()
	e2e.MustEfs(t, "restore", "--passfile", e2e.Passfile(t), download, dest)
	e2e.DiffTree(t, plain, dest)
	mnt := e2e.Mount(t, "mount", download)
	e2e.DiffTree(t, plain, mnt)
}

// TestExportChain restores what efs export wrote: plaintext → efs
// export → efs restore / efs mount → diff -r, modes and mtimes.
func TestExportChain(t *testing.T) {
	plain := t.TempDir()
	e2e.Corpus(t, plain)
	e2e.InitTree(t, plain, "--name-max", "143", "--block-size", "8192")
	backup := t.TempDir()
	e2e.MustEfs(t, "export", "--passfile", e2e.Passfile(t), plain, backup)
	independent := t.TempDir()
	encryptTree(t, plain, independent)
	if out, err := exec.Command("diff", "-r", "--no-dereference", independent, backup).CombinedOutput(); err != nil {
		t.Errorf("efs export differs from the format-level writer: %v\n%.2000s", err, out)
	}
	e2e.MustEfs(t, "fsck", "--passfile", e2e.Passfile(t), backup)
	dest := t.TempDir()
	e2e.MustEfs(t, "restore", "--passfile", e2e.Passfile(t), backup, dest)
	e2e.DiffTree(t, plain, dest)
	e2e.SameMeta(t, plain, dest)
	if e2e.HaveFUSE() {
		mnt := e2e.Mount(t, "mount", backup)
		e2e.DiffTree(t, plain, mnt)
		e2e.SameMeta(t, plain, mnt)
	}
}
