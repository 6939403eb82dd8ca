//go:build unix

package forward

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/refcrypt"
	"github.com/efs-project/efs/keys"
	"github.com/efs-project/efs/naming"
)

// testMasterKey is the master key of every backup these tests make.
const testMasterKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// testKeys derives keys from testMasterKey.
func testKeys(t testing.TB) *keys.Keys {
	t.Helper()
	mk, err := keys.ParseMasterKey(testMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := mk.Derive()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// encryptTree writes the ciphertext of the plaintext tree plain into out
// with the reference encryptor (internal/refcrypt), which follows
// docs/FORMAT.md and not efs's packages.
func encryptTree(t testing.TB, s config.Settings, plain, out string) {
	t.Helper()
	mk, err := hex.DecodeString(testMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := refcrypt.NewKeys(mk)
	if err != nil {
		t.Fatal(err)
	}
	rs := refcrypt.Settings{Version: s.Version, NameEncoding: s.NameEncoding.String(), NameMax: s.NameMax, BlockSize: s.BlockSize, FileID: s.FileID.String()}
	if err := refcrypt.Write(keys, rs, plain, out); err != nil {
		t.Fatal(err)
	}
}

// sampleTree writes a small tree with edge cases and returns its files.
func sampleTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	files := map[string][]byte{}
	for _, n := range []int{0, 1, 4095, 4096, 4097, 300000} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		files[filepath.Join("sizes", "f-"+itoa(n))] = b
	}
	files[strings.Repeat("L", 200)+"/deep/"+strings.Repeat("x", 255)] = []byte("long names")
	files["non-utf8-\xff\xfe"] = []byte("bytes")
	for rel, b := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("sizes/../non-utf8-\xff\xfe", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	return files
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

// v1Settings are the defaults of format v1.
func v1Settings() config.Settings {
	s := config.Defaults()
	s.Version = 1
	return s
}

// setup writes the sample tree's backup with the reference encryptor.
func setup(t *testing.T, s config.Settings) (*Backup, string, map[string][]byte) {
	t.Helper()
	plain, cipher := t.TempDir(), t.TempDir()
	files := sampleTree(t, plain)
	keys := testKeys(t)
	encryptTree(t, s, plain, cipher)
	b, err := New(cipher, keys, s)
	if err != nil {
		t.Fatal(err)
	}
	return b, cipher, files
}

func checkRestored(t *testing.T, dest string, files map[string][]byte) {
	t.Helper()
	for rel, want := range files {
		got, err := os.ReadFile(filepath.Join(dest, rel))
		if err != nil {
			t.Errorf("restored file: %v", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%q: restored %d bytes differ from the original %d", rel, len(got), len(want))
		}
	}
	if target, err := os.Readlink(filepath.Join(dest, "link")); err != nil || target != "sizes/../non-utf8-\xff\xfe" {
		t.Errorf("symlink: %q, %v", target, err)
	}
}

func TestCheckAndRestore(t *testing.T) {
	for _, s := range []config.Settings{
		config.Defaults(),
		{Version: 1, NameEncoding: naming.Base64, NameMax: 143, BlockSize: 1 << 16, FileID: content.FileIDPath},
	} {
		b, _, files := setup(t, s)
		rep, _ := Check(context.Background(), b, WalkOptions{})
		if len(rep.Failures) != 0 || rep.Files != int64(len(files)) || rep.Symlinks != 1 {
			t.Fatalf("fsck of an intact backup: %+v", rep)
		}
		dest := t.TempDir()
		if rep, err := Restore(context.Background(), b, dest, nil, WalkOptions{}); err != nil || len(rep.Failures) != 0 {
			t.Fatalf("restore: %v %v", err, rep.Failures)
		}
		checkRestored(t, dest, files)
		// A second restore finds everything in place.
		if rep, err := Restore(context.Background(), b, dest, nil, WalkOptions{}); err != nil || len(rep.Failures) != 0 || rep.Skipped != int64(len(files))+1 || rep.Files != 0 {
			t.Errorf("second restore: %+v, %v", rep, err)
		}
		// A different file under the name is left alone.
		if err := os.Remove(filepath.Join(dest, "link")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dest, "link"), []byte("mine"), 0o600); err != nil {
			t.Fatal(err)
		}
		if rep, _ := Restore(context.Background(), b, dest, []string{"link"}, WalkOptions{}); len(rep.Failures) != 1 || !errors.Is(rep.Failures[0].Err, ErrExists) {
			t.Errorf("restore over a different file: %v", rep.Failures)
		}
		if got, _ := os.ReadFile(filepath.Join(dest, "link")); string(got) != "mine" {
			t.Errorf("existing file was replaced: %q", got)
		}
	}
}

func TestRestoreOnePath(t *testing.T) {
	b, _, files := setup(t, config.Defaults())
	dest := t.TempDir()
	rel := filepath.Join("sizes", "f-4096")
	if rep, err := Restore(context.Background(), b, dest, []string{rel}, WalkOptions{}); err != nil || len(rep.Failures) != 0 || rep.Files != 1 {
		t.Fatalf("restore of one path: %+v", rep)
	}
	got, err := os.ReadFile(filepath.Join(dest, rel))
	if err != nil || !bytes.Equal(got, files[rel]) {
		t.Fatalf("restored %d bytes, %v", len(got), err)
	}
	if _, err := os.Stat(filepath.Join(dest, "link")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("restore of one path restored more: %v", err)
	}
}

func TestPaths(t *testing.T) {
	b, cipher, _ := setup(t, config.Defaults())
	for _, rel := range []string{"sizes/f-1", strings.Repeat("L", 200) + "/deep/" + strings.Repeat("x", 255), "link"} {
		crel, long := b.EncryptPath(rel)
		if _, err := os.Lstat(filepath.Join(cipher, crel)); err != nil {
			t.Fatalf("encrypted path does not exist: %v", err)
		}
		if strings.HasPrefix(rel, "L") != (len(long) > 0) {
			t.Errorf("long components %v", long)
		}
		back, comp, err := b.DecryptPath(crel)
		if err != nil || back != rel || comp {
			t.Errorf("DecryptPath(EncryptPath(%q)) = %q, %v, %v", rel, back, comp, err)
		}
	}
}

func TestTamper(t *testing.T) {
	b, cipher, _ := setup(t, config.Defaults())
	crel, _ := b.EncryptPath("sizes/f-300000")
	p := filepath.Join(cipher, crel)
	data, _ := os.ReadFile(p)
	data[content.HeaderSize+3*(4096+16)+100] ^= 1
	os.WriteFile(p, data, 0o644)
	rep, _ := Check(context.Background(), b, WalkOptions{})
	if len(rep.Failures) != 1 || rep.Failures[0].Path != "sizes/f-300000" || !errors.Is(rep.Failures[0].Err, content.ErrNotAuthentic) {
		t.Fatalf("fsck after a flipped byte: %v", rep.Failures)
	}
	if !strings.Contains(rep.Failures[0].Err.Error(), "block 3") {
		t.Errorf("problem does not name the block: %v", rep.Failures[0].Err)
	}
	dest := t.TempDir()
	rep, _ = Restore(context.Background(), b, dest, nil, WalkOptions{})
	if len(rep.Failures) != 1 {
		t.Fatalf("restore after a flipped byte: %v", rep.Failures)
	}
	if _, err := os.Stat(filepath.Join(dest, "sizes/f-300000")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("damaged file was restored: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dest, "sizes", ".efs-restore-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
