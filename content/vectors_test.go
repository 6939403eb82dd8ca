package content

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"strings"
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
// this package's API (the generator computes them from the primitives), and
// runs every content reject vector through every decoding path.
func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t, "file-id", "file-key", "content", "record") {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			if v.Values["kind"] == "record" {
				// record's TestVectors runs them whole, valid or not;
				// here only the record key and the header's flag.
				if v.Values["expect"] != "reject" {
					checkRecordKey(t, v)
				}
				return
			}
			if v.Values["expect"] == "reject" {
				checkRejectVector(t, v)
				return
			}
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
	var ver FileVersion
	if mode != FileIDPath {
		ver.Ino = uint64(v.MustInt(t, "ino"))
	}
	if mode == FileIDVersion {
		ver.MtimeSec = v.MustInt(t, "mtime_sec")
		ver.MtimeNsec = uint32(v.MustInt(t, "mtime_nsec"))
		ver.Size = v.MustInt(t, "size")
	}
	want := v.MustHex(t, "file_id")
	path := v.MustGet(t, "path")
	got := DeriveFileID(key, mode, ver, path)
	if !bytes.Equal(got[:], want) {
		t.Fatalf("file ID %x, vector says %x", got, want)
	}
	// FileIDs, twice: the second derivation reuses the keyed state.
	ids := NewFileIDs(key, mode)
	for i := range 2 {
		if got := ids.Derive(ver, path); !bytes.Equal(got[:], want) {
			t.Fatalf("FileIDs.Derive #%d: file ID %x, vector says %x", i+1, got, want)
		}
	}
}

func checkFileKeyVector(t *testing.T, v *vectors.Vector) {
	hdr := v.MustHex(t, "header")
	h := vectors.Must(ParseHeader(hdr))(t)
	if m := h.Marshal(); !bytes.Equal(m[:], hdr) {
		t.Fatalf("header does not marshal back: %x", m)
	}
	keys := NewFileKeys(v.MustHex(t, "content_key"))
	got := keys.derive(fileKeyLabel, hdr, v.MustGet(t, "path"))
	if want := v.MustHex(t, "file_key"); !bytes.Equal(got[:], want) {
		t.Fatalf("file key %x, vector says %x", got, want)
	}
}

// checkRecordKey: a record's header carries FlagRecord, its key is the
// record-key derivation (not the file key's), and the header opens only
// as a record.
func checkRecordKey(t *testing.T, v *vectors.Vector) {
	hdr := v.MustHex(t, "header")
	h := vectors.Must(ParseHeader(hdr))(t)
	flags := byte(FlagRecord)
	if vectorPadded(t, v) {
		flags |= FlagPadded
	}
	if h.Flags != flags || !bytes.Equal(h.FileID[:], v.MustHex(t, "file_id")) || h.BlockSize() != int(v.MustInt(t, "block_size")) {
		t.Fatalf("record header %+v differs from the vector", h)
	}
	if m := h.Marshal(); !bytes.Equal(m[:], hdr) {
		t.Fatalf("header does not marshal back: %x", m)
	}
	key, dir := v.MustHex(t, "content_key"), string(v.MustHex(t, "dir_path_hex"))
	got := NewFileKeys(key).derive(recordKeyLabel, hdr, dir)
	if want := v.MustHex(t, "record_key"); !bytes.Equal(got[:], want) {
		t.Fatalf("record key %x, vector says %x", got, want)
	}
	if f := vectors.Must(NewRecord(key, h, dir))(t); f.key != got {
		t.Fatal("NewRecord does not use the record key")
	}
	if _, err := NewFile(key, h, dir); err == nil {
		t.Fatal("NewFile accepted a record's header")
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
	padded := vectorPadded(t, v)
	stream := n // what is cut into blocks
	if padded {
		stream = v.MustInt(t, "padded_size")
		if got := PaddedSize(n); got != stream {
			t.Fatalf("PaddedSize(%d) = %d, vector says %d", n, got, stream)
		}
		if got := PaddedCipherSize(n, bs); got != csize {
			t.Fatalf("PaddedCipherSize(%d) = %d, vector says %d", n, got, csize)
		}
		if got := vectors.Must(PaddedPlainSizeMax(csize, bs))(t); PaddedSize(got) != stream || got < n {
			t.Fatalf("PaddedPlainSizeMax(%d) = %d, which does not pad to %d bytes or is below %d", csize, got, stream, n)
		}
	}
	if got := CipherSize(stream, bs); got != csize {
		t.Fatalf("CipherSize(%d) = %d, vector says %d", stream, got, csize)
	}
	if got := vectors.Must(PlainSize(csize, bs))(t); got != stream {
		t.Fatalf("PlainSize(%d) = %d, vector says %d", csize, got, stream)
	}
	if got := NumBlocks(stream, bs); got != v.MustInt(t, "blocks") {
		t.Fatalf("NumBlocks = %d, vector says %s", got, v.Values["blocks"])
	}
	h := vectors.Must(NewHeader(id, bs))(t)
	if padded {
		h.Flags = FlagPadded
	}
	f := vectors.Must(NewFile(key, h, path))(t)
	if got := f.CipherSize(n); got != csize {
		t.Fatalf("File.CipherSize(%d) = %d, vector says %d", n, got, csize)
	}
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
	nb := NumBlocks(stream, bs)
	lastStart := HeaderSize + int(nb-1)*cbs
	if want := v.MustHex(t, "last_block"); !bytes.Equal(whole[lastStart:], want) {
		t.Fatalf("last block differs from the vector")
	}
	// sealBlock gives the same first block.
	sp := plain
	if padded {
		sp = make([]byte, stream)
		copy(sp, plain)
		binary.BigEndian.PutUint64(sp[stream-TrailerSize:], uint64(n))
	}
	if got := f.sealBlock(nil, sp[:min(int(stream), bs)], 0, nb == 1); !bytes.Equal(got, first) {
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
	if err := h2.CheckPadded(padded); err != nil {
		t.Fatal(err)
	}
	r := vectors.Must(g.Open(int64(len(whole)), bytes.NewReader(whole)))(t)
	if r.Size() != n {
		t.Fatalf("Open: size %d, vector says %d", r.Size(), n)
	}
	if err := r.CheckPadding(); err != nil {
		t.Fatalf("CheckPadding: %v", err)
	}
}

// vectorPadded tells whether a content vector is of a padded tree (field
// padding: "padme"; "none" or no field: not padded).
func vectorPadded(t *testing.T, v *vectors.Vector) bool {
	switch p := v.Values["padding"]; p {
	case "padme":
		return true
	case "", "none":
		return false
	default:
		t.Fatalf("padding %q is neither padme nor none", p)
	}
	return false
}

// rejectErrors is the error each content rule of FORMAT.md's "What a
// decoder MUST reject" table must produce.
var rejectErrors = map[string]error{
	"header":         ErrHeader,
	"header-padding": ErrHeaderPadding,
	"size":           ErrSize,
	"block-auth":     ErrNotAuthentic,
	"padding":        ErrPadding,
}

// checkRejectVector runs the ciphertext of a reject vector through every
// decoder: the size mapping, the header parser, whole-file and per-block
// ranged reads, and OpenBlock. Each must fail for the vector's rule and for
// no earlier one, so a vector cannot pass by failing for another reason.
func checkRejectVector(t *testing.T, v *vectors.Vector) {
	rule := v.MustGet(t, "rule")
	want, ok := rejectErrors[rule]
	if !ok {
		t.Fatalf("unknown content rule %q", rule)
	}
	key := v.MustHex(t, "content_key")
	path := v.MustGet(t, "path")
	bs := int(v.MustInt(t, "block_size"))
	ct := v.Body
	if ct == nil {
		t.Fatal("reject vector without a body")
	}

	padded := vectorPadded(t, v)
	plainSize, sizeErr := PlainSize(int64(len(ct)), bs)
	h, hdrErr := ParseHeader(ct)
	if sizeErr == nil && hdrErr == nil && h.Flags&FlagPadded != 0 {
		sizeErr = paddedStream(plainSize) // the padded size mapping
	}
	if rule != "header-padding" && rule != "header" && hdrErr == nil {
		if err := h.CheckPadded(padded); err != nil {
			t.Fatalf("CheckPadded: %v; only a header-padding vector may fail it", err)
		}
	}
	switch rule {
	case "size":
		if !errors.Is(sizeErr, ErrSize) {
			t.Fatalf("PlainSize(%d) = %d, %v; want ErrSize", len(ct), plainSize, sizeErr)
		}
		if hdrErr != nil {
			if len(ct) >= HeaderSize {
				t.Fatalf("ParseHeader: %v; a size vector must have a valid header", hdrErr)
			}
			return // nothing to read with
		}
	case "header":
		if hdrErr == nil {
			// A record's header parses; it is no file's.
			if h.Flags == 0 {
				t.Fatal("ParseHeader accepts a file's header")
			}
			_, hdrErr = NewFile(key, h, path)
		}
		if !errors.Is(hdrErr, ErrHeader) {
			t.Fatalf("ParseHeader or NewFile: %v, want ErrHeader", hdrErr)
		}
		if sizeErr != nil {
			t.Fatalf("PlainSize: %v; a header vector must have a valid size", sizeErr)
		}
		return // no key can be derived without a header
	case "header-padding":
		if sizeErr != nil || hdrErr != nil {
			t.Fatalf("PlainSize: %v, ParseHeader: %v; a header-padding vector must have a valid size and header", sizeErr, hdrErr)
		}
		if err := h.CheckPadded(padded); !errors.Is(err, ErrHeaderPadding) {
			t.Fatalf("CheckPadded(%v): %v, want ErrHeaderPadding", padded, err)
		}
		// The file itself is whole: it opens as its header says.
		if _, err := openAll(key, path, ct); err != nil {
			t.Fatalf("the file of a header-padding vector does not open: %v", err)
		}
		return
	case "block-auth", "padding":
		if sizeErr != nil || hdrErr != nil {
			t.Fatalf("PlainSize: %v, ParseHeader: %v; a %s vector must fail after the size and header", sizeErr, hdrErr, rule)
		}
	}
	f := vectors.Must(NewFile(key, h, path))(t)
	if rule == "padding" {
		// Every block authenticates; the padding does not check.
		nb := NumBlocks(plainSize, bs)
		cbs := int64(bs + Overhead)
		for i := int64(0); i < nb; i++ {
			start := HeaderSize + i*cbs
			if _, err := f.OpenBlock(nil, ct[start:min(start+cbs, int64(len(ct)))], i, i == nb-1); err != nil {
				t.Fatalf("block %d: %v; every block of a padding vector authenticates", i, err)
			}
		}
		if _, err := openAll(key, path, ct); !errors.Is(err, ErrPadding) {
			t.Fatalf("opening the whole file: %v, want ErrPadding", err)
		}
		return
	}

	// The whole file in one read.
	dst := make([]byte, plainSize+1)
	if n, err := f.DecryptAt(dst, 0, int64(len(ct)), bytes.NewReader(ct)); !errors.Is(err, want) || n != 0 {
		t.Fatalf("DecryptAt(whole file) = %d bytes, %v; want no bytes and %v", n, err, want)
	}
	if !bytes.Equal(dst, make([]byte, len(dst))) {
		t.Fatal("DecryptAt left plaintext in the buffer after failing")
	}
	if rule == "size" {
		for _, off := range []int64{0, 1, int64(bs)} {
			if _, err := f.DecryptAt(make([]byte, 10), off, int64(len(ct)), bytes.NewReader(ct)); !errors.Is(err, ErrSize) {
				t.Fatalf("DecryptAt(off %d): %v, want ErrSize", off, err)
			}
		}
		return
	}

	// Block by block, through both a ranged read and OpenBlock: exactly
	// the blocks the vector names fail.
	bad := map[int64]bool{}
	for _, s := range strings.Split(v.MustGet(t, "bad_blocks"), ",") {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("bad_blocks: %v", err)
		}
		bad[i] = true
	}
	nb := NumBlocks(plainSize, bs)
	cbs := int64(bs + Overhead)
	for i := int64(0); i < nb; i++ {
		lo := i * int64(bs)
		n := min(int64(bs), plainSize-lo)
		got, err := f.DecryptAt(make([]byte, max(n, 1)), lo, int64(len(ct)), bytes.NewReader(ct))
		if err == io.EOF {
			err = nil
		}
		start := HeaderSize + i*cbs
		block := ct[start:min(start+cbs, int64(len(ct)))]
		_, oerr := f.OpenBlock(nil, block, i, i == nb-1)
		if bad[i] {
			if !errors.Is(err, ErrNotAuthentic) || got != 0 || !errors.Is(oerr, ErrNotAuthentic) {
				t.Errorf("block %d: DecryptAt %d bytes, %v; OpenBlock %v; want ErrNotAuthentic", i, got, err, oerr)
			}
		} else if err != nil || int64(got) != n || oerr != nil {
			t.Errorf("block %d, not damaged: DecryptAt %d bytes, %v; OpenBlock %v", i, got, err, oerr)
		}
		delete(bad, i)
	}
	if len(bad) > 0 {
		t.Fatalf("bad_blocks names blocks the file does not have: %v", bad)
	}
}
