package content

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"
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
	return deriveFileID(&keyedMAC{h: hmac.New(sha256.New, fileIDKey)}, mode, v, path)
}

// FileIDs derives file IDs as DeriveFileID does, under one key and mode,
// for a caller that derives one per file of a tree: it reuses keyed HMAC
// states, so that a derivation costs no allocation and two SHA-256 blocks
// fewer (the keyed pads' blocks) than keying a new HMAC. The states, like
// those of crypto/hmac anywhere, hold key-dependent values on the heap
// until the garbage collector takes them. Safe for concurrent use.
type FileIDs struct {
	mode FileIDMode
	macs macPool
}

// NewFileIDs prepares file-ID derivation under fileIDKey, which must stay
// valid while f is used.
func NewFileIDs(fileIDKey []byte, mode FileIDMode) *FileIDs {
	f := &FileIDs{mode: mode}
	f.macs.key(fileIDKey)
	return f
}

// Derive is DeriveFileID(fileIDKey, mode, v, path).
func (f *FileIDs) Derive(v FileVersion, path string) [FileIDSize]byte {
	m := f.macs.get()
	defer f.macs.put(m)
	return deriveFileID(m, f.mode, v, path)
}

// macPool reuses HMAC-SHA256 states keyed with one key, each with the
// buffers of one computation (keyedMAC), for FileIDs and FileKeys: a
// derivation then allocates nothing and skips the two SHA-256 blocks of
// keying a new HMAC. Like every crypto/hmac state, the pooled ones hold
// key-dependent values on the heap until the garbage collector takes them.
type macPool struct {
	pool sync.Pool // *keyedMAC
}

// maxKeptInput bounds the input buffer a pooled state keeps: a path and
// a label fit, a hostile path's growth is dropped.
const maxKeptInput = 4096 + 128

// key makes the pool's states keyed with key, which must stay valid while
// the pool is used.
func (p *macPool) key(key []byte) {
	p.pool.New = func() any { return &keyedMAC{h: hmac.New(sha256.New, key)} }
}

// get returns a reset state.
func (p *macPool) get() *keyedMAC {
	m := p.pool.Get().(*keyedMAC)
	m.h.Reset()
	return m
}

func (p *macPool) put(m *keyedMAC) {
	if cap(m.in) > maxKeptInput {
		m.in = nil
	}
	p.pool.Put(m)
}

// keyedMAC is a keyed HMAC and the buffers of one derivation, kept
// together so that none escapes to the heap per call.
type keyedMAC struct {
	h   hash.Hash
	in  []byte
	sum [sha256.Size]byte
}

// deriveFileID computes the file ID of v at path with m, reset, as
// DeriveFileID documents.
func deriveFileID(m *keyedMAC, mode FileIDMode, v FileVersion, path string) [FileIDSize]byte {
	mac := m.h
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
	m.in = b
	mac.Write(b)
	var id [FileIDSize]byte
	copy(id[:], mac.Sum(m.sum[:0]))
	return id
}

// FileKeys derives the per-file AES-SIV keys under one content key:
//
//	HKDF-SHA256(ikm = contentKey, salt = empty, info = label || header || path), 64 bytes
//
// with label "efs-v1 file key\0" for files and "efs-v2 record key\0" for
// directory records (path is then the directory's).
// The whole header (version, flags, block size, file ID) and the path are
// bound to the key, so a changed header or content moved to another path
// fails authentication in every block.
//
// HKDF's extract step depends on the content key alone, so it is done once
// here, and the expand step's HMAC, keyed with its result, is reused: a
// file's key costs two HMAC-SHA256 computations and no allocation, where
// a fresh HKDF made about 19 allocations and five more SHA-256 blocks per
// file (a quarter of the reverse view's allocations in an rsync of small
// files went to file keys). Like FileIDs, the pooled states hold
// key-dependent values on the heap until the garbage collector takes them
// (the output blocks are cleared). Safe for concurrent use.
type FileKeys struct {
	macs macPool // keyed with the PRK
}

// NewFileKeys prepares file-key derivation under contentKey.
func NewFileKeys(contentKey []byte) *FileKeys {
	prk := hmac.New(sha256.New, make([]byte, sha256.Size)) // an empty salt is HashLen zeros
	prk.Write(contentKey)
	k := &FileKeys{}
	k.macs.key(prk.Sum(nil))
	return k
}

// derive computes the key of the file or record at path with header.
func (k *FileKeys) derive(label string, header []byte, path string) [FileKeySize]byte {
	m := k.macs.get()
	defer k.macs.put(m)
	// HKDF-Expand (RFC 5869) for two hash lengths:
	// T(1) = HMAC(PRK, info || 1), T(2) = HMAC(PRK, T(1) || info || 2).
	// The counter byte ends the buffer (a byte slice of its own would
	// escape through the hash.Hash interface: an allocation per write).
	in := append(m.in[:0], label...)
	in = append(in, header...)
	in = append(in, path...)
	in = append(in, 1)
	m.in = in
	var key [FileKeySize]byte
	m.h.Write(in)
	t1 := m.h.Sum(m.sum[:0])
	copy(key[:sha256.Size], t1)
	m.h.Reset()
	m.h.Write(t1)
	in[len(in)-1] = 2
	m.h.Write(in)
	copy(key[sha256.Size:], m.h.Sum(m.sum[:0]))
	clear(m.sum[:])
	return key
}
