package content

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/efs-project/efs/internal/vectors"
)

// vectorDir holds the vectors written by `go run ./internal/vectorgen`.
const vectorDir = "../testdata/vectors"

func loadVectors(t *testing.T, kinds ...string) []*vectors.Vector {
	t.Helper()
	vs, err := vectors.Load(vectorDir, kinds...)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatalf("no %v vectors in %s", kinds, vectorDir)
	}
	return vs
}

// TestVectors recomputes the file-id, file-key and content vectors through
// this package's API (the generator computes them from the primitives).
func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t, "file-id", "file-key", "content") {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			switch v.Values["kind"] {
			case "file-id":
				checkFileIDVector(t, v)
			case "file-key":
				checkFileKeyVector(t, v)
			case "content":
				checkContentVector(t, v)
			}
		})
	}
}

func checkFileIDVector(t *testing.T, v *vectors.Vector) {
	key := v.MustHex(t, "file_id_key")
	mode := vectors.Must(ParseFileIDMode(v.MustGet(t, "mode")))(t)
	var ino uint64
	if mode == FileIDInode {
		ino = uint64(v.MustInt(t, "ino"))
	}
	want := v.MustHex(t, "file_id")
	got := DeriveFileID(key, mode, ino, v.MustGet(t, "path"))
	if !bytes.Equal(got[:], want) {
		t.Fatalf("file ID %x, vector says %x", got, want)
	}
}

func checkFileKeyVector(t *testing.T, v *vectors.Vector) {
	hdr := v.MustHex(t, "header")
	h := vectors.Must(ParseHeader(hdr))(t)
	if m := h.Marshal(); !bytes.Equal(m[:], hdr) {
		t.Fatalf("header does not marshal back: %x", m)
	}
	got := vectors.Must(deriveFileKey(v.MustHex(t, "content_key"), hdr, v.MustGet(t, "path")))(t)
	if want := v.MustHex(t, "file_key"); !bytes.Equal(got[:], want) {
		t.Fatalf("file key %x, vector says %x", got, want)
	}
}

func checkContentVector(t *testing.T, v *vectors.Vector) {
	key := v.MustHex(t, "content_key")
	path := v.MustGet(t, "path")
	bs := int(v.MustInt(t, "block_size"))
	n := v.MustInt(t, "plain_size")
	csize := v.MustInt(t, "cipher_size")
	var id [FileIDSize]byte
	copy(id[:], v.MustHex(t, "file_id"))
	plain := make([]byte, n)
	for i := range plain {
		plain[i] = byte(i % 251)
	}
	if got := CipherSize(n, bs); got != csize {
		t.Fatalf("CipherSize(%d) = %d, vector says %d", n, got, csize)
	}
	if got := vectors.Must(PlainSize(csize, bs))(t); got != n {
		t.Fatalf("PlainSize(%d) = %d, vector says %d", csize, got, n)
	}
	if got := NumBlocks(n, bs); got != v.MustInt(t, "blocks") {
		t.Fatalf("NumBlocks = %d, vector says %s", got, v.Values["blocks"])
	}
	h := vectors.Must(NewHeader(id, bs))(t)
	f := vectors.Must(NewFile(key, h, path))(t)
	if want := v.MustHex(t, "header"); !bytes.Equal(f.header[:], want) {
		t.Fatalf("header %x, vector says %x", f.header[:], want)
	}
	whole := encryptAll(t, f, plain, 1<<20)
	sum := sha256.Sum256(whole)
	if got, want := hex.EncodeToString(sum[:]), v.MustGet(t, "cipher_sha256"); got != want {
		t.Fatalf("ciphertext SHA-256 %s, vector says %s", got, want)
	}
	if v.Has("ciphertext") && !bytes.Equal(whole, v.MustHex(t, "ciphertext")) {
		t.Fatalf("ciphertext %x differs from the vector", whole)
	}
	cbs := bs + Overhead
	first := whole[HeaderSize:min(HeaderSize+cbs, len(whole))]
	if want := v.MustHex(t, "first_block"); !bytes.Equal(first, want) {
		t.Fatalf("first block %x, vector says %x", first, want)
	}
	nb := NumBlocks(n, bs)
	lastStart := HeaderSize + int(nb-1)*cbs
	if want := v.MustHex(t, "last_block"); !bytes.Equal(whole[lastStart:], want) {
		t.Fatalf("last block differs from the vector")
	}
	// sealBlock gives the same first block.
	if got := f.sealBlock(nil, plain[:min(int(n), bs)], 0, nb == 1); !bytes.Equal(got, first) {
		t.Fatalf("sealBlock(0) differs from the vector")
	}
	// And the decoder reads the plaintext back from the bytes alone.
	h2 := vectors.Must(ParseHeader(whole))(t)
	g := vectors.Must(NewFile(key, h2, path))(t)
	out := make([]byte, n+10)
	got, err := g.DecryptAt(out, 0, int64(len(whole)), bytes.NewReader(whole))
	if !errors.Is(err, io.EOF) || !bytes.Equal(out[:got], plain) {
		t.Fatalf("DecryptAt: %d bytes, %v; want the plaintext and io.EOF", got, err)
	}
}
