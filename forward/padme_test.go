//go:build unix

package forward

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/refcrypt"
)

// paddedSizes are the files of the padded tests: an empty one, one byte,
// padding across a block boundary, data across one, and many blocks.
var paddedSizes = map[string]int{"empty": 0, "one": 1, "pad-across": 4089, "data-across": 5000, "big": 1<<20 + 1}

func newPadded(t *testing.T) *v2 {
	s := config.Defaults()
	s.Flags |= config.FlagPadme
	return newV2(t, s, newPaddedFiles)
}

// newPaddedFiles writes the files of paddedSizes into plain.
func newPaddedFiles(t *testing.T, plain string) {
	for name, n := range paddedSizes {
		data := bytes.Repeat([]byte{byte(n), 1, 2, 3, 4, 5, 6}, n/7+1)[:n]
		if err := os.WriteFile(filepath.Join(plain, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPaddedRestore: a padded backup restores and checks to the exact
// bytes and sizes; its stat sizes are the plaintext's.
func TestPaddedRestore(t *testing.T) {
	v := newPadded(t)
	for name, n := range paddedSizes {
		st, err := os.Stat(v.cpath(name))
		if err != nil || st.Size() != content.PaddedCipherSize(int64(n), 4096) {
			t.Fatalf("%s: stored size %v, %v", name, st, err)
		}
		e, err := v.b.Lookup("", "", name)
		if err != nil || e.Stat.Size != int64(n) || e.Meta == nil || e.Meta.Size != uint64(n) {
			t.Fatalf("%s: Lookup: size %d, %v", name, e.Stat.Size, err)
		}
	}
	rep, err := Check(context.Background(), v.b, WalkOptions{})
	if err != nil || len(rep.Failures) != 0 || len(rep.OutOfSync) != 0 || rep.Files != int64(len(paddedSizes)) {
		t.Fatalf("Check: %v, %+v", err, rep)
	}
	dest := filepath.Join(t.TempDir(), "out")
	rep, err = Restore(context.Background(), v.b, dest, nil, WalkOptions{})
	if err != nil || len(rep.Failures) != 0 {
		t.Fatalf("Restore: %v, %+v", err, rep.Failures)
	}
	for name := range paddedSizes {
		want, _ := os.ReadFile(filepath.Join(v.plain, name))
		if got, err := os.ReadFile(filepath.Join(dest, name)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: restored %d bytes, want %d (%v)", name, len(got), len(want), err)
		}
	}
}

// TestPaddedTamper: a flipped ciphertext byte in the padding, a padding
// byte or a trailer sealed non-zero with the key, and a file whose header
// disagrees with the config's padding are damage, named, never data.
func TestPaddedTamper(t *testing.T) {
	v := newPadded(t)
	cfg, err := os.ReadFile(filepath.Join(v.plain, config.FileName))
	if err != nil {
		t.Fatal(err)
	}
	rk, _, err := refcrypt.Unlock(cfg, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	const name, n = "big", 1<<20 + 1 // padded to 2^20 + 2^15: 8 blocks of padding after the data
	plain, _ := os.ReadFile(filepath.Join(v.plain, name))
	stored, _ := os.ReadFile(v.cpath(name))
	id := stored[8:24]
	p := int(content.PaddedSize(n))
	stream := func(mod func(s []byte)) []byte {
		s := make([]byte, p)
		copy(s, plain)
		binary.BigEndian.PutUint64(s[p-8:], n)
		mod(s)
		var b bytes.Buffer
		if err := rk.SealStream(&b, s, 4096, id, 1, name); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	if again := stream(func([]byte) {}); !bytes.Equal(again, stored) {
		t.Fatal("the reference does not seal the stored file")
	}
	flip := func(off int) []byte { b := bytes.Clone(stored); b[off] ^= 0x20; return b }
	var unpadded bytes.Buffer
	if err := rk.SealStream(&unpadded, plain, 4096, id, 0, name); err != nil {
		t.Fatal(err)
	}
	for what, c := range map[string]struct {
		bytes []byte
		want  error
	}{
		"padding ciphertext byte flipped": {flip(len(stored) - 100), content.ErrNotAuthentic},
		"middle padding block flipped":    {flip(24 + (n/4096+1)*4112 + 50), content.ErrNotAuthentic},
		"padding byte sealed non-zero":    {stream(func(s []byte) { s[n+4096] = 1 }), content.ErrPadding},
		"trailer sealed wrong":            {stream(func(s []byte) { binary.BigEndian.PutUint64(s[p-8:], n+1<<20) }), content.ErrPadding},
		"an unpadded file":                {unpadded.Bytes(), content.ErrHeaderPadding},
	} {
		if err := os.WriteFile(v.cpath(name), c.bytes, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := Check(context.Background(), v.b, WalkOptions{})
		if err != nil || len(rep.Failures) != 1 || !errors.Is(rep.Failures[0].Err, ErrDamaged) || !errors.Is(rep.Failures[0].Err, c.want) || rep.Failures[0].Path != name {
			t.Errorf("%s: Check: %v, %+v; want one failure of %s, %v", what, err, rep.Failures, name, c.want)
		}
		dest := filepath.Join(t.TempDir(), "out")
		rep, _ = Restore(context.Background(), v.b, dest, nil, WalkOptions{})
		if len(rep.Failures) != 1 || !errors.Is(rep.Failures[0].Err, ErrDamaged) {
			t.Errorf("%s: Restore: %+v", what, rep.Failures)
		}
		if _, err := os.Stat(filepath.Join(dest, name)); err == nil {
			t.Errorf("%s: restored", what)
		}
	}
}
