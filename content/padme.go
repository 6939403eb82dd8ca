package content

// Padding (docs/FORMAT.md, "Padding"). In a tree whose config sets the padme
// flag every content stream is padded before it is cut into blocks: a
// plaintext of n bytes becomes the P = Padmé(n + 8) bytes
//
//	data (n bytes) || zero bytes (P − n − 8) || uint64be(n)
//
// so the view size is a pure function of n that leaks only O(log log n)
// bits of it, and a reader finds n in the last one or two blocks.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// FlagPadded (header flags bit 0) marks a padded stream. The header is in
// the file key, so the flag is authenticated.
const FlagPadded = 0x01

// TrailerSize is the length of the uint64be(n) that ends a padded stream.
const TrailerSize = 8

// ErrPadding means a padded stream authenticates but its padding is not as
// specified: a non-zero padding byte, or a trailer that does not fit the
// stream's length (rule padding).
var ErrPadding = errors.New("padding is not as specified")

// Padme rounds a length L ≥ 2 up to the next Padmé value (Nikitin et al.,
// PETS 2019): with E = floor(log2 L) and S = floor(log2 E) + 1, the low
// E − S bits are cleared, rounding up. It keeps E − S of L's E + 1 bits
// free, so at most S bits of L show, and adds less than 2^(E−S) bytes.
func Padme(L int64) int64 {
	if L < 2 {
		return L
	}
	e := bits.Len64(uint64(L)) - 1
	s := bits.Len64(uint64(e))
	mask := int64(1)<<(e-s) - 1
	return (L + mask) &^ mask
}

// PaddedSize is the length of the padded stream of an n-byte plaintext,
// Padmé(n + 8); n must not exceed MaxPaddedPlainSize.
func PaddedSize(n int64) int64 { return Padme(n + TrailerSize) }

// PaddedCipherSize is the ciphertext size of a padded n-byte plaintext.
func PaddedCipherSize(n int64, blockSize int) int64 {
	return CipherSize(PaddedSize(n), blockSize)
}

// MaxPaddedPlainSize is the largest plaintext whose padded ciphertext size
// still fits an int64: the largest Padmé value a stream may have, less the
// trailer.
func MaxPaddedPlainSize(blockSize int) int64 {
	p := MaxPlainSize(blockSize)
	e := bits.Len64(uint64(p)) - 1
	s := bits.Len64(uint64(e))
	return p&^(int64(1)<<(e-s)-1) - TrailerSize
}

// paddedStream checks that a padded stream of p bytes is one the size
// mapping produces: a Padmé value that holds a trailer.
func paddedStream(p int64) error {
	if p < TrailerSize || Padme(p) != p {
		return fmt.Errorf("%w: %d bytes is not a padded length", ErrSize, p)
	}
	return nil
}

// PaddedPlainSizeMax is the largest plaintext size whose padded ciphertext
// is cipherSize bytes, or ErrSize when no plaintext's is. Many sizes share
// one padded ciphertext size, and only the trailer tells which it is; the
// reverse view uses this to serve a file that grew at the size the kernel
// knows.
func PaddedPlainSizeMax(cipherSize int64, blockSize int) (int64, error) {
	p, err := PlainSize(cipherSize, blockSize)
	if err != nil {
		return 0, err
	}
	if err := paddedStream(p); err != nil {
		return 0, err
	}
	return p - TrailerSize, nil
}

// padSource reads the padded stream of a plaintext of n bytes from src:
// src's bytes up to n (and never past it), then zeros, then the trailer.
type padSource struct {
	src  io.ReaderAt
	n, p int64
}

func (s padSource) ReadAt(b []byte, off int64) (int, error) {
	end := off + int64(len(b))
	if end > s.p {
		return 0, fmt.Errorf("internal error: padded read [%d, %d) past the stream's %d bytes", off, end, s.p)
	}
	got := 0
	if off < s.n {
		k := min(end, s.n) - off
		m, err := s.src.ReadAt(b[:k], off)
		if int64(m) < k {
			if err == nil {
				err = io.EOF // shorter than n: the plaintext shrank
			}
			return m, err
		}
		got = int(k)
	}
	trailer := s.p - TrailerSize
	if end > s.n {
		clear(b[got:])
	}
	if end > trailer {
		var t [TrailerSize]byte
		binary.BigEndian.PutUint64(t[:], uint64(s.n))
		lo := max(off, trailer)
		copy(b[lo-off:], t[lo-trailer:])
	}
	return len(b), nil
}

// checkZero returns ErrPadding if any byte of b is not zero.
func checkZero(b []byte, index int64) error {
	for _, c := range b {
		if c != 0 {
			return fmt.Errorf("%w: a non-zero padding byte in block %d", ErrPadding, index)
		}
	}
	return nil
}

// openRange authenticates the blocks first … last of a stream of p bytes
// and returns their plaintext, which starts at stream offset first·B.
func (f *File) openRange(first, last, p, cipherSize int64, src io.ReaderAt) ([]byte, error) {
	bs := int64(f.blockSize)
	cbs := bs + Overhead
	nblocks := NumBlocks(p, f.blockSize)
	cstart := HeaderSize + first*cbs
	cend := min(HeaderSize+(last+1)*cbs, cipherSize)
	ct := make([]byte, cend-cstart)
	if err := readShare(src, ct, cstart, 0, int64(len(ct)), io.ErrUnexpectedEOF); err != nil {
		return nil, fmt.Errorf("reading ciphertext: %w", err)
	}
	out := make([]byte, 0, (last-first+1)*bs)
	for i := first; i <= last; i++ {
		b := ct[(i-first)*cbs : min((i-first+1)*cbs, int64(len(ct)))]
		var err error
		if out, err = f.OpenBlock(out, b, i, i == nblocks-1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PlainSize is the plaintext size of this file stored in cipherSize bytes
// read from src. For an unpadded file it is the size mapping's (nothing is
// read). For a padded one it authenticates the last one or two blocks,
// which hold the trailer, and checks the trailer and the padding bytes in
// them (ErrSize, ErrNotAuthentic, ErrPadding). CheckPadding checks the
// rest.
func (f *File) PlainSize(cipherSize int64, src io.ReaderAt) (int64, error) {
	p, err := PlainSize(cipherSize, f.blockSize)
	if err != nil || !f.padded {
		return p, err
	}
	if err := paddedStream(p); err != nil {
		return 0, err
	}
	bs := int64(f.blockSize)
	last := NumBlocks(p, f.blockSize) - 1
	first := last
	if p-last*bs < TrailerSize {
		first-- // the trailer starts in the block before the last
	}
	plain, err := f.openRange(first, last, p, cipherSize, src)
	if err != nil {
		return 0, err
	}
	base := first * bs
	n := binary.BigEndian.Uint64(plain[len(plain)-TrailerSize:])
	if n > uint64(p-TrailerSize) || PaddedSize(int64(n)) != p {
		return 0, fmt.Errorf("%w: the trailer says %d bytes, which do not pad to %d", ErrPadding, n, p)
	}
	zeros := plain[max(int64(n)-base, 0) : int64(len(plain))-TrailerSize]
	if err := checkZero(zeros, first); err != nil {
		return 0, err
	}
	return int64(n), nil
}

// CheckPadding authenticates every block of a padded file past its n
// plaintext bytes and checks that the padding bytes are zero and the
// trailer says n. A reader that restores a whole file calls it after
// reading the plaintext; for an unpadded file it does nothing.
func (f *File) CheckPadding(n, cipherSize int64, src io.ReaderAt) error {
	if !f.padded {
		return nil
	}
	got, err := f.PlainSize(cipherSize, src) // the trailer's blocks
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("%w: the trailer says %d bytes, not %d", ErrPadding, got, n)
	}
	p := PaddedSize(n)
	bs := int64(f.blockSize)
	trailer := (p - TrailerSize) / bs // first block of the trailer, checked above
	// The blocks between: a chunk at a time, so a large padding is not
	// held whole.
	const chunk = 64
	for first := n / bs; first < trailer; first += chunk {
		hi := min(first+chunk, trailer) - 1
		plain, err := f.openRange(first, hi, p, cipherSize, src)
		if err != nil {
			return err
		}
		if err := checkZero(plain[max(n-first*bs, 0):], first); err != nil {
			return err
		}
	}
	return nil
}

// ErrHeaderPadding means a header's padding flag disagrees with the
// config: a padded file in a tree without padding, or an unpadded one in
// a padded tree (rule header-padding).
var ErrHeaderPadding = errors.New("the header's padding flag disagrees with the config")

// CheckPadded returns ErrHeaderPadding unless the header is padded exactly
// when the tree's config says files are (padded).
func (h Header) CheckPadded(padded bool) error {
	if (h.Flags&FlagPadded != 0) != padded {
		if padded {
			return fmt.Errorf("%w: an unpadded file in a padded tree", ErrHeaderPadding)
		}
		return fmt.Errorf("%w: a padded file in a tree without padding", ErrHeaderPadding)
	}
	return nil
}
