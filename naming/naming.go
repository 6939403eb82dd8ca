// Package naming encrypts and decrypts file names and symlink targets for
// efs format v1 (docs/FORMAT.md, "Names" and "Symlinks"), encodes them for
// the ciphertext view (lowercase base32 or base64url, both unpadded), and
// implements the long-name scheme. Decoders reject anything malformed with
// an error and never panic; errors never contain plaintext.
package naming

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/efs-project/efs/internal/siv"
)

// Names efs itself places in the ciphertext view. Neither encoding alphabet
// contains '.', so no encrypted name can ever collide with them.
const (
	// ConfigName is the config file at the root of the view.
	ConfigName = "efs.toml"
	// RecordName is the directory record in every view directory of a
	// format v2 tree (docs/FORMAT.md, "Directory records").
	RecordName = "efs.dir"
	// LongPrefix starts the stand-in name of an entry whose encrypted name
	// is longer than the limit, in format v2: lowercase, so storage that
	// folds case keeps it.
	LongPrefix = "efs.l."
	// LongPrefixV1 is format v1's stand-in prefix.
	LongPrefixV1 = "efs.L."
	// TargetPrefix starts the stored target of a symlink whose encrypted
	// target would not fit PATH_MAX (format v2): the real target is kept
	// in the directory record.
	TargetPrefix = "efs.t."
	// CompanionSuffix ends the companion file holding a long entry's full
	// encrypted name.
	CompanionSuffix = ".name"
	// longHashLen is the length of base32(SHA-256), unpadded.
	longHashLen = 52
	// LongNameLen is the length of a long-name stand-in: "efs.L." + 52.
	LongNameLen = len(LongPrefix) + longHashLen
	// MinNameMax is the smallest name limit allowed: a companion name must fit.
	MinNameMax = LongNameLen + len(CompanionSuffix)
	// MaxNameMax is the largest: what Linux filesystems accept.
	MaxNameMax = 255
	// DefaultNameMax is the default limit on encoded name length.
	DefaultNameMax = 255
	// KeySize is the length of the name and symlink AES-SIV keys.
	KeySize = 64
	// MaxTargetLen is the longest encoded symlink target the view can hold.
	MaxTargetLen = 4095
)

// Errors returned by the decoders.
var (
	// ErrMalformed means the input is not a well-formed encrypted name or
	// target (bad alphabet, wrong length, non-canonical encoding).
	ErrMalformed = errors.New("malformed encrypted name")
	// ErrNotAuthentic means the name did not authenticate: it was altered,
	// or moved from another directory, or made with another key.
	ErrNotAuthentic = errors.New("encrypted name failed authentication")
	// ErrInvalidName means the name decrypted but is not a legal file name.
	ErrInvalidName = errors.New("decrypted name is not a valid file name")
	// ErrTooLong means an encrypted symlink target would exceed PATH_MAX
	// (format v1, which has no directory records to hold it).
	ErrTooLong = errors.New("symlink target too long to encrypt")
	// ErrLongTarget means a stored target is a stand-in for a long one,
	// which the directory record holds (format v2).
	ErrLongTarget = errors.New("symlink target is kept in the directory record")
	// ErrSpelling means a name longer than name_max stored directly: the
	// second spelling of a name whose only spelling is its stand-in.
	ErrSpelling = errors.New("encrypted name longer than the name limit stored without its stand-in")
)

// Encoding is the text encoding of encrypted names in the view.
type Encoding int

const (
	// Base32 is lowercase RFC 4648 base32 without padding: safe on
	// case-insensitive storage. The default.
	Base32 Encoding = iota
	// Base64 is RFC 4648 base64url without padding: shorter names.
	Base64
)

var (
	b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	b64 = base64.RawURLEncoding.Strict()
)

// String returns the config spelling.
func (e Encoding) String() string {
	if e == Base64 {
		return "base64"
	}
	return "base32"
}

// ParseEncoding parses the config spelling ("base32" or "base64").
func ParseEncoding(s string) (Encoding, error) {
	switch s {
	case "base32":
		return Base32, nil
	case "base64":
		return Base64, nil
	}
	return 0, fmt.Errorf("name encoding %q is neither \"base32\" nor \"base64\"", s)
}

func (e Encoding) appendEncode(dst, b []byte) []byte {
	if e == Base64 {
		return b64.AppendEncode(dst, b)
	}
	return b32.AppendEncode(dst, b)
}

// appendDecode appends the bytes s encodes to dst, accepting only the
// canonical encoding, so each name has exactly one spelling in the view.
// It uses st's in and out as scratch.
func (e Encoding) appendDecode(dst []byte, s string, st *sivState) ([]byte, error) {
	start := len(dst)
	if e == Base64 {
		st.in = append(st.in[:0], s...)
		var err error
		if dst, err = b64.AppendDecode(dst, st.in); err != nil {
			return dst, ErrMalformed
		}
	} else {
		var ok bool
		if dst, ok = appendBase32(dst, s); !ok {
			return dst, ErrMalformed
		}
	}
	st.out = e.appendEncode(st.out[:0], dst[start:])
	if string(st.out) != s {
		return dst, ErrMalformed
	}
	return dst, nil
}

// appendBase32 appends the bytes of s, in b32's alphabet, to dst; false if
// s has a character outside it. encoding/base32's decoder allocates a copy
// of its input per call (to drop newlines), this does not. Lengths no
// encoding has and non-zero trailing bits are left to appendDecode's
// re-encoding, which rejects them.
func appendBase32(dst []byte, s string) ([]byte, bool) {
	var acc uint // the low bits hold those not yet output
	bits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a'
		case c >= '2' && c <= '7':
			c -= '2' - 26
		default:
			return dst, false
		}
		acc = acc<<5 | uint(c)
		if bits += 5; bits >= 8 {
			bits -= 8
			dst = append(dst, byte(acc>>bits))
		}
	}
	return dst, true
}

// Options configure a Namer.
type Options struct {
	Encoding Encoding
	// NameMax is the longest encoded name stored as is; longer ones use
	// the long-name scheme. 0 means DefaultNameMax.
	NameMax int
	// Format is the format version (1 or 2; 0 means 2): it picks the
	// stand-in prefix and whether long symlink targets have a stand-in.
	Format int
}

// Namer encrypts and decrypts names and symlink targets. It is safe for
// concurrent use.
type Namer struct {
	opts    Options
	names   sync.Pool // *sivState under the name key
	targets sync.Pool // *sivState under the symlink key
}

// sivState is an AES-SIV cipher (internal/siv: miscreant's bytes, without
// its three allocations per call) and the buffers of one encryption or
// decryption, pooled together (as content.FileIDs pools its HMACs) so that
// a call allocates only the string it returns: a cipher is not safe for
// concurrent use, and strings cannot be passed as []byte without a copy.
// The buffers keep the last name handled on the heap until they are reused
// or collected, as any string of it would.
type sivState struct {
	c   *siv.Cipher
	in  []byte // associated data (and plaintext) copied from strings
	ct  []byte // ciphertext
	out []byte // encoded name, or plaintext
}

// maxPooledBuf is the largest buffer kept for reuse: enough for any name
// and symlink target, so only odd inputs (a huge parent path, a garbage
// companion file) cost a fresh buffer.
const maxPooledBuf = 16 << 10

func newSIVPool(key []byte) func() any {
	return func() any {
		c, _ := siv.New(key) // naming.New checked the length
		return &sivState{c: c}
	}
}

func getState(p *sync.Pool) *sivState { return p.Get().(*sivState) }

func putState(p *sync.Pool, s *sivState) {
	for _, b := range []*[]byte{&s.in, &s.ct, &s.out} {
		if cap(*b) > maxPooledBuf {
			*b = nil
		}
	}
	p.Put(s)
}

// seal sets s.ct to AES-SIV(AD = ad, plaintext).
func (s *sivState) seal(ad, plaintext string) {
	s.in = append(append(s.in[:0], ad...), plaintext...)
	s.ct = s.c.Seal(s.ct[:0], s.in[len(ad):], s.in[:len(ad)])
}

// open sets s.out to the plaintext of the ciphertext in s.ct under AD = ad.
func (s *sivState) open(ad string) error {
	s.in = append(s.in[:0], ad...)
	p, err := s.c.Open(s.out[:0], s.ct, s.in)
	if err != nil {
		return err
	}
	s.out = p
	return nil
}

// New returns a Namer for the given 64-byte name and symlink keys.
func New(nameKey, symlinkKey []byte, opts Options) (*Namer, error) {
	if opts.NameMax == 0 {
		opts.NameMax = DefaultNameMax
	}
	if opts.Format == 0 {
		opts.Format = 2
	}
	if opts.NameMax < MinNameMax || opts.NameMax > MaxNameMax {
		return nil, fmt.Errorf("name limit %d is outside %d..%d", opts.NameMax, MinNameMax, MaxNameMax)
	}
	if len(nameKey) != KeySize || len(symlinkKey) != KeySize {
		return nil, fmt.Errorf("name keys must be %d bytes", KeySize)
	}
	n := &Namer{opts: opts}
	n.names.New = newSIVPool(append([]byte(nil), nameKey...))
	n.targets.New = newSIVPool(append([]byte(nil), symlinkKey...))
	return n, nil
}

// EncryptName returns the full encoded ciphertext of name inside the
// directory whose plaintext path (relative to the root, "" for the root) is
// parent: encode(AES-SIV(nameKey, AD = parent, name)).
func (n *Namer) EncryptName(parent, name string) string {
	s := getState(&n.names)
	defer putState(&n.names, s)
	n.encrypt(s, parent, name)
	return string(s.out)
}

// encrypt sets s.out to EncryptName(parent, name).
func (n *Namer) encrypt(s *sivState, parent, name string) {
	s.seal(parent, name)
	s.out = n.opts.Encoding.appendEncode(s.out[:0], s.ct)
}

// DecryptName reverses EncryptName for a full encoded name (not a long-name
// stand-in) and checks that the result is a legal file name.
func (n *Namer) DecryptName(parent, encoded string) (string, error) {
	s := getState(&n.names)
	defer putState(&n.names, s)
	var err error
	if s.ct, err = n.opts.Encoding.appendDecode(s.ct[:0], encoded, s); err != nil {
		return "", err
	}
	if len(s.ct) <= 16 {
		return "", ErrMalformed
	}
	if err := s.open(parent); err != nil {
		return "", ErrNotAuthentic
	}
	name := string(s.out)
	if !ValidName(name) {
		return "", ErrInvalidName
	}
	return name, nil
}

// ValidName reports whether s can be a directory entry: non-empty, at most
// 255 bytes, no '/' or NUL, not "." or "..".
func ValidName(s string) bool {
	return s != "" && len(s) <= 255 && s != "." && s != ".." && !strings.ContainsAny(s, "/\x00")
}

// Entry is how one plaintext name appears in the view.
type Entry struct {
	// Name is the directory entry in the view: the encoded name, or the
	// long-name stand-in when the encoded name exceeds the limit.
	Name string
	// Full is the full encoded name; it differs from Name only for long names.
	Full string
}

// Long reports whether the entry uses the long-name scheme.
func (e Entry) Long() bool { return e.Name != e.Full }

// Companion is the name of the companion file of a long entry.
func (e Entry) Companion() string { return e.Name + CompanionSuffix }

// Entry encrypts name in parent and applies the long-name rule.
func (n *Namer) Entry(parent, name string) Entry {
	s := getState(&n.names)
	defer putState(&n.names, s)
	n.encrypt(s, parent, name)
	full := string(s.out)
	if len(full) <= n.opts.NameMax {
		return Entry{Name: full, Full: full}
	}
	s.in = n.appendLongName(s.in[:0], s.out)
	return Entry{Name: string(s.in), Full: full}
}

func (n *Namer) longPrefix() string {
	if n.opts.Format == 1 {
		return LongPrefixV1
	}
	return LongPrefix
}

// LongName returns the stand-in for a full encoded name:
// "efs.l." (v1: "efs.L.") + base32(SHA-256(full)).
func (n *Namer) LongName(full string) string {
	s := getState(&n.names)
	defer putState(&n.names, s)
	n.longName(s, full)
	return string(s.out)
}

// longName sets s.out to LongName(full), hashing a copy in s.in: SHA-256
// takes []byte, and converting a string that long would allocate.
func (n *Namer) longName(s *sivState, full string) {
	s.in = append(s.in[:0], full...)
	s.out = n.appendLongName(s.out[:0], s.in)
}

// appendLongName appends the stand-in of the full encoded name full to dst.
func (n *Namer) appendLongName(dst, full []byte) []byte {
	h := sha256.Sum256(full)
	return b32.AppendEncode(append(dst, n.longPrefix()...), h[:])
}

// IsLongName reports whether entry is a long-name stand-in.
func (n *Namer) IsLongName(entry string) bool {
	return isHashName(entry, n.longPrefix())
}

// isHashName reports whether s is prefix followed by the canonical base32
// of a SHA-256 hash.
func isHashName(s, prefix string) bool {
	if len(s) != LongNameLen || !strings.HasPrefix(s, prefix) {
		return false
	}
	// Only the canonical spelling counts: base32 of 32 bytes leaves four
	// unused bits in the last character, which must be zero.
	h := s[len(prefix):]
	var sum [sha256.Size]byte
	b, ok := appendBase32(sum[:0], h)
	if !ok || len(b) != len(sum) {
		return false
	}
	var enc [longHashLen]byte
	b32.Encode(enc[:], b)
	return string(enc[:]) == h
}

// IsCompanion reports whether entry is a long-name companion file and
// returns the stand-in it belongs to.
func (n *Namer) IsCompanion(entry string) (string, bool) {
	long, ok := strings.CutSuffix(entry, CompanionSuffix)
	if ok && n.IsLongName(long) {
		return long, true
	}
	return "", false
}

// DecryptEntry decrypts the view name entry inside the plaintext directory
// parent, asking full for a stand-in's full name (its companion's
// content; full may be nil where no stand-in is expected). It rejects the
// second spelling of a long name: an encoded name longer than the limit
// stored as is (rule name-spelling).
func (n *Namer) DecryptEntry(parent, entry string, full func() (string, error)) (string, error) {
	encoded := entry
	if n.IsLongName(entry) {
		if full == nil {
			return "", fmt.Errorf("%w: a long name, and no companion file to read", ErrMalformed)
		}
		f, err := full()
		if err != nil {
			return "", err
		}
		if err := n.CheckCompanion(entry, f); err != nil {
			return "", err
		}
		encoded = f
	} else if len(entry) > n.opts.NameMax {
		return "", ErrSpelling
	}
	return n.DecryptName(parent, encoded)
}

// CheckCompanion verifies that the companion content full belongs to the
// stand-in long: it must hash to it, and must really be too long to have
// been stored directly.
func (n *Namer) CheckCompanion(long, full string) error {
	s := getState(&n.names)
	defer putState(&n.names, s)
	if n.longName(s, full); string(s.out) != long {
		return fmt.Errorf("%w: companion does not match its long name", ErrNotAuthentic)
	}
	if len(full) <= n.opts.NameMax {
		return fmt.Errorf("%w: companion holds a short name", ErrMalformed)
	}
	return nil
}

// EncryptTarget encrypts a symlink target with the link's plaintext path
// as associated data: base64url(AES-SIV(symlinkKey, AD = linkPath, target)).
// Targets are always base64url: they are file contents to the storage, not
// names, so case-folding does not touch them, and they stay shorter.
func (n *Namer) EncryptTarget(linkPath, target string) (string, error) {
	s := getState(&n.targets)
	defer putState(&n.targets, s)
	s.seal(linkPath, target)
	s.out = b64.AppendEncode(s.out[:0], s.ct)
	if len(s.out) > MaxTargetLen {
		if n.opts.Format == 1 {
			return "", ErrTooLong
		}
		// The directory record holds the target; the stored link is a
		// stand-in that changes with it.
		h := sha256.Sum256(s.ct)
		return TargetPrefix + b32.EncodeToString(h[:]), nil
	}
	return string(s.out), nil
}

// TargetLen is the length of the encrypted form of a target of size
// bytes, so stat can report a symlink's size without encrypting.
func (n *Namer) TargetLen(size int) int {
	l := b64.EncodedLen(size + 16)
	if l > MaxTargetLen && n.opts.Format != 1 {
		return LongNameLen
	}
	return l
}

// DecryptTarget reverses EncryptTarget. For the stand-in of a long target
// it returns ErrLongTarget: the target is in the directory record.
func (n *Namer) DecryptTarget(linkPath, encoded string) (string, error) {
	if n.opts.Format != 1 && isHashName(encoded, TargetPrefix) {
		return "", ErrLongTarget
	}
	s := getState(&n.targets)
	defer putState(&n.targets, s)
	var err error
	if s.ct, err = Base64.appendDecode(s.ct[:0], encoded, s); err != nil || len(s.ct) < 16 {
		return "", fmt.Errorf("%w: symlink target", ErrMalformed)
	}
	if err := s.open(linkPath); err != nil {
		return "", fmt.Errorf("%w: symlink target", ErrNotAuthentic)
	}
	if len(s.out) == 0 || bytes.IndexByte(s.out, 0) >= 0 {
		return "", fmt.Errorf("%w: symlink target", ErrInvalidName)
	}
	return string(s.out), nil
}

// minEncodedLen is the shortest encoded name: a 1-byte name's 17-byte
// AES-SIV ciphertext (28 base32 or 23 base64 characters).
func (e Encoding) minEncodedLen() int {
	if e == Base64 {
		return b64.EncodedLen(17)
	}
	return b32.EncodedLen(17)
}

// inAlphabet reports whether every byte of s is a character of the
// encoding's alphabet.
func (e Encoding) inAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', e == Base32 && c >= '2' && c <= '7':
		case e == Base64 && (c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// Foreign reports whether entry cannot be a name efs wrote into a view
// directory (docs/FORMAT.md, "Foreign names"): it does not start with
// "efs." (the prefix of everything else efs writes: efs.toml, stand-ins,
// their companions) and is not a string of the encoding's alphabet at
// least as long as the shortest encoded name. Sync tools' own files
// (.stfolder, .DS_Store, desktop.ini, "x (conflicted copy).txt",
// *.rclonelink) are all foreign, so a reader can ignore them; anything
// else that fails to decrypt is damage.
func (n *Namer) Foreign(entry string) bool {
	if strings.HasPrefix(entry, "efs.") {
		return false
	}
	e := n.opts.Encoding
	if e == Base32 {
		// A base32 name whose case the storage changed is damage, not
		// litter: exactly the storage base32 is there for.
		entry = strings.ToLower(entry)
	}
	return len(entry) < e.minEncodedLen() || !e.inAlphabet(entry)
}
