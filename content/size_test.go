package content

import "testing"

// TestMaxPlainSize: the largest allowed plaintext maps to a positive
// ciphertext size that maps back, and one byte more would overflow.
func TestMaxPlainSize(t *testing.T) {
	for _, bs := range []int{4096, 8192, 1 << 16, 1 << 20} {
		max := MaxPlainSize(bs)
		cs := CipherSize(max, bs)
		if cs <= 0 || cs < max {
			t.Errorf("block size %d: CipherSize(MaxPlainSize=%d) = %d overflows", bs, max, cs)
		}
		if back, err := PlainSize(cs, bs); err != nil || back != max {
			t.Errorf("block size %d: PlainSize(%d) = %d, %v; want %d", bs, cs, back, err, max)
		}
		// One more byte: another block's overhead or header no longer fits.
		if next := CipherSize(max+1, bs); next > 0 && next > cs {
			t.Errorf("block size %d: MaxPlainSize+1 still fits (%d)", bs, next)
		}
	}
}
