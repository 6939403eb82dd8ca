package test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/testenv"
	"github.com/efs-project/efs/naming"
)

// fwEncryptTree writes the backup of the initialised plaintext tree plain
// into out exactly as docs/FORMAT.md describes it, using content, naming
// and config directly: efs.toml at the root, encrypted names (long ones as
// stand-in plus companion), headers and blocks, encrypted symlink targets,
// modes and timestamps passed through. It is independent of the reverse
// package, so the forward tools are checked against the format itself.
func fwEncryptTree(t testing.TB, plain, out string) {
	t.Helper()
	cfgPath := filepath.Join(plain, config.FileName)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := cfg.Unlock([]byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := mk.Derive()
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Settings
	namer, err := naming.New(keys.Name(), keys.Symlink(), naming.Options{Encoding: s.NameEncoding, NameMax: s.NameMax})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, naming.ConfigName), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var walk func(rel, cdir string)
	walk = func(rel, cdir string) {
		ents, err := os.ReadDir(filepath.Join(plain, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, de := range ents {
			if rel == "" && de.Name() == config.FileName {
				continue
			}
			prel := fwJoin(rel, de.Name())
			ppath := filepath.Join(plain, prel)
			ne := namer.Entry(rel, de.Name())
			cpath := filepath.Join(cdir, ne.Name)
			if ne.Long() {
				if err := os.WriteFile(cpath+naming.CompanionSuffix, []byte(ne.Full), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var st syscall.Stat_t
			if err := syscall.Lstat(ppath, &st); err != nil {
				t.Fatal(err)
			}
			switch st.Mode & syscall.S_IFMT {
			case syscall.S_IFDIR:
				if err := os.Mkdir(cpath, 0o700); err != nil {
					t.Fatal(err)
				}
				walk(prel, cpath)
			case syscall.S_IFREG:
				data, err := os.ReadFile(ppath)
				if err != nil {
					t.Fatal(err)
				}
				id := content.DeriveFileID(keys.FileID(), s.FileID, st.Ino, prel)
				h, err := content.NewHeader(id, s.BlockSize)
				if err != nil {
					t.Fatal(err)
				}
				f, err := content.NewFile(keys.Content(), h, prel)
				if err != nil {
					t.Fatal(err)
				}
				ct := make([]byte, content.CipherSize(int64(len(data)), s.BlockSize))
				if n, err := f.EncryptAt(ct, 0, int64(len(data)), bytes.NewReader(data)); n != len(ct) || (err != nil && err != io.EOF) {
					t.Fatalf("encrypting: %d of %d bytes, %v", n, len(ct), err)
				}
				if err := os.WriteFile(cpath, ct, 0o600); err != nil {
					t.Fatal(err)
				}
			case syscall.S_IFLNK:
				target, err := os.Readlink(ppath)
				if err != nil {
					t.Fatal(err)
				}
				enc, err := namer.EncryptTarget(prel, target)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(enc, cpath); err != nil {
					t.Fatal(err)
				}
			default:
				continue
			}
			fwCopyMeta(t, cpath, &st)
		}
	}
	walk("", out)
}

func fwJoin(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// fwCopyMeta gives path the mode (not for symlinks) and timestamps of st.
func fwCopyMeta(t testing.TB, path string, st *syscall.Stat_t) {
	t.Helper()
	if st.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		if err := syscall.Chmod(path, st.Mode&0o7777); err != nil {
			t.Fatal(err)
		}
	}
	ts := []syscall.Timespec{st.Atim, st.Mtim}
	if err := fwUtimensat(path, ts); err != nil {
		t.Fatal(err)
	}
}

// fwPlainTree fills dir with the round-trip corpus: names of every length
// from 1 to 255 bytes, non-UTF-8 names, symlinks (relative, absolute,
// dangling, to a directory), files at block edges, a few MiB, a deep
// path, and assorted modes and timestamps.
func fwPlainTree(t testing.TB, dir string) {
	t.Helper()
	r := rand.New(rand.NewPCG(4, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for n := 1; n <= 255; n++ {
		name := strings.Repeat("n", n)
		if n%3 == 0 {
			name = strings.Repeat("é", n/2) + strings.Repeat("z", n%2)
		}
		writeFile(t, filepath.Join(dir, "names", name), []byte(name))
	}
	writeFile(t, filepath.Join(dir, "bytes", "latin1-\xe9t\xe9"), []byte("not UTF-8"))
	writeFile(t, filepath.Join(dir, "bytes", "\xff\xfe\x01 \t ctl"), []byte("control bytes"))
	for _, n := range []int{0, 1, 4095, 4096, 4097, 65535, 65536, 65537, 3<<20 + 17} {
		writeFile(t, filepath.Join(dir, "sizes", "f"+strings.Repeat("0", 8-len(itoa(n)))+itoa(n)), random(n))
	}
	writeFile(t, filepath.Join(dir, "empty"), nil)
	deep := dir
	for i := 0; i < 24; i++ {
		deep = filepath.Join(deep, "level-"+itoa(i))
	}
	writeFile(t, filepath.Join(deep, "bottom"), []byte("deep"))
	for target, name := range map[string]string{
		"sizes/f00004096":    "link-rel",
		"/etc/hostname":      "link-abs",
		"does/not/exist":     "link-dangling",
		"names":              "link-dir",
		"bytes/latin1-\xe9t": "link-\xff",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "sticky", "nothing"), []byte("x"))
	writeFile(t, filepath.Join(dir, "setgid", "none"), nil)
	for p, mode := range map[string]os.FileMode{
		"sizes/f00000001": 0o600, "sizes/f00004095": 0o755, "empty": 0o444, "bytes": 0o750,
		"sticky": 0o777 | os.ModeSticky, "setgid": 0o755 | os.ModeSetgid, "sticky/nothing": 0,
	} {
		if err := os.Chmod(filepath.Join(dir, p), mode); err != nil {
			t.Fatal(err)
		}
	}
	// Distinct mtimes (with nanoseconds), set bottom-up so that
	// directories keep theirs.
	var paths []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && p != dir {
			paths = append(paths, p)
		}
		return nil
	})
	base := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := len(paths) - 1; i >= 0; i-- {
		ts := base.Add(time.Duration(i)*time.Hour + time.Duration(i*1001))
		tv := []syscall.Timespec{syscall.NsecToTimespec(ts.UnixNano()), syscall.NsecToTimespec(ts.UnixNano())}
		if err := fwUtimensat(paths[i], tv); err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// fwDiff runs diff -r on the two trees (leaving out the plaintext config)
// and fails the test on any difference.
func fwDiff(t testing.TB, want, got string) {
	t.Helper()
	out, err := exec.Command("diff", "-r", "--no-dereference", "-x", config.FileName, want, got).CombinedOutput()
	if err != nil {
		t.Fatalf("diff -r %s %s: %v\n%.3000s", want, got, err, out)
	}
}

// fwSameMeta checks that every entry below want has the same type, mode
// bits and mtime below got (the roots are skipped: init wrote into want).
func fwSameMeta(t testing.TB, want, got string) {
	t.Helper()
	bad := 0
	filepath.Walk(want, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == want || bad > 5 {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		if rel == config.FileName {
			return nil
		}
		var a, b syscall.Stat_t
		syscall.Lstat(p, &a)
		if err := syscall.Lstat(filepath.Join(got, rel), &b); err != nil {
			t.Errorf("%q: %v", rel, err)
			bad++
			return nil
		}
		if a.Mode != b.Mode || a.Mtim != b.Mtim {
			t.Errorf("%q: mode %o mtime %v, want mode %o mtime %v", rel, b.Mode, b.Mtim, a.Mode, a.Mtim)
			bad++
		}
		if a.Mode&syscall.S_IFMT == syscall.S_IFREG && a.Size != b.Size {
			t.Errorf("%q: size %d, want %d", rel, b.Size, a.Size)
			bad++
		}
		return nil
	})
}

// fwBackup creates an initialised plaintext corpus and its backup; it
// returns the plaintext dir, the backup dir and the master key.
func fwBackup(t testing.TB, initFlags ...string) (plain, cipher, masterKey string) {
	t.Helper()
	plain, cipher = t.TempDir(), t.TempDir()
	fwPlainTree(t, plain)
	masterKey = initTree(t, plain, initFlags...)
	fwEncryptTree(t, plain, cipher)
	return plain, cipher, masterKey
}

var fwVariants = []struct {
	name  string
	flags []string
}{
	{"defaults", nil},
	{"base64-143-1MiB-path", []string{"--name-encoding", "base64", "--name-max", "143", "--block-size", "1048576", "--file-id", "path"}},
	{"base32-64KiB", []string{"--block-size", "65536", "--name-max", "100"}},
}

func TestForwardRoundTrip(t *testing.T) {
	for _, v := range fwVariants {
		t.Run(v.name, func(t *testing.T) {
			plain, cipher, _ := fwBackup(t, v.flags...)
			r := mustEfs(t, "fsck", "--passfile", passfile(t), cipher)
			if !strings.Contains(r.Stderr, "intact") {
				t.Errorf("fsck of an intact backup says: %s", r.Stderr)
			}
			mnt := mount(t, "mount", cipher)
			fwDiff(t, plain, mnt)
			fwSameMeta(t, plain, mnt)
			dest := t.TempDir()
			mustEfs(t, "restore", "--passfile", passfile(t), cipher, dest)
			fwDiff(t, plain, dest)
			fwSameMeta(t, plain, dest)
		})
	}
}

func TestForwardRestorePaths(t *testing.T) {
	plain, cipher, _ := fwBackup(t)
	dest := t.TempDir()
	deep := "level-0/level-1/level-2"
	long := "names/" + strings.Repeat("n", 250)
	mustEfs(t, "restore", "--passfile", passfile(t), cipher, dest, "sizes/f00004097", deep, "link-\xff", long)
	for _, p := range []string{"sizes/f00004097", "link-\xff", long} {
		fwDiffFile(t, filepath.Join(plain, p), filepath.Join(dest, p))
	}
	fwDiff(t, filepath.Join(plain, deep), filepath.Join(dest, deep))
	if _, err := os.Lstat(filepath.Join(dest, "bytes")); err == nil {
		t.Error("restore of some paths restored others too")
	}
	// Existing files are kept unless --force.
	os.WriteFile(filepath.Join(dest, "sizes/f00004097"), []byte("mine"), 0o644)
	r := runEfs(t, "restore", "--passfile", passfile(t), cipher, dest, "sizes/f00004097")
	if r.Code != 9 || !strings.Contains(r.Stderr, "--force") {
		t.Errorf("restore over an existing file: exit %d: %s", r.Code, r.Stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "sizes/f00004097")); string(b) != "mine" {
		t.Error("restore overwrote an existing file without --force")
	}
	mustEfs(t, "restore", "--force", "--passfile", passfile(t), cipher, dest, "sizes/f00004097")
	fwDiffFile(t, filepath.Join(plain, "sizes/f00004097"), filepath.Join(dest, "sizes/f00004097"))
	// A path that is not in the backup fails.
	if r := runEfs(t, "restore", "--passfile", passfile(t), cipher, dest, "no/such/file"); r.Code != 9 {
		t.Errorf("restore of a missing path: exit %d: %s", r.Code, r.Stderr)
	}
}

// fwDiffFile compares two files or symlinks.
func fwDiffFile(t testing.TB, want, got string) {
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

func TestForwardPathMapping(t *testing.T) {
	plain, cipher, _ := fwBackup(t, "--name-max", "80")
	for _, rel := range []string{"sizes/f00000001", "names/" + strings.Repeat("n", 200), "level-0/level-1", "link-\xff"} {
		r := mustEfs(t, "encrypt-path", "--passfile", passfile(t), plain, rel)
		crel := strings.TrimSpace(r.Stdout)
		if _, err := os.Lstat(filepath.Join(cipher, crel)); err != nil {
			t.Errorf("encrypt-path %q gave a path not in the backup: %v", rel, err)
		}
		if strings.HasPrefix(rel, "names/") != strings.Contains(r.Stderr, "companion") {
			t.Errorf("encrypt-path %q: long-name note: %q", rel, r.Stderr)
		}
		r = mustEfs(t, "decrypt-path", "--passfile", passfile(t), cipher, crel)
		if got := strings.TrimSuffix(r.Stdout, "\n"); got != rel {
			t.Errorf("decrypt-path(encrypt-path(%q)) = %q", rel, got)
		}
		if strings.HasPrefix(rel, "names/") {
			r = mustEfs(t, "decrypt-path", "--passfile", passfile(t), cipher, filepath.Join(cipher, crel+naming.CompanionSuffix))
			if got := strings.TrimSuffix(r.Stdout, "\n"); got != rel || !strings.Contains(r.Stderr, "companion") {
				t.Errorf("decrypt-path of the companion of %q = %q, %q", rel, got, r.Stderr)
			}
		}
	}
}

func TestForwardConfigErrors(t *testing.T) {
	plain, cipher, key := fwBackup(t)
	pw := passfile(t)
	wrong := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(wrong, []byte("not the password\n"), 0o600)
	if r := runEfs(t, "restore", "--passfile", wrong, cipher, t.TempDir()); r.Code != 3 {
		t.Errorf("wrong password: exit %d: %s", r.Code, r.Stderr)
	}
	if r := runEfs(t, "fsck", "--passfile", pw, filepath.Join(cipher, "nope")); r.Code != 6 {
		t.Errorf("missing CIPHERDIR: exit %d: %s", r.Code, r.Stderr)
	}
	if r := runEfs(t, "restore", "--passfile", pw, cipher, filepath.Join(cipher, "nope")); r.Code != 6 {
		t.Errorf("missing DEST: exit %d: %s", r.Code, r.Stderr)
	}
	// Not a backup at all.
	other := t.TempDir()
	writeFile(t, filepath.Join(other, "holiday.jpg"), []byte("jpeg"))
	for _, cmd := range [][]string{{"fsck", other}, {"restore", other, t.TempDir()}} {
		r := runEfs(t, append([]string{cmd[0], "--passfile", pw}, cmd[1:]...)...)
		if r.Code != 4 || !strings.Contains(r.Stderr, "not an efs backup") || !strings.Contains(r.Stderr, "--masterkey") {
			t.Errorf("efs %s on a non-backup: exit %d: %s", cmd[0], r.Code, r.Stderr)
		}
	}
	// The config deleted: exit 4 and a pointer to --masterkey, then
	// recovery with the master key.
	os.Remove(filepath.Join(cipher, naming.ConfigName))
	r := runEfs(t, "restore", "--passfile", pw, cipher, t.TempDir())
	if r.Code != 4 || !strings.Contains(r.Stderr, "--masterkey") {
		t.Errorf("missing config: exit %d: %s", r.Code, r.Stderr)
	}
	if requireFUSEQuiet() {
		mnt := t.TempDir()
		if r := runEfs(t, "mount", "--passfile", pw, cipher, mnt); r.Code != 4 || !strings.Contains(r.Stderr, "--masterkey") {
			t.Errorf("mount without config: exit %d: %s", r.Code, r.Stderr)
			if r.Code == 0 {
				unmount(t, mnt)
			}
		}
	}
	dest := t.TempDir()
	mustEfs(t, "restore", "--masterkey", key, cipher, dest)
	fwDiff(t, plain, dest)
	mustEfs(t, "fsck", "--masterkey", key, cipher)
	// A corrupted config: exit 5 with the password, recovery with the key.
	os.WriteFile(filepath.Join(cipher, naming.ConfigName), []byte("version = 1\ngarbage"), 0o644)
	if r := runEfs(t, "fsck", "--passfile", pw, cipher); r.Code != 5 || !strings.Contains(r.Stderr, "--masterkey") {
		t.Errorf("corrupt config: exit %d: %s", r.Code, r.Stderr)
	}
	mustEfs(t, "fsck", "--masterkey", key, cipher)
	// Recovery through the FUSE view.
	if requireFUSEQuiet() {
		mnt := t.TempDir()
		mustEfs(t, "mount", "--masterkey", key, cipher, mnt)
		t.Cleanup(func() { unmount(t, mnt) })
		fwDiff(t, plain, mnt)
		// The background process does not show the key to ps.
		cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, c := range cmdlines {
			if b, _ := os.ReadFile(c); bytes.Contains(b, []byte(key)) {
				t.Errorf("%s holds the master key: %q", c, b)
			}
		}
	}
}

// TestForwardRecoveryOverrides recovers a backup made with non-default
// settings from the master key and the recovery flags alone.
func TestForwardRecoveryOverrides(t *testing.T) {
	plain, cipher, key := fwBackup(t, "--name-encoding", "base64", "--name-max", "143", "--block-size", "16384", "--file-id", "path")
	os.Remove(filepath.Join(cipher, naming.ConfigName))
	if r := runEfs(t, "fsck", "--masterkey", key, cipher); r.Code != 9 {
		t.Errorf("recovery with the wrong settings: exit %d, want 9", r.Code)
	}
	dest := t.TempDir()
	mustEfs(t, "restore", "--masterkey", key, "--name-encoding", "base64", "--name-max", "143", "--block-size", "16384", "--file-id", "path", cipher, dest)
	fwDiff(t, plain, dest)
}

// requireFUSEQuiet reports whether FUSE is usable, without skipping (the
// FUSE-free parts of a test still run).
func requireFUSEQuiet() bool {
	ok, _ := testenv.FUSEAvailable()
	return ok || os.Getenv("EFS_REQUIRE_FUSE") != ""
}

// fwUtimensat sets atime and mtime of path without following a symlink.
func fwUtimensat(path string, ts []syscall.Timespec) error {
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{
		{Sec: ts[0].Sec, Nsec: ts[0].Nsec}, {Sec: ts[1].Sec, Nsec: ts[1].Nsec},
	}, unix.AT_SYMLINK_NOFOLLOW)
}

// TestForwardReverseChain runs the real chain: plaintext → efs reverse →
// rsync -a → efs mount / efs restore → diff -r, modes and mtimes.
func TestForwardReverseChain(t *testing.T) {
	plain := t.TempDir()
	fwPlainTree(t, plain)
	initTree(t, plain)
	view := mount(t, "reverse", plain)
	backup := t.TempDir()
	run(t, "rsync", "-a", view+"/", backup+"/")
	// The view agrees with the format-level writer byte for byte.
	independent := t.TempDir()
	fwEncryptTree(t, plain, independent)
	out, err := exec.Command("diff", "-r", "--no-dereference", independent, backup).CombinedOutput()
	if err != nil {
		t.Errorf("efs reverse differs from the format-level writer: %v\n%.2000s", err, out)
	}
	mustEfs(t, "fsck", "--passfile", passfile(t), backup)
	mnt := mount(t, "mount", backup)
	fwDiff(t, plain, mnt)
	fwSameMeta(t, plain, mnt)
	dest := t.TempDir()
	mustEfs(t, "restore", "--passfile", passfile(t), backup, dest)
	fwDiff(t, plain, dest)
	fwSameMeta(t, plain, dest)
}

// TestForwardRcloneChain uploads the reverse view with rclone sync to a
// WebDAV server (rclone serve webdav on a random local port), downloads it
// again and restores it.
func TestForwardRcloneChain(t *testing.T) {
	if _, err := exec.LookPath("rclone"); err != nil {
		testenv.SkipOrFail(t, "rclone not installed")
	}
	plain := t.TempDir()
	fwPlainTree(t, plain)
	initTree(t, plain)
	view := mount(t, "reverse", plain)
	storage := t.TempDir()
	port := fwFreePort(t)
	srv := exec.Command("rclone", "serve", "webdav", storage, "--addr", "127.0.0.1:"+port)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	fwWaitPort(t, port)
	remote := ":webdav,url='http://127.0.0.1:" + port + "':"
	run(t, "rclone", "sync", "--links", "--transfers", "16", view, remote)
	download := t.TempDir()
	run(t, "rclone", "sync", "--links", "--transfers", "16", remote, download)
	mustEfs(t, "fsck", "--passfile", passfile(t), download)
	dest := t.TempDir()
	mustEfs(t, "restore", "--passfile", passfile(t), download, dest)
	fwDiff(t, plain, dest)
	mnt := mount(t, "mount", download)
	fwDiff(t, plain, mnt)
}

func fwFreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func fwWaitPort(t testing.TB, port string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("rclone serve webdav did not listen on port %s", port)
}

// TestForwardExportChain restores what efs export wrote: plaintext → efs
// export → efs restore / efs mount → diff -r, modes and mtimes.
func TestForwardExportChain(t *testing.T) {
	plain := t.TempDir()
	fwPlainTree(t, plain)
	initTree(t, plain, "--name-max", "143", "--block-size", "8192")
	backup := t.TempDir()
	mustEfs(t, "export", "--passfile", passfile(t), plain, backup)
	independent := t.TempDir()
	fwEncryptTree(t, plain, independent)
	if out, err := exec.Command("diff", "-r", "--no-dereference", independent, backup).CombinedOutput(); err != nil {
		t.Errorf("efs export differs from the format-level writer: %v\n%.2000s", err, out)
	}
	mustEfs(t, "fsck", "--passfile", passfile(t), backup)
	dest := t.TempDir()
	mustEfs(t, "restore", "--passfile", passfile(t), backup, dest)
	fwDiff(t, plain, dest)
	fwSameMeta(t, plain, dest)
	if requireFUSEQuiet() {
		mnt := mount(t, "mount", backup)
		fwDiff(t, plain, mnt)
		fwSameMeta(t, plain, mnt)
	}
}
