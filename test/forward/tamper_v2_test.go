//go:build linux

package forward_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/naming"
)

// Exit codes of fsck and restore (cmd/efs/exit.go).
const (
	exitDamaged   = 9
	exitOutOfSync = 11
)

// TestTamperV2 is the tamper matrix of format v2: what the directory
// records catch beyond v1. Each case says the exit code fsck and restore
// must give (damage 9, out of sync 11, or 0 when the records make the
// storage's change harmless), a name the report must carry, and what the
// mount shows for the victim.
func TestTamperV2(t *testing.T) {
	plain, pristine := t.TempDir(), t.TempDir()
	files := tamperTree(t, plain)
	e2e.WriteFile(t, filepath.Join(plain, "dir", "old.txt"), []byte("deleted later"))
	e2e.InitTree(t, plain)
	encryptTree(t, plain, pristine)
	cp := cipherPaths(t, plain, "alpha.txt", "bravo.txt", "keep.txt", "dir", "dir/old.txt", "link")
	// An older upload, from before old.txt was deleted, for the replay.
	old, err := os.ReadFile(filepath.Join(pristine, cp["dir/old.txt"]))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(plain, "dir", "old.txt")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(pristine)
	os.Mkdir(pristine, 0o700)
	encryptTree(t, plain, pristine)
	var keepMode uint32
	{
		var st syscall.Stat_t
		syscall.Lstat(filepath.Join(plain, "keep.txt"), &st)
		keepMode = st.Mode
	}

	cases := []struct {
		name    string
		tamper  func(t *testing.T, c string)
		code    int
		mention string // a plaintext or ciphertext name the report carries
		gone    string // a plaintext path the restore and the mount must not have
	}{
		{name: "storage chmod 4755 and chown", tamper: func(t *testing.T, c string) {
			p := filepath.Join(c, cp["keep.txt"])
			os.Chmod(p, 0o4755)
			os.Chown(p, 4321, 4321)
		}, code: 0},
		{name: "file replaced by an empty directory", tamper: func(t *testing.T, c string) {
			p := filepath.Join(c, cp["alpha.txt"])
			os.Remove(p)
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, code: exitOutOfSync, mention: "alpha.txt", gone: "alpha.txt"},
		{name: "entry deleted", tamper: func(t *testing.T, c string) {
			os.Remove(filepath.Join(c, cp["bravo.txt"]))
		}, code: exitOutOfSync, mention: "bravo.txt", gone: "bravo.txt"},
		{name: "deleted entry replayed", tamper: func(t *testing.T, c string) {
			if err := os.WriteFile(filepath.Join(c, cp["dir/old.txt"]), old, 0o644); err != nil {
				t.Fatal(err)
			}
		}, code: exitOutOfSync, mention: "old.txt"},
		{name: "root record deleted", tamper: func(t *testing.T, c string) {
			os.Remove(filepath.Join(c, naming.RecordName))
		}, code: exitDamaged, mention: naming.RecordName},
		{name: "record flipped", tamper: func(t *testing.T, c string) {
			flip(t, filepath.Join(c, cp["dir"], naming.RecordName), -3)
		}, code: exitDamaged, mention: naming.RecordName},
		{name: "record moved from another directory", tamper: func(t *testing.T, c string) {
			b, _ := os.ReadFile(filepath.Join(c, naming.RecordName))
			os.WriteFile(filepath.Join(c, cp["dir"], naming.RecordName), b, 0o644)
		}, code: exitDamaged, mention: naming.RecordName},
		{name: "litter in the root and a subdirectory", tamper: func(t *testing.T, c string) {
			for _, n := range []string{".stfolder", ".DS_Store", "desktop.ini", "Thumbs.db", "x (conflicted copy).txt", "a.rclonelink"} {
				e2e.WriteFile(t, filepath.Join(c, n), []byte("litter"))
				e2e.WriteFile(t, filepath.Join(c, cp["dir"], n), []byte("litter"))
			}
		}, code: 0, mention: ".stfolder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := t.TempDir()
			e2e.Run(t, "cp", "-a", pristine+"/.", c)
			tc.tamper(t, c)
			pw := e2e.Passfile(t)
			r := e2e.RunEfs(t, "fsck", "--passfile", pw, c)
			if r.Code != tc.code || !strings.Contains(r.Stdout+r.Stderr, tc.mention) {
				t.Errorf("fsck: exit %d, want %d naming %q:\n%s%s", r.Code, tc.code, tc.mention, r.Stdout, r.Stderr)
			}
			dest := filepath.Join(t.TempDir(), "dest")
			r = e2e.RunEfs(t, "restore", "--passfile", pw, c, dest)
			if r.Code != tc.code || !strings.Contains(r.Stdout+r.Stderr, tc.mention) {
				t.Errorf("restore: exit %d, want %d naming %q:\n%s%s", r.Code, tc.code, tc.mention, r.Stdout, r.Stderr)
			}
			var st syscall.Stat_t
			if err := syscall.Lstat(filepath.Join(dest, "keep.txt"), &st); err != nil || st.Mode != keepMode {
				t.Errorf("restored keep.txt: mode %o, %v; want mode %o", st.Mode, err, keepMode)
			}
			if tc.gone != "" {
				if _, err := os.Lstat(filepath.Join(dest, tc.gone)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("restore created %s (%v)", tc.gone, err)
				}
			}
			if got, err := os.ReadFile(filepath.Join(dest, "dir", "charlie.txt")); err != nil || string(got) != string(files["dir/charlie.txt"]) {
				t.Errorf("intact dir/charlie.txt: %d bytes, %v", len(got), err)
			}
			if !e2e.HaveFUSE() {
				return
			}
			mnt := e2e.Mount(t, "mount", c, "--log", filepath.Join(t.TempDir(), "log"))
			if err := syscall.Lstat(filepath.Join(mnt, "keep.txt"), &st); err != nil || st.Mode != keepMode {
				t.Errorf("keep.txt in the mount: mode %o, %v; want mode %o", st.Mode, err, keepMode)
			}
			if tc.gone != "" {
				if _, err := os.ReadFile(filepath.Join(mnt, tc.gone)); err == nil {
					t.Errorf("the mount serves %s", tc.gone)
				}
			}
		})
	}

	t.Run("double spelling", func(t *testing.T) {
		plain, c := t.TempDir(), t.TempDir()
		name := strings.Repeat("d", 80) // 154 base32 characters: a stand-in under name_max 100
		e2e.WriteFile(t, filepath.Join(plain, name), []byte("two spellings"))
		e2e.InitTree(t, plain, "--name-max", "100")
		encryptTree(t, plain, c)
		stand := filepath.Base(cipherPaths(t, plain, name)[name])
		full, err := os.ReadFile(filepath.Join(c, stand+naming.CompanionSuffix))
		if err != nil {
			t.Fatal(err)
		}
		e2e.Run(t, "cp", "-a", filepath.Join(c, stand), filepath.Join(c, string(full)))
		r := e2e.RunEfs(t, "fsck", "--passfile", e2e.Passfile(t), c)
		if r.Code != exitDamaged || !strings.Contains(r.Stderr, string(full)) {
			t.Errorf("fsck: exit %d, want %d naming the second spelling:\n%s", r.Code, exitDamaged, r.Stderr)
		}
	})
}
