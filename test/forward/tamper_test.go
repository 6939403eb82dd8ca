//go:build linux

package forward_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/naming"
)

// longName is a name long enough to need the long-name scheme.
var longName = strings.Repeat("L", 200) + ".txt"

// tamperTree writes the small tree every tamper case starts from.
func tamperTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	r := rand.New(rand.NewPCG(9, 9))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	files := map[string][]byte{
		"alpha.txt":       random(3*4096 + 100),
		"bravo.txt":       random(3*4096 + 100),
		"dir/charlie.txt": random(5000),
		"empty.txt":       nil,
		longName:          []byte("long name"),
		"keep.txt":        random(9000),
	}
	for rel, b := range files {
		e2e.WriteFile(t, filepath.Join(dir, rel), b)
	}
	if err := os.Symlink("keep.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	return files
}

// cipherPaths maps plaintext paths to ciphertext paths with efs
// encrypt-path.
func cipherPaths(t testing.TB, plain string, rels ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, rel := range rels {
		r := e2e.MustEfs(t, "encrypt-path", "--passfile", e2e.Passfile(t), plain, rel)
		m[rel] = strings.TrimSpace(r.Stdout)
	}
	return m
}

func flip(t testing.TB, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTamper(t *testing.T) {
	plain, pristine := t.TempDir(), t.TempDir()
	files := tamperTree(t, plain)
	e2e.InitTree(t, plain)
	encryptTree(t, plain, pristine)
	cp := cipherPaths(t, plain, "alpha.txt", "bravo.txt", "dir/charlie.txt", "dir", "empty.txt", longName, "link")
	const cbs = 4096 + content.Overhead

	cases := []struct {
		name    string
		tamper  func(t *testing.T, c string) // c is the backup copy
		victims []string                     // plaintext paths that must fail
		mention func(c string) string        // what fsck must name
		byName  bool                         // the victim's name fails: ENOENT in the mount
	}{
		{name: "byte in a block", tamper: func(t *testing.T, c string) {
			flip(t, filepath.Join(c, cp["alpha.txt"]), content.HeaderSize+cbs+7)
		}, victims: []string{"alpha.txt"}},
		{name: "byte in the header", tamper: func(t *testing.T, c string) {
			flip(t, filepath.Join(c, cp["alpha.txt"]), 12)
		}, victims: []string{"alpha.txt"}},
		{name: "byte in the last block's IV", tamper: func(t *testing.T, c string) {
			flip(t, filepath.Join(c, cp["alpha.txt"]), -(100 + content.Overhead))
		}, victims: []string{"alpha.txt"}},
		{name: "byte in a name", tamper: func(t *testing.T, c string) {
			old := cp["alpha.txt"]
			repl := "a"
			if old[0] == 'a' {
				repl = "b"
			}
			if err := os.Rename(filepath.Join(c, old), filepath.Join(c, repl+old[1:])); err != nil {
				t.Fatal(err)
			}
		}, victims: []string{"alpha.txt"}, byName: true, mention: func(string) string {
			if cp["alpha.txt"][0] == 'a' {
				return "b" + cp["alpha.txt"][1:]
			}
			return "a" + cp["alpha.txt"][1:]
		}},
		{name: "truncated inside a block", tamper: func(t *testing.T, c string) {
			truncate(t, filepath.Join(c, cp["alpha.txt"]), content.HeaderSize+2*cbs+50)
		}, victims: []string{"alpha.txt"}},
		{name: "truncated at a block boundary", tamper: func(t *testing.T, c string) {
			truncate(t, filepath.Join(c, cp["alpha.txt"]), content.HeaderSize+2*cbs)
		}, victims: []string{"alpha.txt"}},
		{name: "truncated to zero", tamper: func(t *testing.T, c string) {
			truncate(t, filepath.Join(c, cp["alpha.txt"]), 0)
		}, victims: []string{"alpha.txt"}},
		{name: "empty file cut to its header", tamper: func(t *testing.T, c string) {
			truncate(t, filepath.Join(c, cp["empty.txt"]), content.HeaderSize)
		}, victims: []string{"empty.txt"}},
		{name: "extended by a block", tamper: func(t *testing.T, c string) {
			p := filepath.Join(c, cp["alpha.txt"])
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, b[content.HeaderSize:content.HeaderSize+cbs]...), 0o600)
		}, victims: []string{"alpha.txt"}},
		{name: "two blocks swapped", tamper: func(t *testing.T, c string) {
			p := filepath.Join(c, cp["alpha.txt"])
			b, _ := os.ReadFile(p)
			b0 := bytes.Clone(b[content.HeaderSize : content.HeaderSize+cbs])
			copy(b[content.HeaderSize:], b[content.HeaderSize+cbs:content.HeaderSize+2*cbs])
			copy(b[content.HeaderSize+cbs:], b0)
			os.WriteFile(p, b, 0o600)
		}, victims: []string{"alpha.txt"}},
		{name: "contents of two files swapped", tamper: func(t *testing.T, c string) {
			a, b := filepath.Join(c, cp["alpha.txt"]), filepath.Join(c, cp["bravo.txt"])
			tmp := filepath.Join(c, "tmp")
			os.Rename(a, tmp)
			os.Rename(b, a)
			os.Rename(tmp, b)
		}, victims: []string{"alpha.txt", "bravo.txt"}},
		{name: "file moved to another directory", tamper: func(t *testing.T, c string) {
			name := filepath.Base(cp["dir/charlie.txt"])
			if err := os.Rename(filepath.Join(c, cp["dir/charlie.txt"]), filepath.Join(c, name)); err != nil {
				t.Fatal(err)
			}
		}, victims: []string{"dir/charlie.txt"}, byName: true, mention: func(string) string {
			return filepath.Base(cp["dir/charlie.txt"])
		}},
		{name: "long-name companion deleted", tamper: func(t *testing.T, c string) {
			if err := os.Remove(filepath.Join(c, cp[longName]+naming.CompanionSuffix)); err != nil {
				t.Fatal(err)
			}
		}, victims: []string{longName}, mention: func(string) string { return cp[longName] }},
		{name: "long-name companion altered", tamper: func(t *testing.T, c string) {
			flip(t, filepath.Join(c, cp[longName]+naming.CompanionSuffix), 3)
		}, victims: []string{longName}, mention: func(string) string { return cp[longName] }},
		{name: "symlink target altered", tamper: func(t *testing.T, c string) {
			p := filepath.Join(c, cp["link"])
			old, _ := os.Readlink(p)
			os.Remove(p)
			os.Symlink(old[:len(old)-2]+"AA", p)
		}, victims: []string{"link"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := t.TempDir()
			e2e.Run(t, "cp", "-a", pristine+"/.", c)
			tc.tamper(t, c)
			mention := tc.victims[0]
			if tc.mention != nil {
				mention = tc.mention(c)
			}
			pw := e2e.Passfile(t)

			r := e2e.RunEfs(t, "fsck", "--passfile", pw, c)
			if r.Code != 9 || !strings.Contains(r.Stderr, mention) {
				t.Errorf("fsck: exit %d, want 9 naming %q:\n%s", r.Code, mention, r.Stderr)
			}
			if n := strings.Count(r.Stderr, "FAILED"); n != len(tc.victims) {
				t.Errorf("fsck reported %d failures, want %d:\n%s", n, len(tc.victims), r.Stderr)
			}

			dest := t.TempDir()
			r = e2e.RunEfs(t, "restore", "--passfile", pw, c, dest)
			if r.Code != 9 || !strings.Contains(r.Stderr, mention) {
				t.Errorf("restore: exit %d, want 9 naming %q:\n%s", r.Code, mention, r.Stderr)
			}
			checkPartialRestore(t, dest, files, tc.victims)

			if !e2e.HaveFUSE() {
				return
			}
			logFile := filepath.Join(t.TempDir(), "log")
			mnt := e2e.Mount(t, "mount", c, "--log", logFile)
			for _, v := range tc.victims {
				var err error
				if v == "link" {
					_, err = os.Readlink(filepath.Join(mnt, v))
				} else {
					_, err = os.ReadFile(filepath.Join(mnt, v))
				}
				want := syscall.EIO
				if tc.byName {
					want = syscall.ENOENT
				}
				if !errors.Is(err, want) {
					t.Errorf("reading %q in the mount: %v, want %v", v, err, want)
				}
			}
			if got, err := os.ReadFile(filepath.Join(mnt, "keep.txt")); err != nil || !bytes.Equal(got, files["keep.txt"]) {
				t.Errorf("intact file after a failure: %d bytes, %v", len(got), err)
			}
			if !e2e.IsMounted(mnt) {
				t.Fatal("the mount went away after a failure")
			}
			checkLog(t, logFile, tc.byName, filepath.Base(cp[tc.victims[0]]))
		})
	}

	t.Run("corrupted config", func(t *testing.T) {
		c := t.TempDir()
		e2e.Run(t, "cp", "-a", pristine+"/.", c)
		flip(t, filepath.Join(c, naming.ConfigName), -20)
		pw := e2e.Passfile(t)
		for _, args := range [][]string{{"fsck", c}, {"restore", c, t.TempDir()}} {
			r := e2e.RunEfs(t, append([]string{args[0], "--passfile", pw}, args[1:]...)...)
			if r.Code != 5 {
				t.Errorf("efs %s with a corrupted config: exit %d, want 5:\n%s", args[0], r.Code, r.Stderr)
			}
		}
		if e2e.HaveFUSE() {
			mnt := t.TempDir()
			if r := e2e.RunEfs(t, "mount", "--passfile", pw, c, mnt); r.Code != 5 {
				t.Errorf("mount with a corrupted config: exit %d, want 5: %s", r.Code, r.Stderr)
				if r.Code == 0 {
					e2e.Unmount(t, mnt)
				}
			}
		}
	})
}

func truncate(t testing.TB, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// checkPartialRestore checks that the victims were not created, every
// other file was restored intact, and no temporary file was left behind.
func checkPartialRestore(t *testing.T, dest string, files map[string][]byte, victims []string) {
	t.Helper()
	for _, v := range victims {
		if _, err := os.Lstat(filepath.Join(dest, v)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("restore created the damaged %q (%v)", v, err)
		}
	}
	var restored []string
	filepath.Walk(dest, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dest, p)
			restored = append(restored, rel)
			if strings.HasPrefix(info.Name(), ".efs-restore") {
				t.Errorf("temporary file left behind: %q", rel)
			}
		}
		return nil
	})
	want := len(files) + 1 - len(victims) // + the symlink
	if len(restored) != want {
		t.Errorf("restored %d entries, want %d: %q", len(restored), want, restored)
	}
	for rel, b := range files {
		if isVictim(rel, victims) {
			continue
		}
		if got, err := os.ReadFile(filepath.Join(dest, rel)); err != nil || !bytes.Equal(got, b) {
			t.Errorf("intact %q: %d bytes, %v", rel, len(got), err)
		}
	}
}

func isVictim(rel string, victims []string) bool {
	for _, v := range victims {
		if v == rel {
			return true
		}
	}
	return false
}

// checkLog checks the mount's log: damage is logged with the ciphertext
// name (unless only a name failed lookup, which is indistinguishable from a missing file), and no
// plaintext name ever appears in it.
func checkLog(t *testing.T, logFile string, byName bool, cipherName string) {
	t.Helper()
	data, _ := os.ReadFile(logFile)
	log := string(data)
	if !byName && (!strings.Contains(log, "level=ERROR") || !strings.Contains(log, cipherName)) {
		t.Errorf("the mount logged no error naming %s for the damage:\n%s", cipherName, log)
	}
	for _, plain := range []string{"alpha", "bravo", "charlie", "empty.txt", "keep", "LLLL"} {
		if strings.Contains(log, plain) {
			t.Errorf("the log names plaintext %q:\n%s", plain, log)
		}
	}
}
