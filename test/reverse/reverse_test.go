//go:build linux

package reverse_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/internal/testenv"
	"github.com/efs-project/efs/keys"
	"github.com/efs-project/efs/naming"
)

// marker is in every plaintext name, content and symlink target of the
// leak test; it must never show up in the view.
const marker = "ZQXJmarker"

// subkeys derives the subkeys from the master key efs init printed.
func subkeys(t testing.TB, masterKey string) *keys.Keys {
	t.Helper()
	mk, err := keys.ParseMasterKey(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	defer mk.Wipe()
	keys, err := mk.Derive()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(keys.Wipe)
	return keys
}

// walk returns every view path below root (relative) with its lstat.
func walk(t testing.TB, root string) map[string]*syscall.Stat_t {
	t.Helper()
	out := make(map[string]*syscall.Stat_t)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = fi.Sys().(*syscall.Stat_t)
		return nil
	})
	if err != nil {
		t.Fatalf("walking the view: %v", err)
	}
	return out
}

// leakTree fills dir with names of every length 1..255, a non-UTF-8 name,
// a deep path, hard links, symlinks and empty files, all carrying marker.
func leakTree(t testing.TB, dir string) {
	t.Helper()
	secret := []byte(strings.Repeat(marker+" secret content\n", 300))
	for n := 1; n <= 255; n++ {
		name := strings.Repeat("n", n)
		if n >= len(marker) {
			name = marker + name[len(marker):]
		}
		e2e.WriteFile(t, filepath.Join(dir, "lengths", name), secret[:n*7])
	}
	e2e.WriteFile(t, filepath.Join(dir, marker+"\xff\xfe not utf-8 \x80"), secret)
	deep := dir
	for i := 0; i < 30; i++ {
		deep = filepath.Join(deep, fmt.Sprintf("%s-level-%d", marker, i))
	}
	e2e.WriteFile(t, filepath.Join(deep, marker+"-deep.txt"), secret)
	e2e.WriteFile(t, filepath.Join(dir, marker+"-empty"), nil)
	e2e.WriteFile(t, filepath.Join(dir, marker+"-original"), secret)
	if err := os.Link(filepath.Join(dir, marker+"-original"), filepath.Join(dir, marker+"-hardlink")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(marker+"-original", filepath.Join(dir, marker+"-symlink")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/"+marker+"/absolute/target", filepath.Join(dir, marker+"-abs-symlink")); err != nil {
		t.Fatal(err)
	}
}

func TestNoPlaintextInView(t *testing.T) {
	testenv.RequireFUSE(t)
	plain := t.TempDir()
	leakTree(t, plain)
	e2e.InitTree(t, plain)
	view := e2e.Mount(t, "reverse", plain)

	// Contents: grep exits 1 when nothing matches.
	cmd := exec.Command("grep", "-r", "-a", "-l", "-i", marker, view)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("grep -r for the marker over the view: %v\n%s", err, out)
	}
	entries := walk(t, view)
	// 255 lengths + non-UTF-8 + 30 deep dirs + deep file + empty + original
	// + hard link + 2 symlinks + lengths dir + root + efs.toml, plus one
	// companion per long name and one record (efs.dir, whose bytes grep
	// searched too) per directory: root, lengths, 30 deep.
	companions, records := 0, 0
	for rel, st := range entries {
		if filepath.Base(rel) == naming.RecordName {
			records++
		}
		if strings.Contains(strings.ToLower(rel), strings.ToLower(marker)) {
			t.Errorf("view name carries the plaintext: %q", rel)
		}
		if strings.HasSuffix(rel, ".name") {
			companions++
		}
		if st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
			target, err := os.Readlink(filepath.Join(view, rel))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(strings.ToLower(target), strings.ToLower(marker)) || strings.Contains(target, "/") {
				t.Errorf("symlink target in the clear: %q", target)
			}
		}
	}
	if companions == 0 {
		t.Error("no long-name companions although names reach 255 bytes")
	}
	if records != 32 {
		t.Errorf("%d directory records, want 32", records)
	}
	if want := 255 + 1 + 30 + 1 + 1 + 1 + 1 + 2 + 1 + 1 + 1 + companions + records; len(entries) != want {
		t.Errorf("view has %d entries, want %d", len(entries), want)
	}

	// Hard links, and the other copies of the same plaintext, are separate
	// files with different ciphertext.
	same := make(map[string]bool)
	secretSize := content.CipherSize(int64(len(marker+" secret content\n")*300), 4096)
	for rel, st := range entries {
		if st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Size == secretSize {
			data, err := os.ReadFile(filepath.Join(view, rel))
			if err != nil {
				t.Fatal(err)
			}
			same[string(data)] = true
			if st.Nlink != 1 {
				t.Errorf("%s: nlink %d, want 1", rel, st.Nlink)
			}
		}
	}
	// original, hard link, non-UTF-8 name and deep file
	if len(same) != 4 {
		t.Errorf("%d distinct ciphertexts for 4 paths with equal plaintext", len(same))
	}
}

// rsync runs rsync src/ dst/ with args and returns the itemized
// lines of regular files that were transferred.
func rsync(t testing.TB, src, dst string, args ...string) (files []string) {
	t.Helper()
	out := e2e.Run(t, "rsync", append(append([]string{"-a", "--itemize-changes"}, args...), src+"/", dst+"/")...)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, ">f") {
			files = append(files, line)
		}
	}
	return files
}

func TestDeterministicAcrossRemounts(t *testing.T) {
	testenv.RequireFUSE(t)
	plain := t.TempDir()
	for i := 0; i < 20; i++ {
		data := make([]byte, i*1500)
		rand.Read(data)
		e2e.WriteFile(t, filepath.Join(plain, "d", fmt.Sprintf("file%02d", i)), data)
	}
	e2e.WriteFile(t, filepath.Join(plain, strings.Repeat("long", 60)), []byte("long name"))
	os.Symlink("d/file01", filepath.Join(plain, "sym"))
	e2e.InitTree(t, plain)
	copyDir := t.TempDir()

	view := e2e.Mount(t, "reverse", plain)
	// 20 files, the long name and its companion, efs.toml, 2 records.
	if got := rsync(t, view, copyDir); len(got) != 25 {
		t.Fatalf("first rsync copied %d files, want 25", len(got))
	}
	inodes := walk(t, view)
	e2e.Unmount(t, view)

	view2 := e2e.Mount(t, "reverse", plain)
	if got := rsync(t, view2, copyDir, "--checksum"); len(got) != 0 {
		t.Errorf("after remount, rsync --checksum transferred %v", got)
	}
	for rel, st := range walk(t, view2) {
		if old, ok := inodes[rel]; !ok || old.Ino != st.Ino || old.Mtim != st.Mtim || old.Size != st.Size {
			t.Errorf("%s: inode number, mtime or size not stable across remounts", rel)
		}
	}

	// rclone to WebDAV (slow per file in rclone's server, hence this
	// small tree; the large tree test syncs locally).
	dav := e2e.WebDAV(t, t.TempDir())
	if got := rclone(t, view2, dav); got != 25 {
		t.Errorf("rclone to webdav copied %d files, want 25", got)
	}

	// Changing one file changes only that file's ciphertext and its
	// directory's record. It grows, because rclone's WebDAV remote
	// compares sizes only; the record keeps its size (its fields have
	// fixed widths), so that remote does not take it: a size-only remote
	// needs --ignore-times or --checksum for records.
	data := make([]byte, 7*1500+1)
	rand.Read(data)
	e2e.WriteFile(t, filepath.Join(plain, "d", "file07"), data)
	time.Sleep(1100 * time.Millisecond) // the kernel's attribute cache
	if got := rsync(t, view2, copyDir, "--checksum"); len(got) != 2 {
		t.Errorf("after changing one file, rsync --checksum transferred %v, want it and its record", got)
	}
	if got := rclone(t, view2, dav); got != 1 {
		t.Errorf("after changing one file, rclone to webdav transferred %d files, want 1", got)
	}
}

func TestSparse4GiB(t *testing.T) {
	testenv.RequireFUSE(t)
	plain := t.TempDir()
	const size = 4 << 30
	e2e.Run(t, "truncate", "-s", strconv.Itoa(size), filepath.Join(plain, "sparse"))
	keys := subkeys(t, e2e.InitTree(t, plain))
	view := e2e.Mount(t, "reverse", plain)
	var vpath string
	for rel, st := range walk(t, view) {
		if st.Size > 1<<30 {
			vpath = filepath.Join(view, rel)
			if st.Size != content.CipherSize(size, 4096) {
				t.Errorf("view size %d, want %d", st.Size, content.CipherSize(size, 4096))
			}
		}
	}
	if vpath == "" {
		t.Fatal("sparse file missing from the view")
	}
	f, err := os.Open(vpath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hdr := make([]byte, content.HeaderSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		t.Fatal(err)
	}
	h, err := content.ParseHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := content.NewFile(keys.Content(), h, "sparse")
	if err != nil {
		t.Fatal(err)
	}
	csize := content.CipherSize(size, 4096)
	for _, off := range []int64{0, 4095, 1 << 31, 3<<30 + 12345, size - 100} {
		buf := make([]byte, 100)
		n, err := cf.DecryptAt(buf, off, csize, f)
		if err != nil && err != io.EOF {
			t.Fatalf("decrypting the view at %d: %v", off, err)
		}
		if n != 100 || !bytes.Equal(buf, make([]byte, 100)) {
			t.Errorf("plaintext at %d: %d bytes, not zeros", off, n)
		}
	}
}

// transferred parses rclone's "Transferred: N / M" file count.
var transferred = regexp.MustCompile(`(?m)^Transferred:\s+(\d+) / \d+, `)

func rclone(t testing.TB, src, dst string) int {
	t.Helper()
	out := e2e.Run(t, "rclone", "sync", src, dst, "-v")
	m := transferred.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

func TestLargeTreeWithSyncTools(t *testing.T) {
	testenv.RequireFUSE(t)
	if _, err := exec.LookPath("rclone"); err != nil {
		testenv.SkipOrFail(t, "rclone not installed")
	}
	plain := t.TempDir()
	const dirs, perDir = 100, 100
	var wantBytes int64
	buf := make([]byte, 5000)
	rand.Read(buf)
	for d := 0; d < dirs; d++ {
		dir := filepath.Join(plain, fmt.Sprintf("dir%03d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := 0; f < perDir; f++ {
			n := (d*perDir + f) * 37 % len(buf)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d", f)), buf[:n], 0o644); err != nil {
				t.Fatal(err)
			}
			wantBytes += content.CipherSize(int64(n), 4096)
		}
	}
	e2e.InitTree(t, plain)
	// Directory sizes pass through, and du counts them too.
	filepath.WalkDir(plain, func(p string, d fs.DirEntry, err error) error {
		if d.IsDir() {
			fi, _ := d.Info()
			wantBytes += fi.Size()
		}
		return nil
	})
	cfg, _ := os.Stat(filepath.Join(plain, config.FileName))
	wantBytes += cfg.Size()
	view := e2e.Mount(t, "reverse", plain)

	// Every directory has its record; its size is what du adds up.
	const records = dirs + 1
	top, err := os.ReadDir(view)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range append(top, nil) {
		dir := view // nil: the root's own
		if d != nil {
			if !d.IsDir() {
				continue
			}
			dir = filepath.Join(view, d.Name())
		}
		fi, err := os.Stat(filepath.Join(dir, naming.RecordName))
		if err != nil {
			t.Fatal(err)
		}
		wantBytes += fi.Size()
	}
	if got := strings.Count(e2e.Run(t, "find", view), "\n"); got != 1+dirs+dirs*perDir+1+records {
		t.Errorf("find lists %d paths, want %d", got, 1+dirs+dirs*perDir+1+records)
	}
	lsFiles := 0
	for _, line := range strings.Split(e2e.Run(t, "ls", "-lR", view), "\n") {
		if strings.HasPrefix(line, "-") {
			lsFiles++
		}
	}
	if lsFiles != dirs*perDir+1+records {
		t.Errorf("ls -lR shows %d files, want %d", lsFiles, dirs*perDir+1+records)
	}
	du := strings.Fields(e2e.Run(t, "du", "-s", "--apparent-size", "-b", view))[0]
	if du != strconv.FormatInt(wantBytes, 10) {
		t.Errorf("du --apparent-size -b = %s, size mapping says %d", du, wantBytes)
	}

	rsyncDst, rcloneDst := t.TempDir(), t.TempDir()
	if got := rsync(t, view, rsyncDst); len(got) != dirs*perDir+1+records {
		t.Errorf("rsync copied %d files, want %d", len(got), dirs*perDir+1+records)
	}
	if got := rclone(t, view, rcloneDst); got != dirs*perDir+1+records {
		t.Errorf("rclone copied %d files, want %d", got, dirs*perDir+1+records)
	}
	e2e.Run(t, "diff", "-r", view, rcloneDst)

	// One changed file: each tool transfers exactly that one and its
	// directory's record.
	f, err := os.OpenFile(filepath.Join(plain, "dir042", "f017"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("more"))
	f.Close()
	time.Sleep(1100 * time.Millisecond)
	if got := rsync(t, view, rsyncDst); len(got) != 2 {
		t.Errorf("second rsync transferred %v, want the file and its record", got)
	}
	if got := rclone(t, view, rcloneDst); got != 2 {
		t.Errorf("second rclone sync transferred %d files, want 2", got)
	}
}

func TestErrors(t *testing.T) {
	testenv.RequireFUSE(t)
	plain := t.TempDir()
	e2e.WriteFile(t, filepath.Join(plain, "f"), []byte("x"))
	pf := e2e.Passfile(t)

	if r := e2e.RunEfs(t, "reverse", "--passfile", pf, plain, t.TempDir()); r.Code != 4 || !strings.Contains(r.Stderr, "efs init") {
		t.Errorf("missing config: exit %d (%s), want 4 and a hint to run efs init", r.Code, r.Stderr)
	}
	e2e.InitTree(t, plain)
	wrong := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(wrong, []byte("not the password\n"), 0o600)
	if r := e2e.RunEfs(t, "reverse", "--passfile", wrong, plain, t.TempDir()); r.Code != 3 {
		t.Errorf("wrong password: exit %d (%s), want 3", r.Code, r.Stderr)
	}
	if r := e2e.RunEfs(t, "reverse", "--passfile", pf, filepath.Join(plain, "missing"), t.TempDir()); r.Code != 6 {
		t.Errorf("missing PLAINDIR: exit %d (%s), want 6", r.Code, r.Stderr)
	}
	full := t.TempDir()
	e2e.WriteFile(t, filepath.Join(full, "x"), nil)
	if r := e2e.RunEfs(t, "reverse", "--passfile", pf, plain, full); r.Code != 7 {
		t.Errorf("non-empty mountpoint: exit %d (%s), want 7", r.Code, r.Stderr)
	}
	mnt := e2e.Mount(t, "reverse", plain)
	if r := e2e.RunEfs(t, "reverse", "--passfile", pf, plain, mnt); r.Code != 7 {
		t.Errorf("mountpoint already mounted: exit %d (%s), want 7", r.Code, r.Stderr)
	}
}

// TestUnreadableFile runs efs as root without CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH (setpriv), so a mode-000 plaintext file is really
// unreadable to it: that file gives EACCES, a log line with its view path
// only, and the rest of the view stays readable.
func TestUnreadableFile(t *testing.T) {
	testenv.RequireFUSE(t)
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "needs root (to drop capabilities with setpriv)")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		testenv.SkipOrFail(t, "setpriv not installed")
	}
	plain := t.TempDir()
	e2e.WriteFile(t, filepath.Join(plain, "readable"), []byte("fine"))
	e2e.WriteFile(t, filepath.Join(plain, marker+"-locked"), []byte("locked"))
	os.Chmod(filepath.Join(plain, marker+"-locked"), 0)
	e2e.InitTree(t, plain)
	mnt := t.TempDir()
	logFile := filepath.Join(t.TempDir(), "log")
	cmd := exec.Command("setpriv", "--bounding-set", "-dac_override,-dac_read_search", e2e.Bin(t),
		"reverse", "--passfile", e2e.Passfile(t), "--log", logFile, plain, mnt)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("efs reverse under setpriv: %v\n%s", err, out)
	}
	t.Cleanup(func() { e2e.Unmount(t, mnt) })
	var locked, readable int
	for rel, st := range walk(t, mnt) {
		if st.Mode&syscall.S_IFMT != syscall.S_IFREG || rel == "efs.toml" || filepath.Base(rel) == naming.RecordName {
			continue
		}
		_, err := os.ReadFile(filepath.Join(mnt, rel))
		switch {
		case errors.Is(err, syscall.EACCES):
			locked++
		case err == nil:
			readable++
		default:
			t.Errorf("%s: %v", rel, err)
		}
	}
	if locked != 1 || readable != 1 {
		t.Errorf("%d files gave EACCES and %d read fine, want 1 and 1", locked, readable)
	}
	logs, _ := os.ReadFile(logFile)
	if !bytes.Contains(logs, []byte("permission denied")) {
		t.Errorf("no log line for the unreadable file:\n%s", logs)
	}
	if bytes.Contains(bytes.ToLower(logs), bytes.ToLower([]byte(marker))) {
		t.Errorf("log carries a plaintext name:\n%s", logs)
	}
}

// TestRoundTrip uploads the view with rsync, mounts the copy with
// efs mount and compares it with the plaintext.
func TestRoundTrip(t *testing.T) {
	for name, flags := range map[string][]string{"defaults": nil, "padme": {"--padding", "padme"}} {
		t.Run(name, func(t *testing.T) {
			testenv.RequireFUSE(t)
			plain := t.TempDir()
			leakTree(t, plain)
			e2e.InitTree(t, plain, flags...)
			backup := t.TempDir()
			view := e2e.Mount(t, "reverse", plain)
			e2e.Run(t, "rsync", "-a", view+"/", backup+"/")
			restored := e2e.Mount(t, "mount", backup)
			e2e.DiffTree(t, plain, restored)
			dest := t.TempDir()
			e2e.MustEfs(t, "restore", "--passfile", e2e.Passfile(t), backup, dest)
			e2e.DiffTree(t, plain, dest)
		})
	}
}

// TestReadersRaceWriter reads a view file from 8 goroutines while
// the plaintext is rewritten and truncated; reads may fail, but the mount
// must keep answering with correct data afterwards.
func TestReadersRaceWriter(t *testing.T) {
	testenv.RequireFUSE(t)
	plain := t.TempDir()
	data := make([]byte, 4<<20)
	rand.Read(data)
	e2e.WriteFile(t, filepath.Join(plain, "f"), data)
	e2e.WriteFile(t, filepath.Join(plain, "g"), []byte("other"))
	e2e.InitTree(t, plain)
	view := e2e.Mount(t, "reverse", plain)
	var vf string
	for rel, st := range walk(t, view) {
		if st.Size > 1<<20 {
			vf = filepath.Join(view, rel)
		}
	}
	first, err := os.ReadFile(vf)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	writer := make(chan struct{})
	go func() {
		defer close(writer)
		for i := 1; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			os.WriteFile(filepath.Join(plain, "f"), data[:(i*104729)%len(data)], 0o644)
		}
	}()
	readers := make(chan struct{}, 8)
	for r := 0; r < 8; r++ {
		go func() {
			for i := 0; i < 10; i++ {
				os.ReadFile(vf)
			}
			readers <- struct{}{}
		}()
	}
	for r := 0; r < 8; r++ {
		<-readers
	}
	close(done)
	<-writer
	if err := os.WriteFile(filepath.Join(plain, "f"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	again, err := os.ReadFile(vf)
	if err != nil {
		t.Fatalf("the mount does not answer after the race: %v", err)
	}
	if !bytes.Equal(again, first) {
		t.Error("same plaintext, different ciphertext after the race")
	}
}

// TestExclude checks --exclude and --exclude-from end to end: the
// excluded entries are neither listed nor reachable.
func TestExclude(t *testing.T) {
	testenv.RequireFUSE(t)
	plain := t.TempDir()
	for _, rel := range []string{"keep.txt", "drop.log", "sub/keep2.txt", "sub/drop.log", "cache/x", "important.log"} {
		e2e.WriteFile(t, filepath.Join(plain, rel), []byte(rel))
	}
	e2e.InitTree(t, plain)
	from := filepath.Join(t.TempDir(), "excludes")
	os.WriteFile(from, []byte("# comment\ncache/\n!important.log\n"), 0o644)
	view := e2e.Mount(t, "reverse", plain, "--exclude", "*.log", "--exclude-from", from)
	files := 0
	for _, st := range walk(t, view) {
		if st.Mode&syscall.S_IFMT == syscall.S_IFREG {
			files++
		}
	}
	// keep.txt, sub/keep2.txt, important.log, efs.toml, 2 records
	if files != 6 {
		t.Errorf("view shows %d files, want 6", files)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("[unclosed\n"), 0o644)
	if r := e2e.RunEfs(t, "reverse", "--passfile", e2e.Passfile(t), "--exclude-from", bad, plain, t.TempDir()); r.Code != 2 {
		t.Errorf("broken exclude pattern: exit %d (%s), want 2", r.Code, r.Stderr)
	}
}
