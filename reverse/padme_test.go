//go:build linux

package reverse

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
)

// padTree makes plain a padded tree: its config sets padding = padme.
func padTree(t *testing.T, plain string) {
	t.Helper()
	kdf := config.KDF{Salt: bytes.Repeat([]byte{7}, 16), Time: 1, MemoryKiB: 1024, Threads: 1}
	s := config.Defaults()
	s.Flags |= config.FlagPadme
	cfg, mk, err := config.Create([]byte("pw"), s, kdf, "test")
	if err != nil {
		t.Fatal(err)
	}
	mk.Wipe()
	if err := cfg.WriteNew(filepath.Join(plain, config.FileName)); err != nil {
		t.Fatal(err)
	}
}

// TestPaddedMatchesReference: a padded tree's export, files and records,
// is byte for byte what the reference encryptor writes from the spec.
func TestPaddedMatchesReference(t *testing.T) {
	plain := t.TempDir()
	padTree(t, plain)
	recPopulate(t, plain)
	matchesReference(t, plain)
}

// TestPaddedSizes: a padded tree's view sizes are the padded mapping's
// (stat reads no content), its files and records carry the padding flag,
// and the bytes decrypt to the plaintext.
func TestPaddedSizes(t *testing.T) {
	plain := t.TempDir()
	padTree(t, plain)
	data := bytes.Repeat([]byte("padded "), 1000) // 7000 bytes
	if err := os.WriteFile(filepath.Join(plain, "f"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tree, keys := exTree(t, plain, nil)
	items, err := tree.List(Dir{})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, it := range items {
		switch it.Kind {
		case ItemEntry:
			if it.Attr.Size != content.PaddedCipherSize(int64(len(data)), tree.BlockSize()) {
				t.Errorf("view size %d, want %d", it.Attr.Size, content.PaddedCipherSize(int64(len(data)), tree.BlockSize()))
			}
			f, err := tree.Open("f")
			if err != nil {
				t.Fatal(err)
			}
			ct := make([]byte, f.Size())
			if n, err := f.ReadAt(ct, 0); n != len(ct) {
				t.Fatalf("ReadAt: %d, %v", n, err)
			}
			f.Close()
			if int64(len(ct)) != it.Attr.Size || ct[4] != content.FlagPadded {
				t.Errorf("ciphertext of %d bytes, header flags %#x", len(ct), ct[4])
			}
			got, err := decrypt(keys, "f", ct)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("decrypt: %d bytes, %v", len(got), err)
			}
			seen++
		case ItemRecord:
			s, err := tree.SealRecord(Dir{}, &it)
			if err != nil {
				t.Fatal(err)
			}
			hb := make([]byte, content.HeaderSize)
			s.ReadAt(hb, 0)
			if hb[4] != content.FlagRecord|content.FlagPadded || s.Size() != it.Attr.Size {
				t.Errorf("record: header flags %#x, size %d, view size %d", hb[4], s.Size(), it.Attr.Size)
			}
			s.Wipe()
			seen++
		}
	}
	if seen != 2 {
		t.Fatalf("%d of the file and the record seen", seen)
	}
}
