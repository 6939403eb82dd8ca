package record

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/efs-project/efs/content"
)

// fileIDLabel starts the input of a record's file ID.
const fileIDLabel = "efs-v2 record\x00"

// ErrNotAuthentic means a stored record failed authentication: changed,
// cut, grown, moved from another directory or made with another key (rule
// record-auth).
var ErrNotAuthentic = errors.New("directory record failed authentication")

// FileID is a record's file ID, a keyed hash of its directory's path and
// its whole plaintext:
//
//	HMAC-SHA256(file_id_key, "efs-v2 record\0" || uint64be(len(dirPath)) || dirPath || plain)[:16]
//
// The ID is in the header and so in the record key: two versions of a
// record have unrelated keys, and blocks of one never open in the other.
func FileID(fileIDKey []byte, dirPath string, plain []byte) [FileIDSize]byte {
	mac := hmac.New(sha256.New, fileIDKey)
	mac.Write([]byte(fileIDLabel))
	mac.Write(binary.BigEndian.AppendUint64(nil, uint64(len(dirPath))))
	mac.Write([]byte(dirPath))
	mac.Write(plain)
	var id [FileIDSize]byte
	copy(id[:], mac.Sum(nil))
	return id
}

// Keys are what sealing and opening a record need.
type Keys struct {
	Content, FileID []byte
	BlockSize       int
	// Padded: the tree pads its streams (config flag padme), records
	// too, whose sizes would tell entry counts otherwise.
	Padded bool
}

// Sealed is a record as the view shows it: its ciphertext, computed block
// by block on demand from the plaintext.
type Sealed struct {
	f     *content.File
	plain *bytes.Reader
	n     int64
	id    [FileIDSize]byte
}

// Seal prepares the view bytes of the record of the directory at dirPath
// whose plaintext is plain (which Sealed keeps and reads).
func Seal(k Keys, dirPath string, plain []byte) (*Sealed, error) {
	id := FileID(k.FileID, dirPath, plain)
	h, err := content.NewHeader(id, k.BlockSize)
	if err != nil {
		return nil, err
	}
	h.Flags = content.FlagRecord
	if k.Padded {
		h.Flags |= content.FlagPadded
	}
	f, err := content.NewRecord(k.Content, h, dirPath)
	if err != nil {
		return nil, err
	}
	return &Sealed{f: f, plain: bytes.NewReader(plain), n: int64(len(plain)), id: id}, nil
}

// Size is the record's view size.
func (s *Sealed) Size() int64 { return s.f.CipherSize(s.n) }

// FileID is the record's file ID.
func (s *Sealed) FileID() [FileIDSize]byte { return s.id }

// MtimeSec is the modification time the view shows for the record: a
// function of its file ID, so it changes exactly when the record's bytes
// do (what rsync's and rclone's quick checks need) and says nothing about
// the times of the entries. 2000-01-01 plus up to 2^30 seconds.
func (s *Sealed) MtimeSec() int64 { return ViewTime(s.id[:]) }

// ViewTime maps a keyed digest to a view mtime in seconds: 2000-01-01 plus
// the low 30 bits of its first four bytes, so up to 2034-01-10, a
// plausible time every file system and sync tool stores. Records and
// hidden metadata's pseudo-mtimes (docs/FORMAT.md) both use it.
func ViewTime(digest []byte) int64 {
	return 946684800 + int64(binary.BigEndian.Uint32(digest[:4])&(1<<30-1))
}

// ReadAt reads view bytes of the record.
func (s *Sealed) ReadAt(p []byte, off int64) (int, error) {
	return s.f.EncryptAt(p, off, s.n, s.plain)
}

// Wipe zeroes the record key.
func (s *Sealed) Wipe() { s.f.Wipe() }

// Open authenticates the stored record of the directory at dirPath (size
// bytes read from src) and returns a reader of its plaintext, which
// authenticates block by block as it goes: feed it to NewDecoder. Every
// failure is an ErrNotAuthentic.
func Open(k Keys, dirPath string, src io.ReaderAt, size int64) (io.Reader, error) {
	var hb [content.HeaderSize]byte
	if _, err := src.ReadAt(hb[:], 0); err != nil && !(errors.Is(err, io.EOF) && size >= content.HeaderSize) {
		return nil, fmt.Errorf("%w: reading its header: %w", ErrNotAuthentic, err)
	}
	h, err := content.ParseHeader(hb[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotAuthentic, err)
	}
	if h.BlockSize() != k.BlockSize {
		return nil, fmt.Errorf("%w: block size %d, the config says %d", ErrNotAuthentic, h.BlockSize(), k.BlockSize)
	}
	if err := h.CheckPadded(k.Padded); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotAuthentic, err)
	}
	f, err := content.NewRecord(k.Content, h, dirPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotAuthentic, err)
	}
	r, err := f.Open(size, src) // a padded record's trailer, checked
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotAuthentic, err)
	}
	return &opened{f: f, r: r, src: src, csize: size, n: r.Size()}, nil
}

// opened reads a record's plaintext in chunks of whole blocks.
type opened struct {
	f     *content.File
	r     *content.Reader
	src   io.ReaderAt
	csize int64
	n     int64
	off   int64
}

func (o *opened) Read(p []byte) (int, error) {
	if o.off < 0 {
		return 0, io.EOF
	}
	if o.n == 0 && o.off == 0 {
		// An empty record still has its empty final block to check
		// (or, padded, its padding).
		o.off = -1
		if _, err := o.f.DecryptAt(nil, 0, o.csize, o.src); err != io.EOF {
			return 0, fmt.Errorf("%w: %w", ErrNotAuthentic, err)
		}
		return 0, o.end()
	}
	if o.off >= o.n {
		o.off = -1
		return 0, o.end()
	}
	if max := int64(64 * o.f.BlockSize()); int64(len(p)) > max {
		p = p[:max]
	}
	got, err := o.r.ReadAt(p, o.off)
	o.off += int64(got)
	if err != nil && err != io.EOF {
		return got, fmt.Errorf("%w: %w", ErrNotAuthentic, err)
	}
	if got == 0 {
		o.off = -1
		return 0, o.end()
	}
	return got, nil
}

// end is the end of the record's plaintext: io.EOF once the blocks past
// it, a padded record's padding, authenticate and check.
func (o *opened) end() error {
	if err := o.r.CheckPadding(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotAuthentic, err)
	}
	return io.EOF
}

// linkGroupLabel starts the input of a hard-link group ID.
const linkGroupLabel = "efs-v2 link group\x00"

// LinkGroup is the hard-link group of a regular file with more than one
// link, the same for every name of it:
//
//	HMAC-SHA256(file_id_key, "efs-v2 link group\0" || uint64be(dev) || uint64be(ino))[:16]
//
// dev is 0 for a file on the device of the tree's root (whose number may
// change across reboots) and st_dev otherwise; ino is st_ino.
func LinkGroup(fileIDKey []byte, dev, ino uint64) [LinkIDSize]byte {
	mac := hmac.New(sha256.New, fileIDKey)
	b := append([]byte(linkGroupLabel), make([]byte, 16)...)
	binary.BigEndian.PutUint64(b[len(linkGroupLabel):], dev)
	binary.BigEndian.PutUint64(b[len(linkGroupLabel)+8:], ino)
	mac.Write(b)
	var id [LinkIDSize]byte
	copy(id[:], mac.Sum(nil))
	return id
}
