//go:build linux

package forward_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/internal/refcrypt"
	"github.com/efs-project/efs/naming"
)

// TestRecoveryPadding: without its config a padded backup restores from
// the master key alone (the root record's header tells the padding), and
// --padding none reads it as damaged.
func TestRecoveryPadding(t *testing.T) {
	plain, cipher, key := newBackup(t, "--padding", "padme")
	os.Remove(filepath.Join(cipher, naming.ConfigName))
	dest := t.TempDir()
	r := e2e.MustEfs(t, "restore", "-v", "--masterkey", key, cipher, dest)
	if !strings.Contains(r.Stderr, "padding=padme") {
		t.Errorf("restore does not say the backup told its padding:\n%s", r.Stderr)
	}
	e2e.DiffTree(t, plain, dest)
	if r := e2e.RunEfs(t, "fsck", "--masterkey", key, "--padding", "none", cipher); r.Code != 9 {
		t.Errorf("recovery of a padded backup with --padding none: exit %d, want 9", r.Code)
	}
	e2e.MustEfs(t, "fsck", "--masterkey", key, "--padding", "padme", cipher)
}

// TestTamperPadding: a padded file whose padding changed, in its last
// block or in a block only padding holds, or was sealed non-zero with the
// key, fails fsck and restore (exit 9, naming the file); a changed last
// block makes the mount's read fail with EIO.
func TestTamperPadding(t *testing.T) {
	plain, pristine := t.TempDir(), t.TempDir()
	const n = 1<<20 + 1 // padded to 2^20 + 2^15: 8 blocks of padding
	data := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
	e2e.WriteFile(t, filepath.Join(plain, "big"), data)
	e2e.WriteFile(t, filepath.Join(plain, "small"), []byte("small"))
	e2e.InitTree(t, plain, "--padding", "padme")
	encryptTree(t, plain, pristine)
	crel := cipherPaths(t, plain, "big")["big"]
	cfg, err := os.ReadFile(filepath.Join(plain, config.FileName))
	if err != nil {
		t.Fatal(err)
	}
	rk, _, err := refcrypt.Unlock(cfg, []byte(e2e.Password))
	if err != nil {
		t.Fatal(err)
	}
	const cbs = 4096 + content.Overhead
	resealed := func(t *testing.T, p string) {
		stored, _ := os.ReadFile(p)
		s := make([]byte, content.PaddedSize(n))
		copy(s, data)
		binary.BigEndian.PutUint64(s[len(s)-8:], n)
		s[n+5000] = 0x01
		var b bytes.Buffer
		if err := rk.SealStream(&b, s, 4096, stored[8:24], content.FlagPadded, "big"); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, b.Bytes(), 0o600)
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, p string)
		eio    bool // the mount's read fails too (the trailer's block)
		says   string
	}{
		{"byte in the last block", func(t *testing.T, p string) { flip(t, p, -3) }, true, "authentication"},
		{"byte in a padding block", func(t *testing.T, p string) { flip(t, p, content.HeaderSize+(n/4096+2)*cbs+100) }, false, "authentication"},
		{"padding sealed non-zero", resealed, false, "padding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := t.TempDir()
			e2e.Run(t, "cp", "-a", pristine+"/.", c)
			tc.tamper(t, filepath.Join(c, crel))
			pw := e2e.Passfile(t)
			r := e2e.RunEfs(t, "fsck", "--passfile", pw, c)
			if r.Code != 9 || !strings.Contains(r.Stderr, "big") || !strings.Contains(r.Stderr, tc.says) || strings.Count(r.Stderr, "FAILED") != 1 {
				t.Errorf("fsck: exit %d, want 9 naming big and %q:\n%s", r.Code, tc.says, r.Stderr)
			}
			dest := t.TempDir()
			r = e2e.RunEfs(t, "restore", "--passfile", pw, c, dest)
			if r.Code != 9 || !strings.Contains(r.Stderr, "big") {
				t.Errorf("restore: exit %d, want 9 naming big:\n%s", r.Code, r.Stderr)
			}
			if _, err := os.Stat(filepath.Join(dest, "big")); err == nil {
				t.Error("the damaged file was restored")
			}
			if got, _ := os.ReadFile(filepath.Join(dest, "small")); string(got) != "small" {
				t.Error("the intact file was not restored")
			}
			if !tc.eio || !e2e.HaveFUSE() {
				return
			}
			mnt := e2e.Mount(t, "mount", c)
			if _, err := os.ReadFile(filepath.Join(mnt, "big")); !errors.Is(err, syscall.EIO) {
				t.Errorf("the mount's read of a file whose trailer's block fails: %v, want EIO", err)
			}
		})
	}
}
