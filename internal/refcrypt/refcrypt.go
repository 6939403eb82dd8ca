//go:build unix

// Package refcrypt is the reference encryptor of efs's tests: it writes the
// ciphertext view of a plaintext tree as docs/FORMAT.md specifies it, from
// the primitives the format names (HKDF-SHA256, HMAC-SHA256, AES-SIV,
// Argon2id, base32, base64url, SHA-256), and never calls efs's config,
// content, naming, reverse or forward packages. That independence is its
// point: tests require efs reverse and efs export to write what it writes,
// byte for byte, and efs mount, restore and fsck to read it, so a misreading
// of the spec shared by efs's encrypting and decrypting sides, which a round
// trip cannot see, fails there.
//
// It is test code: keys live in ordinary memory and nothing is fast.
package refcrypt

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/BurntSushi/toml"
	"github.com/miscreant/miscreant.go"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/hkdf"
	"golang.org/x/sys/unix"
)

// Names FORMAT.md gives to the files that are not encrypted entries.
const (
	// PlainConfig is the config's name in the root of the plaintext tree.
	PlainConfig = ".efs.toml"
	// ViewConfig is its name in the root of the view.
	ViewConfig = "efs.toml"
	// LongPrefix starts the stand-in of an entry whose name is too long
	// (format v2); LongPrefixV1 is v1's.
	LongPrefix   = "efs.l."
	LongPrefixV1 = "efs.L."
	// RecordName is the directory record of every v2 view directory.
	RecordName = "efs.dir"
	// CompanionSuffix ends the stand-in's companion, which holds the name.
	CompanionSuffix = ".name"
)

var (
	b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	b64 = base64.RawURLEncoding
)

// Settings are the config's format fields, spelled as in the config file.
type Settings struct {
	Version      int    // 1 or 2
	NameEncoding string // "base32" or "base64"
	NameMax      int
	BlockSize    int
	FileID       string // "inode", "path", or (v2) "version"
	Flags        int    // (v2) bit 0: padding = padme; bit 1: hidden metadata
}

// padded tells whether the streams are padded (FORMAT.md, "Padding").
func (s Settings) padded() bool { return s.Flags&flagPadme != 0 }

// hideMetadata tells whether the view shows uniform modes and pseudo-mtimes
// (FORMAT.md, "Hidden metadata").
func (s Settings) hideMetadata() bool { return s.Flags&flagHideMetadata != 0 }

func (s Settings) check() error {
	switch {
	case s.NameEncoding != "base32" && s.NameEncoding != "base64":
		return fmt.Errorf("name encoding %q is neither base32 nor base64", s.NameEncoding)
	case s.Version != 1 && s.Version != 2:
		return fmt.Errorf("format version %d is neither 1 nor 2", s.Version)
	case s.FileID != "inode" && s.FileID != "path" && (s.FileID != "version" || s.Version < 2):
		return fmt.Errorf("file ID mode %q is not one of format v%d", s.FileID, s.Version)
	case s.NameMax < 63 || s.NameMax > 255:
		return fmt.Errorf("name_max %d is outside 63…255", s.NameMax)
	case blockShift(s.BlockSize) < 0:
		return fmt.Errorf("block size %d is not a power of two in 4096…1048576", s.BlockSize)
	case s.Flags&^(flagPadme|flagHideMetadata) != 0 || s.Flags != 0 && s.Version < 2:
		return fmt.Errorf("flags %d are not ones this reference knows in format v%d", s.Flags, s.Version)
	}
	return nil
}

// blockShift is log2(bs) for a legal block size, else -1.
func blockShift(bs int) int {
	for shift := 12; shift <= 20; shift++ {
		if bs == 1<<shift {
			return shift
		}
	}
	return -1
}

// Keys are the subkeys that writing a view needs (FORMAT.md, "Key
// hierarchy").
type Keys struct {
	name, symlink, content, fileID []byte
}

// NewKeys derives the subkeys from a 32-byte master key.
func NewKeys(masterKey []byte) (*Keys, error) {
	if len(masterKey) != 32 {
		return nil, fmt.Errorf("master key has %d bytes, want 32", len(masterKey))
	}
	return &Keys{
		name:    subkey(masterKey, "efs-v1 names", 64),
		symlink: subkey(masterKey, "efs-v1 symlinks", 64),
		content: subkey(masterKey, "efs-v1 content", 32),
		fileID:  subkey(masterKey, "efs-v1 file-id", 32),
	}, nil
}

// subkey is HKDF-SHA256(ikm, salt = empty, info, n).
func subkey(ikm []byte, info string, n int) []byte {
	k := make([]byte, n)
	if _, err := io.ReadFull(hkdf.New(sha256.New, ikm, nil, []byte(info)), k); err != nil {
		panic("internal error: HKDF cannot give " + fmt.Sprint(n) + " bytes: " + err.Error())
	}
	return k
}

func hmacSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// sivSeal is AES-SIV(key, AD = ad, plain): one associated-data component,
// possibly empty, and no nonce.
func sivSeal(key, ad, plain []byte) ([]byte, error) {
	c, err := miscreant.NewAESCMACSIV(key)
	if err != nil {
		return nil, err
	}
	return c.Seal(nil, plain, ad)
}

// configFile is every field of the config (FORMAT.md, "Config").
type configFile struct {
	Version      int    `toml:"version"`
	Creator      string `toml:"creator"`
	NameEncoding string `toml:"name_encoding"`
	NameMax      int    `toml:"name_max"`
	BlockSize    int    `toml:"block_size"`
	FileID       string `toml:"file_id"`
	Flags        int    `toml:"flags"`
	KDF          struct {
		Algorithm string `toml:"algorithm"`
		Salt      string `toml:"salt"`
		Time      uint32 `toml:"time"`
		MemoryKiB uint32 `toml:"memory_kib"`
		Threads   uint8  `toml:"threads"`
	} `toml:"kdf"`
	Key struct {
		Wrapped string `toml:"wrapped"`
		MAC     string `toml:"mac"`
	} `toml:"key"`
}

// ErrWrongPassword means the wrapped master key did not open with the
// password.
var ErrWrongPassword = errors.New("wrong password")

// ErrAltered means the config's MAC does not match its fields.
var ErrAltered = errors.New("config MAC does not match its fields")

// Unlock opens a config file (its bytes) with password as FORMAT.md,
// "Unlocking", describes, and returns the keys and settings it holds.
func Unlock(config, password []byte) (*Keys, Settings, error) {
	var f configFile
	md, err := toml.Decode(string(config), &f)
	if err != nil {
		return nil, Settings{}, fmt.Errorf("parsing the config: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, Settings{}, fmt.Errorf("config has unknown fields %v", und)
	}
	if f.Version != 1 && f.Version != 2 || f.KDF.Algorithm != "argon2id" {
		return nil, Settings{}, fmt.Errorf("config is not format v1 or v2 with argon2id")
	}
	s := Settings{Version: f.Version, NameEncoding: f.NameEncoding, NameMax: f.NameMax, BlockSize: f.BlockSize, FileID: f.FileID, Flags: f.Flags}
	if err := s.check(); err != nil {
		return nil, Settings{}, err
	}
	// Canonical padded base64 only (FORMAT.md, Conventions): decode, then
	// re-encode and compare, since Go skips line breaks when decoding.
	decode := func(v string) ([]byte, error) {
		b, err := base64.StdEncoding.Strict().DecodeString(v)
		if err == nil && base64.StdEncoding.EncodeToString(b) != v {
			err = errors.New("not canonical base64")
		}
		return b, err
	}
	salt, err := decode(f.KDF.Salt)
	if err != nil {
		return nil, Settings{}, fmt.Errorf("kdf.salt: %w", err)
	}
	wrapped, err := decode(f.Key.Wrapped)
	if err != nil {
		return nil, Settings{}, fmt.Errorf("key.wrapped: %w", err)
	}
	mac, err := decode(f.Key.MAC)
	if err != nil {
		return nil, Settings{}, fmt.Errorf("key.mac: %w", err)
	}
	kek := argon2.IDKey(password, salt, f.KDF.Time, f.KDF.MemoryKiB, f.KDF.Threads, 64)
	c, err := miscreant.NewAESCMACSIV(kek)
	if err != nil {
		return nil, Settings{}, err
	}
	mk, err := c.Open(nil, wrapped, []byte("efs-v1 master key"))
	if err != nil || len(mk) != 32 {
		return nil, Settings{}, ErrWrongPassword
	}
	canonical := fmt.Sprintf("efs-v1 config\nversion=%d\nname_encoding=%s\nname_max=%d\nblock_size=%d\nfile_id=%s\nflags=%d\n",
		s.Version, s.NameEncoding, s.NameMax, s.BlockSize, s.FileID, s.Flags)
	if !hmac.Equal(mac, hmacSHA256(subkey(mk, "efs-v1 config mac", 32), []byte(canonical))) {
		return nil, Settings{}, ErrAltered
	}
	keys, err := NewKeys(mk)
	return keys, s, err
}

// entryName is the view name of the entry name inside the directory at
// path parent, and the companion content when that name is a stand-in
// (FORMAT.md, "Names" and "Long names"); companion is empty otherwise.
func (k *Keys) entryName(s Settings, parent, name string) (view, companion string, err error) {
	ct, err := sivSeal(k.name, []byte(parent), []byte(name))
	if err != nil {
		return "", "", err
	}
	full := b32.EncodeToString(ct)
	if s.NameEncoding == "base64" {
		full = b64.EncodeToString(ct)
	}
	if len(full) <= s.NameMax {
		return full, "", nil
	}
	sum := sha256.Sum256([]byte(full))
	prefix := LongPrefix
	if s.Version == 1 {
		prefix = LongPrefixV1
	}
	return prefix + b32.EncodeToString(sum[:]), full, nil
}

// symlinkTarget is the stored target of the symlink at path link
// (FORMAT.md, "Symlinks"): in v2 a target whose encryption would not fit
// PATH_MAX is stored as its stand-in.
func (k *Keys) symlinkTarget(s Settings, link, target string) (string, error) {
	ct, err := sivSeal(k.symlink, []byte(link), []byte(target))
	if err != nil {
		return "", err
	}
	enc := b64.EncodeToString(ct)
	if len(enc) > 4095 {
		if s.Version == 1 {
			return "", errors.New("symlink target too long for format v1")
		}
		sum := sha256.Sum256(ct)
		return "efs.t." + b32.EncodeToString(sum[:]), nil
	}
	return enc, nil
}

// fileID is the file ID of the regular file at path with stat st
// (FORMAT.md, "File ID").
func (k *Keys) fileIDFor(mode string, st *unix.Stat_t, path string) []byte {
	be := binary.BigEndian
	switch mode {
	case "path":
		return hmacSHA256(k.fileID, []byte("efs-v1 file-id path\x00"), []byte(path))[:16]
	case "version":
		b := be.AppendUint64(nil, st.Ino)
		b = be.AppendUint64(b, uint64(st.Mtim.Sec))
		b = be.AppendUint32(b, uint32(st.Mtim.Nsec))
		b = be.AppendUint64(b, uint64(st.Size))
		return hmacSHA256(k.fileID, []byte("efs-v2 file-id version\x00"), b, []byte(path))[:16]
	}
	return hmacSHA256(k.fileID, []byte("efs-v1 file-id inode\x00"), be.AppendUint64(nil, st.Ino), []byte(path))[:16]
}

// header is the 24-byte content header (FORMAT.md, "Header"); flags is 0
// for a file, 2 for a directory record, plus 1 for a padded one.
func header(id []byte, blockSize int, flags byte) []byte {
	return append([]byte{'E', 'F', 'S', 1, flags, byte(blockShift(blockSize)), 0, 0}, id...)
}

// sealFile writes to w the ciphertext of the size plaintext bytes read from
// r, for the file at path with file ID id (FORMAT.md, "File key" and
// "Blocks").
func (k *Keys) sealFile(w io.Writer, r io.Reader, size int64, blockSize int, id []byte, flags byte, path string) error {
	return k.seal(w, r, size, blockSize, id, flags, flags, "efs-v1 file key\x00", path)
}

// padme is Padmé(L) of FORMAT.md, "Padding": E = floor(log2 L),
// S = floor(log2 E) + 1, L rounded up to a multiple of 2^(E−S).
func padme(L int64) int64 {
	e := 0
	for x := L; x > 1; x >>= 1 {
		e++
	}
	s := 0
	for x := e; x > 0; x >>= 1 {
		s++
	}
	mask := int64(1)<<(e-s) - 1
	return (L + mask) &^ mask
}

// seal is sealFile for files (flags 0) and records (flags 2, FORMAT.md
// "Sealing"), whose keys have different labels; flag 1 pads the stream:
// the data, zeros up to Padmé(size + 8) − 8 bytes, uint64be(size).
// pad is flags unless the stream comes padded already (SealStream).
func (k *Keys) seal(w io.Writer, r io.Reader, size int64, blockSize int, id []byte, pad, flags byte, label, path string) error {
	if pad&1 != 0 {
		p := padme(size + 8)
		trailer := binary.BigEndian.AppendUint64(nil, uint64(size))
		r = io.MultiReader(io.LimitReader(r, size), bytes.NewReader(make([]byte, p-size-8)), bytes.NewReader(trailer))
		size = p
	}
	hdr := header(id, blockSize, flags)
	info := append(append([]byte(label), hdr...), path...)
	c, err := miscreant.NewAESCMACSIV(subkey(k.content, string(info), 64))
	if err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	bs := int64(blockSize)
	n := max(1, (size+bs-1)/bs)
	block := make([]byte, bs)
	ad := make([]byte, 9)
	for i := int64(0); i < n; i++ {
		p := block[:min(bs, size-i*bs)]
		if _, err := io.ReadFull(r, p); err != nil {
			return fmt.Errorf("reading block %d: %w", i, err)
		}
		binary.BigEndian.PutUint64(ad, uint64(i))
		ad[8] = 0
		if i == n-1 {
			ad[8] = 1
		}
		ct, err := c.Seal(nil, p, ad)
		if err != nil {
			return err
		}
		if _, err := w.Write(ct); err != nil {
			return err
		}
	}
	return nil
}

// OpenFile decrypts the whole ciphertext ct of the regular file at
// plaintext path path (FORMAT.md, "Content"), block by block from the
// spec: a test's independent check of what a view or export holds. It
// fails on a bad header, a size the mapping cannot produce, or any block
// that does not authenticate.
//
// A padded file (header flags 1) is read as padded: its padding must be
// zeros and its trailer give a size that pads to the stream's length.
func (k *Keys) OpenFile(path string, ct []byte) ([]byte, error) {
	return k.open(path, ct, 0, "efs-v1 file key\x00")
}

// OpenRecord decrypts the whole ciphertext ct of the directory record of
// the directory at plaintext path dir (FORMAT.md, "Sealing"), like OpenFile.
func (k *Keys) OpenRecord(dir string, ct []byte) ([]byte, error) {
	return k.open(dir, ct, 2, "efs-v2 record key\x00")
}

func (k *Keys) open(path string, ct []byte, flags byte, label string) ([]byte, error) {
	const headerSize, overhead = 24, 16
	if len(ct) < headerSize+overhead || string(ct[:3]) != "EFS" || ct[3] != 1 || ct[4]&^1 != flags || ct[6] != 0 || ct[7] != 0 {
		return nil, errors.New("not the content header of a file, or of a record, as expected")
	}
	shift := int(ct[5])
	if shift < 12 || shift > 20 {
		return nil, fmt.Errorf("block shift %d is out of range", shift)
	}
	bs := 1 << shift
	info := append(append([]byte(label), ct[:headerSize]...), path...)
	c, err := miscreant.NewAESCMACSIV(subkey(k.content, string(info), 64))
	if err != nil {
		return nil, err
	}
	body := ct[headerSize:]
	cbs := bs + overhead
	n := (len(body) + cbs - 1) / cbs
	if rem := len(body) % cbs; rem != 0 && rem < overhead || rem == overhead && n > 1 {
		return nil, errors.New("ciphertext size maps to no plaintext size")
	}
	var out []byte
	ad := make([]byte, 9)
	for i := 0; i < n; i++ {
		b := body[i*cbs : min((i+1)*cbs, len(body))]
		binary.BigEndian.PutUint64(ad, uint64(i))
		ad[8] = 0
		if i == n-1 {
			ad[8] = 1
		}
		p, err := c.Open(nil, b, ad)
		if err != nil {
			return nil, fmt.Errorf("block %d does not authenticate", i)
		}
		out = append(out, p...)
	}
	if ct[4]&1 == 0 {
		return out, nil
	}
	p := int64(len(out))
	if p < 8 || padme(p) != p {
		return nil, fmt.Errorf("a padded stream of %d bytes: no Padmé value", p)
	}
	size := binary.BigEndian.Uint64(out[p-8:])
	if size > uint64(p-8) || padme(int64(size)+8) != p {
		return nil, fmt.Errorf("the trailer says %d bytes, which do not pad to %d", size, p)
	}
	if !bytes.Equal(out[size:p-8], make([]byte, p-8-int64(size))) {
		return nil, errors.New("a padding byte is not zero")
	}
	return out[:size], nil
}

// SealStream writes the ciphertext of the file at path whose stream is
// exactly stream: with flags 1 it is taken as the padded stream, as it is,
// so a test can seal padding that efs never writes (a non-zero padding
// byte, a wrong trailer) and check that readers refuse it.
func (k *Keys) SealStream(w io.Writer, stream []byte, blockSize int, id []byte, flags byte, path string) error {
	return k.seal(w, bytes.NewReader(stream), int64(len(stream)), blockSize, id, flags&^1, flags, "efs-v1 file key\x00", path)
}
