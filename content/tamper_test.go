package content

import (
	"bytes"
	"errors"
	"io"
	mrand "math/rand/v2"
	"testing"
)

// testKey is the content key of the tests in this package.
var testKey = bytes.Repeat([]byte{0x42}, 32)

// openAll decodes a whole ciphertext the way a restorer does: parse the
// header from the bytes, derive the file key for path, decrypt everything.
// It returns the plaintext or the first error, never both.
func openAll(key []byte, path string, ct []byte) ([]byte, error) {
	h, err := ParseHeader(ct)
	if err != nil {
		return nil, err
	}
	f, err := NewFile(key, h, path)
	if err != nil {
		return nil, err
	}
	r, err := f.Open(int64(len(ct)), bytes.NewReader(ct))
	if err != nil {
		return nil, err
	}
	dst := make([]byte, r.Size()+1)
	n, err := r.ReadAt(dst, 0)
	if err == io.EOF {
		err = r.CheckPadding()
		if err == nil {
			err = io.EOF
		} else {
			n = 0
		}
	}
	if err != io.EOF {
		if err == nil {
			err = errors.New("DecryptAt did not reach io.EOF")
		}
		if n != 0 {
			return nil, errors.New("DecryptAt returned data with an error")
		}
		return nil, err
	}
	return dst[:n], nil
}

// sealed returns a plaintext of n random bytes and its ciphertext at path.
func sealed(t testing.TB, n, bs int, path string, id byte) ([]byte, []byte) {
	t.Helper()
	plain := make([]byte, n)
	for i := range plain {
		plain[i] = byte(mrand.Uint32())
	}
	h, err := NewHeader([FileIDSize]byte{id}, bs)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFile(testKey, h, path)
	if err != nil {
		t.Fatal(err)
	}
	return plain, encryptAll(t, f, plain, 1<<20)
}

// TestPropertyRandomRanges checks EncryptAt and DecryptAt at random sizes
// up to three blocks plus one byte and random offsets and lengths, against
// whole-file encryption, for several block sizes.
func TestPropertyRandomRanges(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, bs := range []int{4096, 8192, 65536} {
		f := testFile(t, bs, "p/q")
		for iter := 0; iter < 40; iter++ {
			n := rng.IntN(3*bs + 2)
			if iter < 6 {
				n = []int{0, 1, bs - 1, bs, bs + 1, 3*bs + 1}[iter]
			}
			plain := make([]byte, n)
			for i := range plain {
				plain[i] = byte(rng.Uint32())
			}
			whole := encryptAll(t, f, plain, 1<<22)
			csize := int64(len(whole))
			for k := 0; k < 20; k++ {
				off := rng.Int64N(csize + 2)
				ln := rng.IntN(2*(bs+Overhead)) + 1
				dst := make([]byte, ln)
				got, err := f.EncryptAt(dst, off, int64(n), bytes.NewReader(plain))
				wantEnd := min(off+int64(ln), csize)
				want := []byte{}
				if off < csize {
					want = whole[off:wantEnd]
				}
				if err != nil && err != io.EOF || (err == io.EOF) != (off+int64(ln) >= csize) {
					t.Fatalf("bs %d n %d EncryptAt(off %d len %d): err %v", bs, n, off, ln, err)
				}
				if !bytes.Equal(dst[:got], want) {
					t.Fatalf("bs %d n %d EncryptAt(off %d len %d): wrong bytes", bs, n, off, ln)
				}
				poff := rng.Int64N(int64(n) + 2)
				dst = make([]byte, ln)
				got, err = f.DecryptAt(dst, poff, csize, bytes.NewReader(whole))
				if err != nil && err != io.EOF {
					t.Fatalf("bs %d n %d DecryptAt(off %d len %d): %v", bs, n, poff, ln, err)
				}
				if (err == io.EOF) != (poff+int64(ln) >= int64(n)) {
					t.Fatalf("bs %d n %d DecryptAt(off %d len %d): io.EOF is %v", bs, n, poff, ln, err == io.EOF)
				}
				wantP := plain[min(int(poff), n):min(int(poff)+ln, n)]
				if !bytes.Equal(dst[:got], wantP) {
					t.Fatalf("bs %d n %d DecryptAt(off %d len %d): wrong plaintext", bs, n, poff, ln)
				}
			}
		}
	}
}

// TestTamper checks that every kind of change to a ciphertext is an error
// of the right kind and yields no plaintext.
func TestTamper(t *testing.T) {
	const bs = 4096
	cbs := bs + Overhead
	plain, ct := sealed(t, 3*bs+100, bs, "dir/a", 1)
	if got, err := openAll(testKey, "dir/a", ct); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("untouched ciphertext: %v", err)
	}
	flip := func(i int) []byte { b := bytes.Clone(ct); b[i] ^= 0x01; return b }
	blocks := func(order ...int) []byte {
		b := bytes.Clone(ct[:HeaderSize])
		for _, i := range order {
			b = append(b, ct[HeaderSize+i*cbs:min(HeaderSize+(i+1)*cbs, len(ct))]...)
		}
		return b
	}
	cases := []struct {
		name string
		ct   []byte
		path string
		want error
	}{
		{"magic", flip(0), "dir/a", ErrHeader},
		{"version", flip(3), "dir/a", ErrHeader},
		{"flags", flip(4), "dir/a", ErrSize}, // bit 0: a padded file, whose 12388 bytes are no padded length
		{"flag bit 2", func() []byte { b := bytes.Clone(ct); b[4] ^= 4; return b }(), "dir/a", ErrHeader},
		{"block shift", flip(5), "dir/a", ErrNotAuthentic}, // 12^1 = 13: valid 8 KiB header, other key
		{"reserved", flip(6), "dir/a", ErrHeader},
		{"file ID", flip(8), "dir/a", ErrNotAuthentic},
		{"file ID last byte", flip(HeaderSize - 1), "dir/a", ErrNotAuthentic},
		{"IV of block 0", flip(HeaderSize), "dir/a", ErrNotAuthentic},
		{"IV end of block 1", flip(HeaderSize + cbs + Overhead - 1), "dir/a", ErrNotAuthentic},
		{"body of block 0", flip(HeaderSize + Overhead + 7), "dir/a", ErrNotAuthentic},
		{"last byte of a full block", flip(HeaderSize + cbs - 1), "dir/a", ErrNotAuthentic},
		{"last byte", flip(len(ct) - 1), "dir/a", ErrNotAuthentic},
		{"truncated to zero", nil, "dir/a", ErrHeader},
		{"truncated inside header", ct[:HeaderSize-1], "dir/a", ErrHeader},
		{"truncated to the header", ct[:HeaderSize], "dir/a", ErrSize},
		{"truncated inside an IV", ct[:HeaderSize+cbs+Overhead-1], "dir/a", ErrSize},
		{"truncated to an IV only", ct[:HeaderSize+cbs+Overhead], "dir/a", ErrSize},
		{"truncated at a block boundary", ct[:HeaderSize+2*cbs], "dir/a", ErrNotAuthentic},
		{"truncated inside a block", ct[:HeaderSize+2*cbs+500], "dir/a", ErrNotAuthentic},
		{"last byte cut", ct[:len(ct)-1], "dir/a", ErrNotAuthentic},
		{"blocks 0 and 1 swapped", blocks(1, 0, 2, 3), "dir/a", ErrNotAuthentic},
		{"block 1 repeated", blocks(0, 1, 1, 3), "dir/a", ErrNotAuthentic},
		{"a block appended", append(blocks(0, 1, 2), append(bytes.Clone(ct[HeaderSize+2*cbs:HeaderSize+3*cbs]), ct[HeaderSize+3*cbs:]...)...), "dir/a", ErrNotAuthentic},
		{"final block dropped", blocks(0, 1, 2), "dir/a", ErrNotAuthentic},
		{"byte appended", append(bytes.Clone(ct), 0), "dir/a", ErrNotAuthentic},
		{"other path", ct, "dir/b", ErrNotAuthentic},
		{"other parent", ct, "a", ErrNotAuthentic},
	}
	for _, c := range cases {
		got, err := openAll(testKey, c.path, c.ct)
		if !errors.Is(err, c.want) || got != nil {
			t.Errorf("%s: got %d bytes, %v; want no data and %v", c.name, len(got), err, c.want)
		}
	}
	// Another file ID (another inode) at the same path: its header makes
	// another key.
	h, _ := NewHeader([FileIDSize]byte{2}, bs)
	f, _ := NewFile(testKey, h, "dir/a")
	dst := make([]byte, len(plain))
	if n, err := f.DecryptAt(dst, 0, int64(len(ct)), bytes.NewReader(ct)); !errors.Is(err, ErrNotAuthentic) || n != 0 || !bytes.Equal(dst, make([]byte, len(dst))) {
		t.Errorf("other file ID: %d bytes, %v", n, err)
	}
	// Content moved from another file that has the same path and block
	// count: the other file's blocks do not open.
	_, other := sealed(t, 3*bs+100, bs, "dir/a", 3)
	moved := append(bytes.Clone(ct[:HeaderSize]), other[HeaderSize:]...)
	if got, err := openAll(testKey, "dir/a", moved); !errors.Is(err, ErrNotAuthentic) || got != nil {
		t.Errorf("blocks of another file: %v", err)
	}
}

// TestTamperEmptyFile covers the empty file, whose only protection against
// truncation is the empty final block.
func TestTamperEmptyFile(t *testing.T) {
	_, ct := sealed(t, 0, 4096, "e", 1)
	if len(ct) != HeaderSize+Overhead {
		t.Fatalf("empty file is %d bytes", len(ct))
	}
	if got, err := openAll(testKey, "e", ct); err != nil || len(got) != 0 {
		t.Fatalf("empty file: %v", err)
	}
	_, one := sealed(t, 1, 4096, "e", 1)
	for name, c := range map[string]struct {
		ct   []byte
		want error
	}{
		"to the header":    {ct[:HeaderSize], ErrSize},
		"cut to 1 IV byte": {append(bytes.Clone(ct[:HeaderSize]), ct[HeaderSize]), ErrSize},
		"IV altered":       {func() []byte { b := bytes.Clone(ct); b[len(b)-1] ^= 0x80; return b }(), ErrNotAuthentic},
		"1-byte file cut":  {one[:len(one)-1], ErrNotAuthentic},
		"other path":       {ct, nil},
		"1-byte file, IV0": {append(bytes.Clone(one[:HeaderSize]), one[HeaderSize:HeaderSize+Overhead]...), ErrNotAuthentic},
	} {
		path := "e"
		if name == "other path" {
			path, c.want = "f", ErrNotAuthentic
		}
		if got, err := openAll(testKey, path, c.ct); !errors.Is(err, c.want) || got != nil {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// TestSizeMapping checks the worked examples of FORMAT.md and that
// PlainSize inverts CipherSize and rejects every size in between.
func TestSizeMapping(t *testing.T) {
	for _, c := range []struct{ plain, cipher int64 }{
		{0, 40}, {1, 41}, {4095, 4135}, {4096, 4136}, {4097, 4153}, {8193, 8265},
	} {
		if got := CipherSize(c.plain, 4096); got != c.cipher {
			t.Errorf("CipherSize(%d) = %d, want %d", c.plain, got, c.cipher)
		}
	}
	for _, bs := range []int{4096, 8192, 1 << 20} {
		valid := map[int64]int64{}
		for n := int64(0); n <= int64(3*bs+2); n++ {
			valid[CipherSize(n, bs)] = n
		}
		for c := int64(-1); c <= CipherSize(int64(3*bs+2), bs); c++ {
			n, err := PlainSize(c, bs)
			want, ok := valid[c]
			if ok && (err != nil || n != want) || !ok && !errors.Is(err, ErrSize) {
				t.Fatalf("bs %d PlainSize(%d) = %d, %v; valid %v (%d)", bs, c, n, err, ok, want)
			}
		}
	}
}

// TestChangedPlaintext checks that a plaintext that shrank under EncryptAt
// gives ErrChanged and no ciphertext.
func TestChangedPlaintext(t *testing.T) {
	f := testFile(t, 4096, "x")
	plain := make([]byte, 10000)
	dst := make([]byte, 20000)
	n, err := f.EncryptAt(dst, 0, 20000, bytes.NewReader(plain))
	if !errors.Is(err, ErrChanged) || n != 0 {
		t.Fatalf("EncryptAt over a shrunk file: %d, %v", n, err)
	}
}

// TestHeaderParse checks that ParseHeader accepts exactly the headers
// NewHeader makes.
func TestHeaderParse(t *testing.T) {
	for s := 0; s < 40; s++ {
		_, err := BlockShift(1 << s)
		h, herr := NewHeader([FileIDSize]byte{9}, 1<<s)
		if (err == nil) != (s >= MinBlockShift && s <= MaxBlockShift) || (herr == nil) != (err == nil) {
			t.Fatalf("block size 1<<%d: %v", s, err)
		}
		if err == nil {
			b := h.Marshal()
			p, err := ParseHeader(b[:])
			if err != nil || p != h || p.BlockSize() != 1<<s {
				t.Fatalf("header round trip at 1<<%d: %v", s, err)
			}
		}
	}
	if _, err := BlockShift(4097); err == nil {
		t.Fatal("BlockShift accepted 4097")
	}
}
