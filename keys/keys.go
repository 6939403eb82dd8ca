// Package keys is efs's key hierarchy (docs/FORMAT.md, "Key hierarchy" and
// "Config"): the random master key and its recovery form, the key-encryption
// key argon2id derives from the password, the AES-SIV wrap of the master key
// under it, and the HKDF-SHA256 subkeys, one per purpose, that the naming
// and content layers use. Every key lives in locked memory
// (internal/secret) and has a Wipe method.
//
// The config file that stores the wrapped key and the argon2id parameters is
// package config; this package knows nothing of its text.
package keys

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/efs-project/efs/internal/secret"
)

// MasterKeySize is the length of the random master key.
const MasterKeySize = 32

// HKDF labels of the subkeys (docs/FORMAT.md, "Key hierarchy"). Each subkey
// is HKDF-SHA256(ikm = master key, salt = empty, info = label).
const (
	labelName    = "efs-v1 names"
	labelSymlink = "efs-v1 symlinks"
	labelContent = "efs-v1 content"
	labelFileID  = "efs-v1 file-id"
	labelInode   = "efs-v1 inode"
	labelConfig  = "efs-v1 config mac"
)

// ErrMasterKeyFormat means a --masterkey value is not 64 hex digits.
var ErrMasterKeyFormat = errors.New("master key must be 64 hexadecimal digits (dashes and spaces allowed)")

// MasterKey is the unwrapped master key, held in locked memory. Call Wipe
// when done with it.
type MasterKey struct{ s *secret.Secret }

func newMasterKey() *MasterKey { return &MasterKey{s: secret.New(MasterKeySize)} }

// GenerateMasterKey returns a fresh random master key (for efs init).
func GenerateMasterKey() (*MasterKey, error) {
	mk := newMasterKey()
	if _, err := rand.Read(mk.s.Bytes()); err != nil {
		mk.Wipe()
		return nil, fmt.Errorf("reading random master key: %w", err)
	}
	return mk, nil
}

// ParseMasterKey reads the recovery form printed by efs init (hex, with
// optional dashes or spaces).
func ParseMasterKey(s string) (*MasterKey, error) {
	b := []byte(s)
	defer clear(b)
	return ParseMasterKeyBytes(b)
}

// ParseMasterKeyBytes is ParseMasterKey for a key read from a file or a
// pipe: it decodes straight into locked memory, with no copy of its own.
// Dashes, spaces, tabs and line ends are ignored.
func ParseMasterKeyBytes(b []byte) (*MasterKey, error) {
	mk := newMasterKey()
	out := mk.s.Bytes()
	n := 0 // hex digits decoded
	for _, c := range b {
		var v byte
		switch {
		case c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			mk.Wipe()
			return nil, ErrMasterKeyFormat
		}
		if n == 2*MasterKeySize {
			mk.Wipe()
			return nil, ErrMasterKeyFormat
		}
		out[n/2] |= v << (4 * (1 - n%2))
		n++
	}
	if n != 2*MasterKeySize {
		mk.Wipe()
		return nil, ErrMasterKeyFormat
	}
	return mk, nil
}

// Recovery returns the key as eight dash-separated groups of 8 hex digits,
// the form efs init prints once.
func (mk *MasterKey) Recovery() string {
	h := hex.EncodeToString(mk.s.Bytes())
	groups := make([]string, 0, 8)
	for i := 0; i < len(h); i += 8 {
		groups = append(groups, h[i:i+8])
	}
	return strings.Join(groups, "-")
}

// Wipe zeroes and releases the key.
func (mk *MasterKey) Wipe() {
	if mk != nil {
		mk.s.Wipe()
	}
}

// Keys are the subkeys derived from the master key, one per purpose, in
// locked memory. Call Wipe when done.
type Keys struct {
	s *secret.Secret
}

// Subkey lengths and offsets inside Keys.
const (
	nameKeyLen    = 64
	symlinkKeyLen = 64
	contentKeyLen = 32
	fileIDKeyLen  = 32
	inodeKeyLen   = 32
	configKeyLen  = 32
	keysLen       = nameKeyLen + symlinkKeyLen + contentKeyLen + fileIDKeyLen + inodeKeyLen + configKeyLen
)

// Derive computes all subkeys of the master key. The master key passes
// through one HKDF extract, whose state is wiped (hmac.go).
func (mk *MasterKey) Derive() (*Keys, error) {
	k := &Keys{s: secret.New(keysLen)}
	labels := []string{labelName, labelSymlink, labelContent, labelFileID, labelInode, labelConfig}
	lens := []int{nameKeyLen, symlinkKeyLen, contentKeyLen, fileIDKeyLen, inodeKeyLen, configKeyLen}
	outs := make([][]byte, len(labels))
	off := 0
	for i, n := range lens {
		outs[i] = k.s.Bytes()[off : off+n]
		off += n
	}
	hkdf(mk.s.Bytes(), labels, outs)
	return k, nil
}

func (k *Keys) slice(off, n int) []byte { return k.s.Bytes()[off : off+n : off+n] }

// Name is the 64-byte AES-SIV key for file names.
func (k *Keys) Name() []byte { return k.slice(0, nameKeyLen) }

// Symlink is the 64-byte AES-SIV key for symlink targets.
func (k *Keys) Symlink() []byte { return k.slice(nameKeyLen, symlinkKeyLen) }

// Content is the 32-byte input key for per-file content keys.
func (k *Keys) Content() []byte { return k.slice(nameKeyLen+symlinkKeyLen, contentKeyLen) }

// FileID is the 32-byte HMAC key for file IDs.
func (k *Keys) FileID() []byte {
	return k.slice(nameKeyLen+symlinkKeyLen+contentKeyLen, fileIDKeyLen)
}

// Inode is the 32-byte HMAC key for the reverse view's inode numbers, which
// must be stable but must not let anyone confirm a guessed path.
func (k *Keys) Inode() []byte {
	return k.slice(nameKeyLen+symlinkKeyLen+contentKeyLen+fileIDKeyLen, inodeKeyLen)
}

// ConfigMAC is the 32-byte HMAC key that authenticates the config fields.
func (k *Keys) ConfigMAC() []byte {
	return k.slice(keysLen-configKeyLen, configKeyLen)
}

// Wipe zeroes and releases the subkeys.
func (k *Keys) Wipe() {
	if k != nil {
		k.s.Wipe()
	}
}
