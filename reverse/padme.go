package reverse

import "github.com/efs-project/efs/content"

// Padding (config flag padme, docs/FORMAT.md "Padding"): every file's and
// record's stream is padded, so view sizes are the padded mapping's.

// padded reports whether the tree pads its streams.
func (t *Tree) padded() bool { return t.settings.Padded() }

// CipherSize is the view size of a regular file of plainSize bytes.
func (t *Tree) CipherSize(plainSize int64) int64 {
	if t.padded() {
		return content.PaddedCipherSize(plainSize, t.settings.BlockSize)
	}
	return content.CipherSize(plainSize, t.settings.BlockSize)
}

// maxPlainSize is the largest plaintext file the view can show.
func (t *Tree) maxPlainSize() int64 {
	if t.padded() {
		return content.MaxPaddedPlainSize(t.settings.BlockSize)
	}
	return content.MaxPlainSize(t.settings.BlockSize)
}

// plainSizeFor is the largest plaintext size whose view size is
// cipherSize: the size a file that grew is served at, so that its view
// size stays the one the kernel knows. Padded, many sizes share one view
// size, and any of them serves a prefix of what the file holds now.
func (t *Tree) plainSizeFor(cipherSize int64) (int64, error) {
	if t.padded() {
		return content.PaddedPlainSizeMax(cipherSize, t.settings.BlockSize)
	}
	return content.PlainSize(cipherSize, t.settings.BlockSize)
}

// header is the content header of the file with ID id.
func (t *Tree) header(id [content.FileIDSize]byte) (content.Header, error) {
	h, err := content.NewHeader(id, t.settings.BlockSize)
	if t.padded() {
		h.Flags |= content.FlagPadded
	}
	return h, err
}
