package content

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

// The fuzz targets use the keys of the test vectors, so the seed corpora
// written by internal/vectorgen (testdata/fuzz/) hold valid ciphertexts.
const fuzzPath = "docs/report.pdf"

var fuzzKey, _ = hex.DecodeString("96a1defe6e03cf1d86f73afdeb1be8f7f33e25d7e81d1af266c51b2d0fbae923")

// FuzzParseHeader checks that every accepted header marshals back to the
// same 24 bytes and that anything else is ErrHeader.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte("EFS\x01\x00\x0c\x00\x00\xd3\xd7\xba\xfe\x28\xc4\x13\xfe\xc4\x4b\x90\x22\x80\xaa\xfb\xbd"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			if !errors.Is(err, ErrHeader) {
				t.Fatalf("error %v is not ErrHeader", err)
			}
			return
		}
		m := h.Marshal()
		if !bytes.Equal(m[:], b[:HeaderSize]) {
			t.Fatalf("parse→marshal gives %x, input %x", m, b[:HeaderSize])
		}
		if _, err := BlockShift(h.BlockSize()); err != nil {
			t.Fatalf("accepted block size %d: %v", h.BlockSize(), err)
		}
	})
}

// FuzzSize checks that PlainSize inverts CipherSize and accepts only
// sizes CipherSize produces.
func FuzzSize(f *testing.F) {
	f.Add(int64(0), int64(40), uint8(0))
	f.Add(int64(4097), int64(4153), uint8(0))
	f.Add(int64(1<<20), int64(4136*2-1), uint8(8))
	f.Fuzz(func(t *testing.T, n, c int64, shift uint8) {
		bs := 1 << (MinBlockShift + int(shift)%(MaxBlockShift-MinBlockShift+1))
		n &= 1<<52 - 1 // far beyond any file, far from overflow
		cs := CipherSize(n, bs)
		if p, err := PlainSize(cs, bs); err != nil || p != n {
			t.Fatalf("bs %d: PlainSize(CipherSize(%d) = %d) = %d, %v", bs, n, cs, p, err)
		}
		c &= 1<<53 - 1
		p, err := PlainSize(c, bs)
		if err != nil {
			if !errors.Is(err, ErrSize) {
				t.Fatalf("PlainSize(%d): %v is not ErrSize", c, err)
			}
			return
		}
		if p < 0 || CipherSize(p, bs) != c {
			t.Fatalf("bs %d: PlainSize(%d) = %d but CipherSize(%d) = %d", bs, c, p, p, CipherSize(p, bs))
		}
	})
}

// FuzzOpen feeds arbitrary bytes to the decoder as a whole ciphertext of
// fuzzPath. It must never panic; whatever opens must be a canonical
// ciphertext (re-encrypting gives the same bytes) and ranged reads must
// agree with block-by-block opening.
func FuzzOpen(f *testing.F) {
	f.Fuzz(func(t *testing.T, ct []byte, off int64, ln uint16) {
		plain, err := openAll(fuzzKey, fuzzPath, ct)
		if err != nil {
			if plain != nil {
				t.Fatal("data returned with an error")
			}
			if !errors.Is(err, ErrHeader) && !errors.Is(err, ErrSize) && !errors.Is(err, ErrNotAuthentic) && !errors.Is(err, ErrPadding) {
				t.Fatalf("unexpected error kind: %v", err)
			}
		} else {
			h, _ := ParseHeader(ct)
			file, _ := NewFile(fuzzKey, h, fuzzPath)
			if again := encryptAll(t, file, plain, 1<<20); !bytes.Equal(again, ct) {
				t.Fatal("an accepted ciphertext does not re-encrypt to itself")
			}
		}
		h, herr := ParseHeader(ct)
		if herr != nil {
			return
		}
		file, err := NewFile(fuzzKey, h, fuzzPath)
		if err != nil {
			// A directory record's header: no file's.
			if h.Flags == 0 || !errors.Is(err, ErrHeader) {
				t.Fatalf("NewFile of header %+v: %v", h, err)
			}
			return
		}
		dst := make([]byte, ln)
		n, err := file.DecryptAt(dst, off, int64(len(ct)), bytes.NewReader(ct))
		if err != nil && err != io.EOF && n != 0 {
			t.Fatalf("DecryptAt returned %d bytes with %v", n, err)
		}
		if n > 0 && plain != nil && !bytes.Equal(dst[:n], plain[off:off+int64(n)]) {
			t.Fatal("ranged read disagrees with the whole-file read")
		}
	})
}

// FuzzTamper seals a plaintext, changes the ciphertext (flip, cut, extend)
// and requires that the whole file no longer opens and that a ranged read
// never returns bytes that differ from the original plaintext.
func FuzzTamper(f *testing.F) {
	f.Add(uint16(5000), uint32(30), byte(1), int32(0), int64(0), uint16(100))
	f.Add(uint16(8192), uint32(0), byte(0), int32(-16), int64(4000), uint16(500))
	f.Add(uint16(0), uint32(24), byte(0x80), int32(0), int64(0), uint16(1))
	f.Add(uint16(4096), uint32(0), byte(0), int32(4112), int64(0), uint16(9000))
	f.Fuzz(func(t *testing.T, size uint16, pos uint32, xor byte, cut int32, off int64, ln uint16) {
		plain := make([]byte, int(size)%(3*4096+2))
		for i := range plain {
			plain[i] = byte(i % 251)
		}
		h, _ := NewHeader([FileIDSize]byte{1}, 4096)
		file, _ := NewFile(fuzzKey, h, fuzzPath)
		ct := encryptAll(t, file, plain, 1<<20)
		bad := bytes.Clone(ct)
		bad[int(pos)%len(bad)] ^= xor
		switch {
		case cut < 0:
			bad = bad[:max(0, len(bad)+int(cut)%len(bad))]
		case cut > 0:
			bad = append(bad, ct[int(cut)%len(ct):]...)
		}
		got, err := openAll(fuzzKey, fuzzPath, bad)
		if bytes.Equal(bad, ct) {
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("unchanged ciphertext: %v", err)
			}
			return
		}
		if err == nil || got != nil {
			t.Fatalf("changed ciphertext opened (%d → %d bytes, pos %d xor %#x cut %d)", len(ct), len(bad), pos, xor, cut)
		}
		// A ranged read may succeed from untouched blocks, but only with
		// the true bytes.
		dst := make([]byte, ln)
		n, err := file.DecryptAt(dst, off, int64(len(bad)), bytes.NewReader(bad))
		if n > 0 && (off < 0 || off+int64(n) > int64(len(plain)) || !bytes.Equal(dst[:n], plain[off:off+int64(n)])) {
			t.Fatalf("ranged read of a changed file returned wrong bytes (%v)", err)
		}
	})
}

// FuzzOpenBlock feeds arbitrary bytes to OpenBlock. Nothing may open
// unless it is exactly what sealBlock makes for that index and flag; on
// failure no plaintext is returned.
func FuzzOpenBlock(f *testing.F) {
	f.Fuzz(func(t *testing.T, ct []byte, index int64, final bool) {
		h, _ := NewHeader([FileIDSize]byte{1}, 4096)
		file, _ := NewFile(fuzzKey, h, fuzzPath)
		p, err := file.OpenBlock(nil, ct, index, final)
		if err != nil {
			if p != nil || !errors.Is(err, ErrNotAuthentic) {
				t.Fatalf("OpenBlock failed with %v and %d bytes", err, len(p))
			}
			return
		}
		if again := file.sealBlock(nil, p, index, final); !bytes.Equal(again, ct) {
			t.Fatal("an opened block does not re-seal to itself")
		}
	})
}
