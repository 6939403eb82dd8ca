package content

// Size mapping (docs/FORMAT.md, "Sizes"). A plaintext of n bytes is cut into
// max(1, ceil(n/B)) blocks; each grows by Overhead; the header comes first:
//
//	ciphertext = HeaderSize + n + Overhead*max(1, ceil(n/B))
//
// Both functions are pure so that stat never has to read file contents.

// NumBlocks is the number of blocks a plaintext of plainSize bytes is cut into.
// An empty file still has one (empty, final) block.
func NumBlocks(plainSize int64, blockSize int) int64 {
	if plainSize <= 0 {
		return 1
	}
	return (plainSize + int64(blockSize) - 1) / int64(blockSize)
}

// MaxPlainSize is the largest plaintext size whose ciphertext size still
// fits an int64 (and so a file system's size field). A larger plaintext
// (only a sparse file can be one) cannot be shown in the view: callers
// check this before CipherSize, which would overflow.
func MaxPlainSize(blockSize int) int64 {
	const maxInt64 = 1<<63 - 1
	cb := int64(blockSize) + Overhead
	// Whole blocks that fit after the header, then what of one more
	// block still fits.
	room := int64(maxInt64 - HeaderSize)
	full := room / cb
	if rem := room % cb; rem > Overhead {
		return full*int64(blockSize) + rem - Overhead
	}
	return full * int64(blockSize)
}

// CipherSize maps a plaintext size to the ciphertext size; plainSize must
// not exceed MaxPlainSize.
func CipherSize(plainSize int64, blockSize int) int64 {
	return HeaderSize + plainSize + Overhead*NumBlocks(plainSize, blockSize)
}

// PlainSize maps a ciphertext size back to the plaintext size. It returns
// ErrSize for sizes that no plaintext produces (a file cut or grown inside a
// block, or shorter than header plus one empty block).
func PlainSize(cipherSize int64, blockSize int) (int64, error) {
	m := cipherSize - HeaderSize
	if m < Overhead {
		return 0, ErrSize
	}
	cb := int64(blockSize) + Overhead
	full, rem := m/cb, m%cb
	switch {
	case rem == 0:
		return full * int64(blockSize), nil
	case rem < Overhead, rem == Overhead && full > 0:
		// A block shorter than its IV, or an empty block after full ones.
		return 0, ErrSize
	default:
		return full*int64(blockSize) + rem - Overhead, nil
	}
}
