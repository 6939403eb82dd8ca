// Package config reads and writes .efs.toml, efs's per-tree config: the
// format parameters, the argon2id parameters, and the master key wrapped
// under a key derived from the password, with a MAC over the format fields.
// The keys themselves (master key, password KEK, wrap, subkeys) are package
// keys; this package holds their text form and checks the fields' ranges.
// docs/FORMAT.md, "Config", is the normative description.
package config

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/keys"
	"github.com/efs-project/efs/naming"
)

// FileName is the config's name in the plaintext root. The reverse view
// shows it as naming.ConfigName ("efs.toml") at its root.
const FileName = ".efs.toml"

// FormatVersion is the format efs init writes. Version 1 configs are still
// read, and their trees keep their v1 view (no directory records), so an
// existing backup is not re-uploaded.
const (
	FormatVersion = 2
	minVersion    = 1
)

const (
	saltSize     = 32
	macLabel     = "efs-v1 config\n"
	macSize      = sha256.Size
	minMemoryKiB = 1024
	maxMemoryKiB = 1 << 20 // 1 GiB: a hostile config cannot make a reader allocate more
	maxTime      = 16      // passes; with maxMemoryKiB about 40 s here, the worst a config can cost
	maxThreads   = 16
	maxFileSize  = 64 << 10 // a real config is under 1 KiB
	// The default cost: 256 MiB and 2 passes, about 0.4–0.7 s on the
	// reference 2-core machine, near the 0.5 s restic calibrates its scrypt
	// to. It is more than RFC 9106's second recommendation (64 MiB, 3
	// passes) in both memory and memory × passes; every command that
	// unlocks pays it once, so more passes mostly slowed every restore.
	defaultTime   = 2
	defaultMemory = 256 << 10
)

// Sentinel errors; callers map them to exit codes with errors.Is.
var (
	// ErrNotFound means there is no config file at the path.
	ErrNotFound = errors.New("config not found")
	// ErrCorrupt means the file is not a valid efs config (syntax, unknown
	// version, missing, unknown or malformed field).
	ErrCorrupt = errors.New("config is corrupt")
	// ErrWrongPassword means the password does not unwrap the master key.
	ErrWrongPassword = errors.New("wrong password")
	// ErrTampered means the password is right but the format fields were
	// changed after the config was written.
	ErrTampered = errors.New("config fields fail authentication (the file was altered)")
	// ErrKDFMemory means the config's key derivation needs more memory
	// than the machine has available.
	ErrKDFMemory = errors.New("cannot unlock the config here")
	// ErrExists means init would overwrite an existing config.
	ErrExists = errors.New("config already exists")
)

// Settings are the format parameters recorded in the config. With
// --masterkey and no config, Defaults() stands in for them.
type Settings struct {
	// Version is the format version, 1 or 2 (docs/FORMAT.md, "Format
	// versions"): 2 adds directory records, lowercase stand-ins, long
	// symlink targets and the "version" file-ID mode.
	Version      int
	NameEncoding naming.Encoding
	NameMax      int
	BlockSize    int
	FileID       content.FileIDMode
	// Flags are the format-v2 privacy options (FlagPadme, FlagHideMetadata);
	// 0 in v1. They live in the config's authenticated "flags" field, so a
	// storage that clears one cannot make a reader misread the backup.
	Flags uint32
}

// Flag bits of Settings.Flags (docs/FORMAT.md, "Privacy options"). Both need
// format v2: the real sizes and metadata they hide travel in the sealed
// directory records.
const (
	// FlagPadme pads every file's content to Padmé(size) (efs init --padding padme).
	FlagPadme uint32 = 1 << 0
	// FlagHideMetadata shows uniform modes, the mounting user and keyed
	// pseudo-mtimes in the view (efs init --hide-metadata).
	FlagHideMetadata uint32 = 1 << 1
	knownFlags              = FlagPadme | FlagHideMetadata
)

// Padding is the padding scheme's name: "padme" or "none".
func (s Settings) Padding() string {
	if s.Padded() {
		return "padme"
	}
	return "none"
}

// Padded tells whether every content stream is padded (FlagPadme).
func (s Settings) Padded() bool { return s.Flags&FlagPadme != 0 }

// HideMetadata tells whether the view hides modes, owners and times.
func (s Settings) HideMetadata() bool { return s.Flags&FlagHideMetadata != 0 }

// Defaults are the settings efs init uses when given no options.
func Defaults() Settings {
	return Settings{
		Version:      FormatVersion,
		NameEncoding: naming.Base32,
		NameMax:      naming.DefaultNameMax,
		BlockSize:    content.DefaultBlockSize,
		FileID:       content.FileIDInode,
	}
}

// Validate checks every field against what format v1 allows.
func (s Settings) Validate() error {
	if s.Version < minVersion || s.Version > FormatVersion {
		return fmt.Errorf("format version %d is not supported (this efs reads versions %d to %d)", s.Version, minVersion, FormatVersion)
	}
	if s.FileID == content.FileIDVersion && s.Version < 2 {
		return errors.New(`file_id "version" needs format version 2`)
	}
	if s.NameMax < naming.MinNameMax || s.NameMax > naming.MaxNameMax {
		return fmt.Errorf("name_max %d is outside %d..%d", s.NameMax, naming.MinNameMax, naming.MaxNameMax)
	}
	if _, err := content.BlockShift(s.BlockSize); err != nil {
		return fmt.Errorf("block_size: %w", err)
	}
	if s.Flags&^knownFlags != 0 {
		return fmt.Errorf("flags %#x: unknown flag %#x", s.Flags, s.Flags&^knownFlags)
	}
	if s.Flags != 0 && s.Version < 2 {
		return fmt.Errorf("flags %#x (padding, hidden metadata) need format version 2", s.Flags)
	}
	return nil
}

// NamingOptions are the naming package's options for these settings.
func (s Settings) NamingOptions() naming.Options {
	return naming.Options{Encoding: s.NameEncoding, NameMax: s.NameMax, Format: s.Version}
}

// SettingsText is Settings spelled as in the config file, which is also how
// efs init's and the recovery flags take them: "base32" or "base64",
// "inode" or "path", and the numbers as they are.
type SettingsText struct {
	Version      int
	NameEncoding string
	NameMax      int
	BlockSize    int
	FileID       string
	// Padding is "none" or "padme"; "" means "none".
	Padding      string
	HideMetadata bool
}

// Text spells s out.
func (s Settings) Text() SettingsText {
	return SettingsText{
		Version:      s.Version,
		NameEncoding: s.NameEncoding.String(),
		NameMax:      s.NameMax,
		BlockSize:    s.BlockSize,
		FileID:       s.FileID.String(),
		Padding:      s.Padding(),
		HideMetadata: s.HideMetadata(),
	}
}

// Parse reads the spelled-out settings and validates them.
func (t SettingsText) Parse() (Settings, error) {
	s := Settings{Version: t.Version, NameMax: t.NameMax, BlockSize: t.BlockSize}
	var err error
	if s.NameEncoding, err = naming.ParseEncoding(t.NameEncoding); err != nil {
		return Settings{}, err
	}
	if s.FileID, err = content.ParseFileIDMode(t.FileID); err != nil {
		return Settings{}, err
	}
	switch t.Padding {
	case "", "none":
	case "padme":
		s.Flags |= FlagPadme
	default:
		return Settings{}, fmt.Errorf("padding %q: want none or padme", t.Padding)
	}
	if t.HideMetadata {
		s.Flags |= FlagHideMetadata
	}
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// KDF holds the argon2id parameters.
type KDF struct {
	Salt      []byte
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultKDF returns fresh parameters with a random salt.
func DefaultKDF() (KDF, error) {
	k := KDF{Salt: make([]byte, saltSize), Time: defaultTime, MemoryKiB: defaultMemory, Threads: 2}
	if _, err := rand.Read(k.Salt); err != nil {
		return k, fmt.Errorf("reading random salt: %w", err)
	}
	return k, nil
}

func (k KDF) validate() error {
	switch {
	case len(k.Salt) < 16:
		return errors.New("kdf.salt must be at least 16 bytes")
	case k.Time < 1 || k.Time > maxTime:
		return fmt.Errorf("kdf.time %d is outside 1..%d", k.Time, maxTime)
	case k.MemoryKiB < minMemoryKiB || k.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("kdf.memory_kib %d is outside %d..%d", k.MemoryKiB, minMemoryKiB, maxMemoryKiB)
	case k.Threads < 1 || k.Threads > maxThreads:
		return fmt.Errorf("kdf.threads %d is outside 1..%d", k.Threads, maxThreads)
	}
	return nil
}

// NewKDF is DefaultKDF with the given passes and memory (0 keeps the
// default), checked against the ranges every reader accepts, before any
// narrowing to the file's field sizes.
func NewKDF(passes, memoryMiB uint64) (KDF, error) {
	k, err := DefaultKDF()
	if err != nil {
		return k, err
	}
	if passes != 0 {
		if passes > maxTime {
			return k, fmt.Errorf("argon2id passes %d is outside 1..%d", passes, maxTime)
		}
		k.Time = uint32(passes)
	}
	if memoryMiB != 0 {
		if memoryMiB > maxMemoryKiB>>10 {
			return k, fmt.Errorf("argon2id memory %d MiB is outside 1..%d MiB", memoryMiB, maxMemoryKiB>>10)
		}
		k.MemoryKiB = uint32(memoryMiB << 10)
	}
	return k, k.validate()
}

func (k KDF) kek(password []byte) *keys.KEK {
	return keys.PasswordKEK(password, k.Salt, k.Time, k.MemoryKiB, k.Threads)
}

// Config is a parsed .efs.toml.
type Config struct {
	Settings Settings
	KDF      KDF
	// Creator names the efs version that wrote the file; informational.
	Creator string
	wrapped []byte
	mac     []byte
}

// Create makes a new config for password: a random master key wrapped
// under argon2id(password). It returns the config and the master key, which
// the caller prints once for recovery and then wipes.
func Create(password []byte, s Settings, kdf KDF, creator string) (*Config, *keys.MasterKey, error) {
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	if err := kdf.validate(); err != nil {
		return nil, nil, err
	}
	mk, err := keys.GenerateMasterKey()
	if err != nil {
		return nil, nil, err
	}
	c := &Config{Settings: s, KDF: kdf, Creator: creator}
	if err := c.seal(mk, password); err != nil {
		mk.Wipe()
		return nil, nil, err
	}
	return c, mk, nil
}

// seal wraps mk under password and recomputes the MAC of the fields.
func (c *Config) seal(mk *keys.MasterKey, password []byte) error {
	kek := c.KDF.kek(password)
	defer kek.Wipe()
	wrapped, err := kek.Wrap(mk)
	if err != nil {
		return err
	}
	k, err := mk.Derive()
	if err != nil {
		return err
	}
	defer k.Wipe()
	c.wrapped, c.mac = wrapped, c.fieldsMAC(k)
	return nil
}

// canonical is the byte string the config MAC covers.
func (s Settings) canonical() []byte {
	return fmt.Appendf([]byte(macLabel),
		"version=%d\nname_encoding=%s\nname_max=%d\nblock_size=%d\nfile_id=%s\nflags=%d\n",
		s.Version, s.NameEncoding, s.NameMax, s.BlockSize, s.FileID, s.Flags)
}

func (c *Config) fieldsMAC(k *keys.Keys) []byte {
	return keys.HMAC(k.ConfigMAC(), c.Settings.canonical())
}

// Unlock unwraps the master key with password and checks that the format
// fields are the ones it was written with. It returns ErrWrongPassword or
// ErrTampered.
func (c *Config) Unlock(password []byte) (*keys.MasterKey, error) {
	if err := checkMemory(uint64(c.KDF.MemoryKiB) << 10); err != nil {
		return nil, err
	}
	kek := c.KDF.kek(password)
	defer kek.Wipe()
	mk, err := kek.Unwrap(c.wrapped)
	if errors.Is(err, keys.ErrUnwrap) {
		return nil, ErrWrongPassword
	}
	if err != nil {
		return nil, err
	}
	if err := c.Verify(mk); err != nil {
		mk.Wipe()
		return nil, err
	}
	return mk, nil
}

// Verify checks the config MAC under mk (used directly with --masterkey).
func (c *Config) Verify(mk *keys.MasterKey) error {
	k, err := mk.Derive()
	if err != nil {
		return err
	}
	defer k.Wipe()
	if !hmac.Equal(c.fieldsMAC(k), c.mac) {
		return ErrTampered
	}
	return nil
}

// VerifyKeys checks the config MAC under the subkeys k, for a holder of
// the subkeys rather than the master key: a mounted view checking that a
// config that replaced its own is for the same key (ErrTampered if not).
func (c *Config) VerifyKeys(k *keys.Keys) error {
	if !hmac.Equal(c.fieldsMAC(k), c.mac) {
		return ErrTampered
	}
	return nil
}

// ChangePassword rewraps the master key under a new password with a fresh
// salt; the content is not re-encrypted.
func (c *Config) ChangePassword(mk *keys.MasterKey, newPassword []byte) error {
	kdf := c.KDF
	kdf.Salt = make([]byte, saltSize)
	if _, err := rand.Read(kdf.Salt); err != nil {
		return fmt.Errorf("reading random salt: %w", err)
	}
	old := c.KDF
	c.KDF = kdf
	if err := c.seal(mk, newPassword); err != nil {
		c.KDF = old
		return err
	}
	return nil
}

// fileFormat is the TOML shape of the file.
type fileFormat struct {
	Version      int    `toml:"version"`
	Creator      string `toml:"creator"`
	NameEncoding string `toml:"name_encoding"`
	NameMax      int    `toml:"name_max"`
	BlockSize    int    `toml:"block_size"`
	FileID       string `toml:"file_id"`
	Flags        int64  `toml:"flags"`
	KDF          struct {
		Algorithm string `toml:"algorithm"`
		Salt      string `toml:"salt"`
		Time      int64  `toml:"time"`
		MemoryKiB int64  `toml:"memory_kib"`
		Threads   int64  `toml:"threads"`
	} `toml:"kdf"`
	Key struct {
		Wrapped string `toml:"wrapped"`
		MAC     string `toml:"mac"`
	} `toml:"key"`
}

var requiredFields = []string{
	"version", "creator", "name_encoding", "name_max", "block_size", "file_id", "flags",
	"kdf.algorithm", "kdf.salt", "kdf.time", "kdf.memory_kib", "kdf.threads",
	"key.wrapped", "key.mac",
}

const header = `# efs config (format v%d). Keep it with the backup: efs reads it to restore.
# The master key inside is wrapped with your password (argon2id + AES-SIV).
# Without this file, the master key printed by "efs init" and --masterkey
# still restore the backup. Do not edit: the fields are authenticated.
`

// Marshal returns the TOML text of the config.
func (c *Config) Marshal() []byte {
	b64 := base64.StdEncoding
	var buf bytes.Buffer
	fmt.Fprintf(&buf, header, c.Settings.Version)
	fmt.Fprintf(&buf, "version = %d\n", c.Settings.Version)
	fmt.Fprintf(&buf, "creator = %s\n", tomlQuote(c.Creator))
	fmt.Fprintf(&buf, "name_encoding = %q\n", c.Settings.NameEncoding)
	fmt.Fprintf(&buf, "name_max = %d\n", c.Settings.NameMax)
	fmt.Fprintf(&buf, "block_size = %d\n", c.Settings.BlockSize)
	fmt.Fprintf(&buf, "file_id = %q\n", c.Settings.FileID)
	fmt.Fprintf(&buf, "flags = %d\n", c.Settings.Flags)
	fmt.Fprintf(&buf, "\n[kdf]\nalgorithm = \"argon2id\"\nsalt = %q\ntime = %d\nmemory_kib = %d\nthreads = %d\n",
		b64.EncodeToString(c.KDF.Salt), c.KDF.Time, c.KDF.MemoryKiB, c.KDF.Threads)
	fmt.Fprintf(&buf, "\n[key]\nwrapped = %q\nmac = %q\n", b64.EncodeToString(c.wrapped), b64.EncodeToString(c.mac))
	return buf.Bytes()
}

// tomlQuote returns s as a TOML basic string. Go's %q is not TOML: it
// writes \x01 and \a, which TOML rejects, so a creator with a control
// character would make Marshal's output unreadable.
func tomlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Parse decodes and strictly validates config text. Every problem is an
// ErrCorrupt that names the field.
func Parse(data []byte) (*Config, error) {
	var f fileFormat
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		names := make([]string, len(und))
		for i, k := range und {
			names[i] = k.String()
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%w: unknown field %s", ErrCorrupt, strings.Join(names, ", "))
	}
	for _, k := range requiredFields {
		if !md.IsDefined(strings.Split(k, ".")...) {
			return nil, fmt.Errorf("%w: missing field %s", ErrCorrupt, k)
		}
	}
	bad := func(field string, err error) error {
		return fmt.Errorf("%w: field %s: %w", ErrCorrupt, field, err)
	}
	if f.Version < minVersion || f.Version > FormatVersion {
		return nil, bad("version", fmt.Errorf("version %d is not supported (this efs reads versions %d to %d)", f.Version, minVersion, FormatVersion))
	}
	c := &Config{Creator: f.Creator}
	c.Settings.Version = f.Version
	if c.Settings.NameEncoding, err = naming.ParseEncoding(f.NameEncoding); err != nil {
		return nil, bad("name_encoding", err)
	}
	if c.Settings.FileID, err = content.ParseFileIDMode(f.FileID); err != nil {
		return nil, bad("file_id", err)
	}
	if f.Flags < 0 || f.Flags > 1<<32-1 {
		return nil, bad("flags", fmt.Errorf("%d is out of range", f.Flags))
	}
	c.Settings.NameMax, c.Settings.BlockSize, c.Settings.Flags = f.NameMax, f.BlockSize, uint32(f.Flags)
	if err := c.Settings.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if f.KDF.Algorithm != "argon2id" {
		return nil, bad("kdf.algorithm", fmt.Errorf("%q is not argon2id", f.KDF.Algorithm))
	}
	if c.KDF.Salt, err = decodeBase64(f.KDF.Salt); err != nil {
		return nil, bad("kdf.salt", err)
	}
	for _, r := range []struct {
		field  string
		v, max int64
	}{{"kdf.time", f.KDF.Time, maxTime}, {"kdf.memory_kib", f.KDF.MemoryKiB, maxMemoryKiB}, {"kdf.threads", f.KDF.Threads, maxThreads}} {
		if r.v < 0 || r.v > r.max {
			return nil, bad(r.field, fmt.Errorf("%d is out of range", r.v))
		}
	}
	c.KDF.Time, c.KDF.MemoryKiB, c.KDF.Threads = uint32(f.KDF.Time), uint32(f.KDF.MemoryKiB), uint8(f.KDF.Threads)
	if err := c.KDF.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if c.wrapped, err = decodeBase64(f.Key.Wrapped); err != nil || len(c.wrapped) != keys.WrappedSize {
		return nil, bad("key.wrapped", fmt.Errorf("must be %d bytes of base64", keys.WrappedSize))
	}
	if c.mac, err = decodeBase64(f.Key.MAC); err != nil || len(c.mac) != macSize {
		return nil, bad("key.mac", fmt.Errorf("must be %d bytes of base64", macSize))
	}
	return c, nil
}

// decodeBase64 accepts only the canonical padded base64 of some bytes
// (docs/FORMAT.md, "Conventions"). Go's decoder skips line breaks even in
// strict mode, so the result is re-encoded and compared.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return nil, errors.New("not canonical base64")
	}
	return b, nil
}

// Load reads and parses the config at path. A missing file is ErrNotFound.
func Load(path string) (*Config, error) {
	// O_NONBLOCK: a FIFO in the config's place must not hang efs.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrCorrupt, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d KiB, far more than any efs config", ErrCorrupt, path, maxFileSize>>10)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// WriteNew writes the config to path, refusing to replace an existing file.
func (c *Config) WriteNew(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrExists, path)
	}
	if err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	return finish(f, c.Marshal(), path)
}

// Replace atomically replaces the config at path (for efs passwd): it
// writes a temporary file beside it, syncs it and renames it over.
func (c *Config) Replace(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".efs.toml.tmp*")
	if err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	if err := finish(f, c.Marshal(), f.Name()); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("replacing config: %w", err)
	}
	return nil
}

func finish(f *os.File, data []byte, name string) error {
	_, err := io.Copy(f, bytes.NewReader(data))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("writing config: %w", err)
	}
	return nil
}
