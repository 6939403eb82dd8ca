package content

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"math/bits"
	mrand "math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPadme(t *testing.T) {
	for _, c := range []struct{ in, want int64 }{
		{2, 2}, {8, 8}, {9, 10}, {15, 16}, {16, 16}, {17, 18}, {100, 104},
		{4096, 4096}, {4097, 4352}, {5008, 5120}, {1 << 20, 1 << 20}, {1<<20 + 1, 1<<20 + 1<<15},
	} {
		if got := Padme(c.in); got != c.want {
			t.Errorf("Padme(%d) = %d, want %d", c.in, got, c.want)
		}
	}
	// Monotonic, idempotent, within its bound: less than 2^(E−S) added.
	prev := int64(0)
	for L := int64(2); L < 1<<16; L++ {
		p := Padme(L)
		e := bits.Len64(uint64(L)) - 1
		s := bits.Len64(uint64(e))
		if p < L || p < prev || Padme(p) != p || p-L >= 1<<(e-s) {
			t.Fatalf("Padme(%d) = %d", L, p)
		}
		prev = p
	}
}

func TestMaxPaddedPlainSize(t *testing.T) {
	for _, bs := range []int{4096, 65536, 1 << 20} {
		m := MaxPaddedPlainSize(bs)
		c := PaddedCipherSize(m, bs)
		if c <= 0 || c > 1<<63-1 || PaddedSize(m) > MaxPlainSize(bs) {
			t.Fatalf("bs %d: MaxPaddedPlainSize %d gives cipher size %d", bs, m, c)
		}
		// One more byte needs the next Padmé value, which does not fit.
		if p := PaddedSize(m + 1); p <= MaxPlainSize(bs) && p > 0 {
			t.Fatalf("bs %d: %d bytes pad to %d, which fits: the maximum is too low", bs, m+1, p)
		}
	}
}

// limitedReader fails any read past n: the padding must be made, never
// read from the plaintext.
type limitedReader struct {
	b []byte
	t *testing.T
}

func (r limitedReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > int64(len(r.b)) {
		r.t.Errorf("read [%d, %d) past the plaintext's %d bytes", off, off+int64(len(p)), len(r.b))
	}
	return bytes.NewReader(r.b).ReadAt(p, off)
}

func paddedFile(t testing.TB, bs int, path string) *File {
	h, err := NewHeader([16]byte{7}, bs)
	if err != nil {
		t.Fatal(err)
	}
	h.Flags = FlagPadded
	f, err := NewFile(testKey, h, path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPaddedRoundTrip encrypts at the block edges in ranges of several
// steps and reads back through Open, random ranges included.
func TestPaddedRoundTrip(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, bs := range []int{4096, 8192} {
		f := paddedFile(t, bs, "dir/file")
		for _, n := range []int{0, 1, 7, 8, 9, bs - 9, bs - 8, bs - 1, bs, bs + 1, 2*bs + 500, 3*bs + 1, 40 * bs} {
			plain := make([]byte, n)
			rand.Read(plain)
			var whole []byte
			for _, step := range []int{1 << 20, bs + Overhead, 4095, 100} {
				ct := make([]byte, 0, f.CipherSize(int64(n)))
				buf := make([]byte, step)
				for off := int64(0); ; {
					k, err := f.EncryptAt(buf, off, int64(n), limitedReader{plain, t})
					ct = append(ct, buf[:k]...)
					off += int64(k)
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				if whole != nil && !bytes.Equal(ct, whole) {
					t.Fatalf("n %d: step %d gives other ciphertext", n, step)
				}
				whole = ct
			}
			if int64(len(whole)) != PaddedCipherSize(int64(n), bs) {
				t.Fatalf("n %d: %d bytes, PaddedCipherSize says %d", n, len(whole), PaddedCipherSize(int64(n), bs))
			}
			got, err := openAll(testKey, "dir/file", whole)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("n %d: openAll: %v", n, err)
			}
			r, err := f.Open(int64(len(whole)), bytes.NewReader(whole))
			if err != nil || r.Size() != int64(n) {
				t.Fatalf("n %d: Open: %v, size %d", n, err, r.Size())
			}
			for range 20 {
				off := rng.Int64N(int64(n) + 2)
				ln := rng.IntN(3*bs) + 1
				dst := make([]byte, ln)
				k, err := r.ReadAt(dst, off)
				lo := min(off, int64(n))
				hi := max(lo, min(off+int64(ln), int64(n)))
				if (err != nil && err != io.EOF) || int64(k) != hi-lo || !bytes.Equal(dst[:k], plain[lo:hi]) {
					t.Fatalf("n %d: ReadAt(%d, %d) = %d, %v", n, off, ln, k, err)
				}
			}
		}
	}
}

// TestPaddedTamper: a flipped ciphertext byte in the padding is an
// authentication failure; a padding byte or a trailer sealed non-zero
// (what only a key holder can make) is ErrPadding; a plaintext that
// shrank is ErrChanged.
func TestPaddedTamper(t *testing.T) {
	const bs = 4096
	const n = 3*bs + 100 // padded to 12544 + 8 → 12800: blocks of 4096, 4096, 4096, 512
	f := paddedFile(t, bs, "dir/a")
	plain := make([]byte, n)
	rand.Read(plain)
	ct := make([]byte, f.CipherSize(n))
	if _, err := f.EncryptAt(ct, 0, n, bytes.NewReader(plain)); err != io.EOF {
		t.Fatal(err)
	}
	cbs := bs + Overhead
	// Plaintext byte 3·4096 + 200 (padding) sits at this ciphertext offset.
	padAt := HeaderSize + 3*cbs + Overhead + 200
	for _, off := range []int{padAt, len(ct) - 1, len(ct) - 5} {
		b := bytes.Clone(ct)
		b[off] ^= 0x40
		if _, err := openAll(testKey, "dir/a", b); !errors.Is(err, ErrNotAuthentic) {
			t.Errorf("padding ciphertext byte %d flipped: %v, want ErrNotAuthentic", off, err)
		}
	}
	// Re-seal the last block with a non-zero padding byte, then with a
	// trailer that says another size.
	p := PaddedSize(n)
	stream := make([]byte, p)
	copy(stream, plain)
	binary.BigEndian.PutUint64(stream[p-8:], n)
	reseal := func(mod func(last []byte)) []byte {
		last := bytes.Clone(stream[3*bs:])
		mod(last)
		return append(bytes.Clone(ct[:HeaderSize+3*cbs]), f.sealBlock(nil, last, 3, true)...)
	}
	for name, b := range map[string][]byte{
		"padding byte":  reseal(func(l []byte) { l[300] = 1 }),
		"trailer n+1":   reseal(func(l []byte) { binary.BigEndian.PutUint64(l[len(l)-8:], n+1<<20) }),
		"trailer 2^63":  reseal(func(l []byte) { binary.BigEndian.PutUint64(l[len(l)-8:], 1<<63) }),
		"trailer P − 7": reseal(func(l []byte) { binary.BigEndian.PutUint64(l[len(l)-8:], uint64(p-7)) }),
	} {
		if _, err := openAll(testKey, "dir/a", b); !errors.Is(err, ErrPadding) {
			t.Errorf("%s: %v, want ErrPadding", name, err)
		}
	}
	// A padding byte in a middle block only CheckPadding sees: a file
	// whose padding spans blocks.
	const m = 1<<20 + 1 // padded to 1<<20 + 1<<15: 8 blocks of padding
	g := paddedFile(t, bs, "dir/a")
	big := make([]byte, m)
	bct := make([]byte, g.CipherSize(m))
	if _, err := g.EncryptAt(bct, 0, m, bytes.NewReader(big)); err != io.EOF {
		t.Fatal(err)
	}
	mid := int64(m/bs + 3)
	zeros := make([]byte, bs)
	zeros[17] = 9
	start := HeaderSize + mid*int64(cbs)
	copy(bct[start:], g.sealBlock(nil, zeros, mid, false))
	r, err := g.Open(int64(len(bct)), bytes.NewReader(bct))
	if err != nil {
		t.Fatalf("Open reads only the trailer's block: %v", err)
	}
	if err := r.CheckPadding(); !errors.Is(err, ErrPadding) {
		t.Errorf("CheckPadding of a non-zero middle padding block: %v, want ErrPadding", err)
	}
	// The plaintext shrank under EncryptAt.
	if _, err := f.EncryptAt(make([]byte, 100), HeaderSize, n, bytes.NewReader(plain[:10])); !errors.Is(err, ErrChanged) {
		t.Errorf("shrunk plaintext: %v, want ErrChanged", err)
	}
	// A padded header where the config has none, and the other way.
	h, _ := ParseHeader(ct)
	if err := h.CheckPadded(false); !errors.Is(err, ErrHeaderPadding) {
		t.Errorf("CheckPadded(false) of a padded header: %v", err)
	}
	if err := h.CheckPadded(true); err != nil {
		t.Error(err)
	}
}

// albums are the sizes of a dozen audio files of one album: unpadded, each
// is pinned by its view size.
var albums = []int64{7151712, 9123472, 5822608, 5497664, 9032544, 8931184, 9947920, 10858000, 7159040, 7856016, 7032608, 21923472}

// TestPadmeLeak logs what an observer learns of sizes from padded view
// sizes (go test -run TestPadmeLeak -v ./content) and asserts Padmé's
// bounds: no album file pinned to within one 4 KiB block, and overhead
// within 1/2^S of the size.
func TestPadmeLeak(t *testing.T) {
	const bs = 4096
	for _, n := range albums {
		view := PaddedCipherSize(n, bs)
		// The plaintext sizes with this view size: [lo, P − 8], lo the
		// one after the Padmé value below P, less the trailer.
		p := PaddedSize(n)
		lo := padmeFloor(p-1) + 1 - TrailerSize
		share := p - TrailerSize - lo + 1
		t.Logf("album file %9d bytes → view %9d bytes: %8d plaintext sizes share it (%d … %d)", n, view, share, lo, p-TrailerSize)
		if share <= bs {
			t.Errorf("%d is pinned to within one block: only %d sizes share its view size", n, share)
		}
	}
	// n, n+1 and n+97 in one view size, for n from 3 KB to 8 MB.
	rng := mrand.New(mrand.NewPCG(3, 4))
	same, total := 0, 20000
	for range total {
		n := 3000 + rng.Int64N(8_000_000-3000)
		if PaddedSize(n) == PaddedSize(n+1) && PaddedSize(n) == PaddedSize(n+97) {
			same++
		}
	}
	t.Logf("n, n+1 and n+97 share a view size for %.1f%% of n in [3 KB, 8 MB) (%d samples)", 100*float64(same)/float64(total), total)
	for _, dir := range []string{"/usr/share/doc", goroot(t)} {
		if dir == "" {
			continue
		}
		sizes := fileSizes(dir)
		if len(sizes) == 0 {
			t.Logf("%s: no files", dir)
			continue
		}
		var plain, unpadded, padded int64
		var pct []float64
		for _, n := range sizes {
			u, pd := CipherSize(n, bs), PaddedCipherSize(n, bs)
			plain += n
			unpadded += u
			padded += pd
			pct = append(pct, 100*float64(pd-u)/float64(u))
			// Padmé's bound on the padded stream: less than 2^(E−S)
			// added to L = n + 8, at most 1/2^S of L.
			l := n + TrailerSize
			e := bits.Len64(uint64(l)) - 1
			if PaddedSize(n)-l >= 1<<(e-bits.Len64(uint64(e))) {
				t.Errorf("%d bytes padded to %d: beyond Padmé's bound", n, PaddedSize(n))
			}
		}
		slices.Sort(pct)
		t.Logf("%s: %d files, %d bytes; view %d bytes unpadded, %d padded: +%.2f%% in total, median +%.2f%% a file, max +%.2f%%",
			dir, len(sizes), plain, unpadded, padded, 100*float64(padded-unpadded)/float64(unpadded), pct[len(pct)/2], pct[len(pct)-1])
		if float64(padded-unpadded)/float64(unpadded) > 0.12 {
			t.Errorf("%s: padding costs more than 12%% in total", dir)
		}
	}
}

func goroot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Logf("go env GOROOT: %v", err)
		return ""
	}
	return filepath.Join(strings.TrimSpace(string(out)), "src")
}

// fileSizes lists the sizes of the regular files below dir.
func fileSizes(dir string) []int64 {
	var sizes []int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			sizes = append(sizes, fi.Size())
		}
		return nil
	})
	return sizes
}

// padmeFloor is the largest Padmé value not above x.
func padmeFloor(x int64) int64 {
	e := bits.Len64(uint64(x)) - 1
	return x &^ (int64(1)<<(e-bits.Len64(uint64(e))) - 1)
}
