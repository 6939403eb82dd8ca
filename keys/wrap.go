package keys

import (
	"errors"
	"fmt"

	"github.com/efs-project/efs/internal/secret"
	"github.com/miscreant/miscreant.go"
	"golang.org/x/crypto/argon2"
)

const (
	// KEKSize is the length of the key-encryption key: an
	// AES-SIV-CMAC-256 key.
	KEKSize = 64
	// WrappedSize is the length of a wrapped master key: the 16-byte
	// synthetic IV and the encrypted key.
	WrappedSize = MasterKeySize + 16

	wrapLabel = "efs-v1 master key" // AES-SIV associated data
)

// ErrUnwrap means a KEK does not open a wrapped master key: the password
// is wrong, or the wrapped key was altered.
var ErrUnwrap = errors.New("the key does not unwrap the master key")

// KEK is the key-encryption key that wraps the master key in the config,
// held in locked memory. Call Wipe when done.
type KEK struct{ s *secret.Secret }

// PasswordKEK derives the KEK from password with argon2id. The parameters
// come from the config, which checks their ranges (argon2 panics on zero
// threads).
func PasswordKEK(password, salt []byte, time, memoryKiB uint32, threads uint8) *KEK {
	k := &KEK{s: secret.New(KEKSize)}
	key := argon2.IDKey(password, salt, time, memoryKiB, threads, KEKSize)
	copy(k.s.Bytes(), key)
	clear(key)
	return k
}

// Wrap encrypts mk with AES-SIV under the KEK. SIV is deterministic: the
// same KEK and master key always give the same WrappedSize bytes.
func (k *KEK) Wrap(mk *MasterKey) ([]byte, error) {
	siv, err := miscreant.NewAESCMACSIV(k.s.Bytes())
	if err != nil {
		return nil, fmt.Errorf("key wrapping: %w", err)
	}
	wrapped, err := siv.Seal(nil, mk.s.Bytes(), []byte(wrapLabel))
	if err != nil {
		return nil, fmt.Errorf("key wrapping: %w", err)
	}
	return wrapped, nil
}

// Unwrap authenticates and decrypts a wrapped master key straight into
// locked memory. Any failure is ErrUnwrap.
func (k *KEK) Unwrap(wrapped []byte) (*MasterKey, error) {
	if len(wrapped) != WrappedSize {
		// Also keeps Open from growing the buffer onto the heap.
		return nil, ErrUnwrap
	}
	siv, err := miscreant.NewAESCMACSIV(k.s.Bytes())
	if err != nil {
		return nil, fmt.Errorf("key wrapping: %w", err)
	}
	mk := newMasterKey()
	plain, err := siv.Open(mk.s.Bytes()[:0], wrapped, []byte(wrapLabel))
	if err != nil || len(plain) != MasterKeySize {
		mk.Wipe()
		return nil, ErrUnwrap
	}
	return mk, nil
}

// Wipe zeroes and releases the KEK.
func (k *KEK) Wipe() {
	if k != nil {
		k.s.Wipe()
	}
}
