package content

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

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
)

// String returns the config spelling of the mode.
func (m FileIDMode) String() string {
	if m == FileIDPath {
		return "path"
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
	}
	return 0, fmt.Errorf("file-id mode %q is neither \"inode\" nor \"path\"", s)
}

// Labels used in the derivations below (docs/FORMAT.md, "Key hierarchy").
const (
	fileIDLabelInode = "efs-v1 file-id inode\x00"
	fileIDLabelPath  = "efs-v1 file-id path\x00"
	fileKeyLabel     = "efs-v1 file key\x00"
	// FileKeySize is the length of a per-file AES-SIV key (two AES-256 keys).
	FileKeySize = 64
)

// DeriveFileID computes a file's 16-byte ID:
//
//	inode mode: HMAC-SHA256(fileIDKey, "efs-v1 file-id inode\0" || uint64be(ino) || path)[:16]
//	path mode:  HMAC-SHA256(fileIDKey, "efs-v1 file-id path\0" || path)[:16]
//
// path is the plaintext path relative to the root, '/'-separated.
func DeriveFileID(fileIDKey []byte, mode FileIDMode, ino uint64, path string) [FileIDSize]byte {
	mac := hmac.New(sha256.New, fileIDKey)
	if mode == FileIDPath {
		mac.Write([]byte(fileIDLabelPath))
	} else {
		mac.Write([]byte(fileIDLabelInode))
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], ino)
		mac.Write(b[:])
	}
	mac.Write([]byte(path))
	var id [FileIDSize]byte
	copy(id[:], mac.Sum(nil))
	return id
}

// deriveFileKey computes the per-file AES-SIV key:
//
//	HKDF-SHA256(ikm = contentKey, salt = empty, info = "efs-v1 file key\0" || header || path), 64 bytes
//
// The whole header (version, flags, block size, file ID) and the path are
// bound to the key, so a changed header or content moved to another path
// fails authentication in every block.
func deriveFileKey(contentKey []byte, header []byte, path string) ([FileKeySize]byte, error) {
	info := make([]byte, 0, len(fileKeyLabel)+len(header)+len(path))
	info = append(info, fileKeyLabel...)
	info = append(info, header...)
	info = append(info, path...)
	var key [FileKeySize]byte
	if _, err := io.ReadFull(hkdf.New(sha256.New, contentKey, nil, info), key[:]); err != nil {
		return key, fmt.Errorf("deriving file key: %w", err)
	}
	return key, nil
}
