package content

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"sync"

	"golang.org/x/crypto/hkdf"
)

// FileIDMode selects what the file ID is derived from (config field file_id).
type FileIDMode int

const (
	// FileIDInode derives the file ID from the inode number and the path:
	// a file replaced at the same path gets a fresh key. The default.
	FileIDInode FileIDMode = iota
	// FileIDPath derives it from the path alone, so copying the plaintext
	// tree to another disk or saving by rename keeps the ciphertext.
	FileIDPath
	// FileIDVersion (format v2) derives it from the inode, the path, the
	// mtime and the size: every version of a file gets its own key, so
	// blocks of two versions cannot be spliced into a file that never
	// existed. The price: a changed file is re-uploaded whole.
	FileIDVersion
)

// String returns the config spelling of the mode.
func (m FileIDMode) String() string {
	switch m {
	case FileIDPath:
		return "path"
	case FileIDVersion:
		return "version"
	}
	return "inode"
}

// ParseFileIDMode parses the config spelling ("inode" or "path").
func ParseFileIDMode(s string) (FileIDMode, error) {
	switch s {
	case "inode":
		return FileIDInode, nil
	case "path":
		return FileIDPath, nil
	case "version":
		return FileIDVersion, nil
	}
	return 0, fmt.Errorf("file-id mode %q is not \"inode\", \"path\" or \"version\"", s)
}

// Labels used in the derivations below (docs/FORMAT.md, "Key hierarchy").
const (
	fileIDLabelInode = "efs-v1 file-id inode\x00"
	fileIDLabelPath  = "efs-v1 file-id path\x00"
	fileIDLabelVer   = "efs-v2 file-id version\x00"
	fileKeyLabel     = "efs-v1 file key\x00"
	recordKeyLabel   = "efs-v2 record key\x00"
	// FileKeySize is the length of a per-file AES-SIV key (two AES-256 keys).
	FileKeySize = 64
)

// FileVersion is what the file ID is derived from: the plaintext file's inode
// number, and for FileIDVersion its mtime and size too.
type FileVersion struct {
	Ino       uint64
	MtimeSec  int64
	MtimeNsec uint32
	Size      int64
}

// DeriveFileID computes a file's 16-byte ID:
//
//	inode mode:   HMAC-SHA256(fileIDKey, "efs-v1 file-id inode\0" || uint64be(ino) || path)[:16]
//	path mode:    HMAC-SHA256(fileIDKey, "efs-v1 file-id path\0" || path)[:16]
//	version mode: HMAC-SHA256(fileIDKey, "efs-v2 file-id version\0" || uint64be(ino)
//	                  || uint64be(mtime_sec) || uint32be(mtime_nsec) || uint64be(size) || path)[:16]
//
// path is the plaintext path relative to the root, '/'-separated.
func DeriveFileID(fileIDKey []byte, mode FileIDMode, v FileVersion, path string) [FileIDSize]byte {
	var m fileIDMAC
	m.h = hmac.New(sha256.New, fileIDKey)
	return m.derive(mode, v, path)
}

// FileIDs derives file IDs as DeriveFileID does, under one key and mode,
// for a caller that derives one per file of a tree: it reuses keyed HMAC
// states, so that a derivation costs no allocation and two SHA-256 blocks
// fewer (the keyed pads' blocks) than keying a new HMAC. The states, like
// those of crypto/hmac anywhere, hold key-dependent values on the heap
// until the garbage collector takes them. Safe for concurrent use.
type FileIDs struct {
	mode FileIDMode
	macs sync.Pool // *fileIDMAC
}

// NewFileIDs prepares file-ID derivation under fileIDKey, which must stay
// valid while f is used.
func NewFileIDs(fileIDKey []byte, mode FileIDMode) *FileIDs {
	f := &FileIDs{mode: mode}
	f.macs.New = func() any { return &fileIDMAC{h: hmac.New(sha256.New, fileIDKey)} }
	return f
}

// Derive is DeriveFileID(fileIDKey, mode, v, path).
func (f *FileIDs) Derive(v FileVersion, path string) [FileIDSize]byte {
	m := f.macs.Get().(*fileIDMAC)
	defer f.macs.Put(m)
	return m.derive(f.mode, v, path)
}

// fileIDMAC is a keyed HMAC and the buffers of one derivation, kept
// together so that none escapes to the heap per call.
type fileIDMAC struct {
	h   hash.Hash
	in  [128]byte
	sum [sha256.Size]byte
}

// derive computes the file ID of v at path, as DeriveFileID documents.
func (m *fileIDMAC) derive(mode FileIDMode, v FileVersion, path string) [FileIDSize]byte {
	mac := m.h
	mac.Reset()
	b := m.in[:0]
	switch mode {
	case FileIDPath:
		b = append(b, fileIDLabelPath...)
	case FileIDVersion:
		b = append(b, fileIDLabelVer...)
		b = binary.BigEndian.AppendUint64(b, v.Ino)
		b = binary.BigEndian.AppendUint64(b, uint64(v.MtimeSec))
		b = binary.BigEndian.AppendUint32(b, v.MtimeNsec)
		b = binary.BigEndian.AppendUint64(b, uint64(v.Size))
	default:
		b = append(b, fileIDLabelInode...)
		b = binary.BigEndian.AppendUint64(b, v.Ino)
	}
	b = append(b, path...)
	mac.Write(b)
	var id [FileIDSize]byte
	copy(id[:], mac.Sum(m.sum[:0]))
	return id
}

// deriveFileKey computes the per-file AES-SIV key:
//
//	HKDF-SHA256(ikm = contentKey, salt = empty, info = label || header || path), 64 bytes
//
// with label "efs-v1 file key\0" for files and "efs-v2 record key\0" for
// directory records (path is then the directory's).
// The whole header (version, flags, block size, file ID) and the path are
// bound to the key, so a changed header or content moved to another path
// fails authentication in every block.
func deriveFileKey(contentKey []byte, label string, header []byte, path string) ([FileKeySize]byte, error) {
	info := make([]byte, 0, len(label)+len(header)+len(path))
	info = append(info, label...)
	info = append(info, header...)
	info = append(info, path...)
	var key [FileKeySize]byte
	if _, err := io.ReadFull(hkdf.New(sha256.New, contentKey, nil, info), key[:]); err != nil {
		return key, fmt.Errorf("deriving file key: %w", err)
	}
	return key, nil
}
