package content

import (
	"errors"
	"fmt"
)

// Format constants of content format v1 (docs/FORMAT.md, "Content").
const (
	// HeaderSize is the length of the header that starts every ciphertext file.
	HeaderSize = 24
	// Overhead is what AES-SIV adds to every block: the 16-byte synthetic IV.
	Overhead = 16
	// Version is the content format version written in the header.
	Version = 1
	// FileIDSize is the length of the per-file ID stored in the header.
	FileIDSize = 16
	// MinBlockShift and MaxBlockShift bound the plaintext block size:
	// 4 KiB (1<<12) to 1 MiB (1<<20).
	MinBlockShift = 12
	MaxBlockShift = 20
	// DefaultBlockSize is the plaintext block size efs init picks by default.
	DefaultBlockSize = 4096
)

// FlagRecord (header flags bit 1, format v2) marks a directory record:
// sealed under a key of its own (NewRecord), never a file's.
const FlagRecord = 0x02

// magic opens every ciphertext file.
var magic = [3]byte{'E', 'F', 'S'}

// Errors returned by the decoders. They never carry plaintext.
var (
	// ErrHeader means the bytes are not a valid efs v1 content header.
	ErrHeader = errors.New("not a valid efs content header")
	// ErrNotAuthentic means a block failed authentication: the ciphertext
	// was changed, truncated, extended, reordered or moved from another file.
	ErrNotAuthentic = errors.New("block failed authentication")
	// ErrSize means a ciphertext size that no plaintext size maps to,
	// which happens when a file was truncated or extended inside a block.
	ErrSize = errors.New("ciphertext size is impossible for this block size (truncated or extended file)")
)

// Header is the decoded content header.
//
//	offset size field
//	0      3    magic "EFS"
//	3      1    version (1)
//	4      1    flags: FlagPadded (bit 0) for a padded stream, FlagRecord (bit 1) for a directory record
//	5      1    block shift: log2 of the plaintext block size (12..20)
//	6      2    reserved, zero
//	8      16   file ID
type Header struct {
	Flags      byte
	BlockShift byte
	FileID     [FileIDSize]byte
}

// NewHeader returns the header for a file with the given ID and block size.
func NewHeader(fileID [FileIDSize]byte, blockSize int) (Header, error) {
	shift, err := BlockShift(blockSize)
	if err != nil {
		return Header{}, err
	}
	return Header{BlockShift: shift, FileID: fileID}, nil
}

// BlockShift returns log2(blockSize) after checking that blockSize is a
// power of two between 4 KiB and 1 MiB.
func BlockShift(blockSize int) (byte, error) {
	for s := MinBlockShift; s <= MaxBlockShift; s++ {
		if blockSize == 1<<s {
			return byte(s), nil
		}
	}
	return 0, fmt.Errorf("block size %d is not a power of two between %d and %d", blockSize, 1<<MinBlockShift, 1<<MaxBlockShift)
}

// BlockSize is the plaintext block size the header declares.
func (h Header) BlockSize() int { return 1 << h.BlockShift }

// Marshal returns the 24 header bytes.
func (h Header) Marshal() [HeaderSize]byte {
	var b [HeaderSize]byte
	copy(b[0:3], magic[:])
	b[3] = Version
	b[4] = h.Flags
	b[5] = h.BlockShift
	copy(b[8:], h.FileID[:])
	return b
}

// ParseHeader decodes a header. It rejects a wrong magic, an unknown
// version, any flag but FlagRecord and FlagPadded, a block shift out of range and
// non-zero reserved bytes, so every accepted header marshals back to the
// same bytes.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, need %d", ErrHeader, len(b), HeaderSize)
	}
	if b[0] != magic[0] || b[1] != magic[1] || b[2] != magic[2] {
		return Header{}, fmt.Errorf("%w: bad magic", ErrHeader)
	}
	if b[3] != Version {
		return Header{}, fmt.Errorf("%w: unsupported version %d", ErrHeader, b[3])
	}
	if b[4]&^(FlagRecord|FlagPadded) != 0 {
		return Header{}, fmt.Errorf("%w: unknown flags %#02x", ErrHeader, b[4])
	}
	if b[5] < MinBlockShift || b[5] > MaxBlockShift {
		return Header{}, fmt.Errorf("%w: block shift %d out of range", ErrHeader, b[5])
	}
	if b[6] != 0 || b[7] != 0 {
		return Header{}, fmt.Errorf("%w: reserved bytes are not zero", ErrHeader)
	}
	var h Header
	h.Flags, h.BlockShift = b[4], b[5]
	copy(h.FileID[:], b[8:HeaderSize])
	return h, nil
}
