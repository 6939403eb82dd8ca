// Package record encodes and decodes directory records (format v2,
// docs/FORMAT.md "Directory records"): for every view directory, the list
// of its entries with everything a restore needs that dumb storage drops
// or can forge — type, full mode, owner, mtime in nanoseconds, size, file
// ID, hard-link group, symlink target, xattrs and ACLs. The reverse view
// computes a record on demand from readdir and lstat; a reader takes
// metadata only from it and compares the stored entries with it.
//
// This file is the plaintext encoding; seal.go seals it.
package record

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Type is an entry's file type.
type Type uint8

// The types a record lists. Sockets, FIFOs and devices are not in the view.
const (
	File    Type = 1
	Dir     Type = 2
	Symlink Type = 3
)

func (t Type) String() string {
	switch t {
	case File:
		return "file"
	case Dir:
		return "directory"
	case Symlink:
		return "symlink"
	}
	return fmt.Sprintf("type %d", uint8(t))
}

// Limits of the encoding. A reader rejects anything beyond them.
const (
	// MaxName is the longest entry name (NAME_MAX).
	MaxName = 255
	// MaxTarget is the longest symlink target (PATH_MAX less its NUL).
	MaxTarget = 4095
	// MaxXattrName and MaxXattrValue are Linux's XATTR_NAME_MAX and
	// XATTR_SIZE_MAX.
	MaxXattrName  = 255
	MaxXattrValue = 65536
	// MaxXattrs bounds the xattrs of one entry.
	MaxXattrs = 1024
	// ModeBits are the mode bits a record keeps: permissions, set-id and
	// sticky.
	ModeBits = 0o7777
	// LinkIDSize is the length of a hard-link group ID.
	LinkIDSize = 16
	// FileIDSize is the length of a file ID (content.FileIDSize).
	FileIDSize = 16
)

// ACL xattr names: POSIX ACLs travel as the kernel's xattr form.
const (
	ACLAccess  = "system.posix_acl_access"
	ACLDefault = "system.posix_acl_default"
)

// ErrSyntax means the decrypted bytes of a record are not a record as
// specified: efs never writes them, so they are damage (rule record-syntax).
var ErrSyntax = errors.New("directory record is malformed")

// Xattr is one extended attribute.
type Xattr struct {
	Name  string
	Value []byte
}

// KeptXattr reports whether a record carries the xattr name: user
// attributes and POSIX ACLs. Others (security.*, trusted.*, system.*
// besides ACLs) belong to the machine, not the file.
func KeptXattr(name string) bool {
	return len(name) > len("user.") && strings.HasPrefix(name, "user.") || name == ACLAccess || name == ACLDefault
}

// Entry is one entry of a directory as the record lists it.
type Entry struct {
	// Name is the plaintext name; "" only for the root's own entry.
	Name string
	Type Type
	// Mode holds the ModeBits of st_mode.
	Mode     uint32
	UID, GID uint32
	// MtimeSec and MtimeNsec are the modification time.
	MtimeSec  int64
	MtimeNsec uint32
	// Size is a file's plaintext size, a symlink's target length, 0 for a
	// directory.
	Size uint64
	// FileID is the file ID in the file's content header (files only).
	FileID [FileIDSize]byte
	// Link is the file's hard-link group, all zero for a file with one
	// link (files only).
	Link [LinkIDSize]byte
	// Target is a symlink's target.
	Target string
	// Xattrs are the kept xattrs, sorted by name, unique.
	Xattrs []Xattr
}

// Linked reports whether the entry belongs to a hard-link group.
func (e *Entry) Linked() bool { return e.Link != [LinkIDSize]byte{} }

// check validates e against the encoding's rules; self is true for the
// root's own entry.
func (e *Entry) check(self bool) error {
	switch {
	case self && (e.Name != "" || e.Type != Dir):
		return errors.New("the root's own entry must be a directory with an empty name")
	case !self && !validName(e.Name):
		return errors.New("invalid entry name")
	case e.Type != File && e.Type != Dir && e.Type != Symlink:
		return fmt.Errorf("unknown entry %s", e.Type)
	case e.Mode&^ModeBits != 0:
		return fmt.Errorf("mode %#o has bits beyond %#o", e.Mode, ModeBits)
	case e.MtimeNsec >= 1e9:
		return errors.New("mtime nanoseconds out of range")
	case e.Type == Dir && e.Size != 0:
		return errors.New("a directory with a size")
	case e.Type == Symlink && (e.Size != uint64(len(e.Target)) || e.Target == "" || len(e.Target) > MaxTarget || strings.IndexByte(e.Target, 0) >= 0):
		return errors.New("invalid symlink target")
	case e.Type != Symlink && e.Target != "":
		return errors.New("a target on an entry that is not a symlink")
	case e.Type != File && (e.FileID != [FileIDSize]byte{} || e.Link != [LinkIDSize]byte{}):
		return errors.New("a file ID on an entry that is not a file")
	case len(e.Xattrs) > MaxXattrs:
		return fmt.Errorf("%d xattrs, more than %d", len(e.Xattrs), MaxXattrs)
	}
	for i, x := range e.Xattrs {
		switch {
		case !KeptXattr(x.Name) || len(x.Name) > MaxXattrName:
			return errors.New("an xattr a record does not keep")
		case x.Name == ACLDefault && e.Type != Dir:
			return errors.New("a default ACL on an entry that is not a directory")
		case len(x.Value) > MaxXattrValue:
			return errors.New("xattr value too long")
		case i > 0 && e.Xattrs[i-1].Name >= x.Name:
			return errors.New("xattrs not sorted or repeated")
		}
	}
	return nil
}

// validName is naming.ValidName (kept here so the decoder stands alone).
func validName(s string) bool {
	return s != "" && len(s) <= MaxName && s != "." && s != ".." && !strings.ContainsAny(s, "/\x00")
}

// Encoder writes a record's plaintext: for the root its own entry first,
// then the entries in strictly increasing byte order of their names.
type Encoder struct {
	w    *bufio.Writer
	self bool // the next entry must be the root's own entry
	last string
	any  bool
	buf  []byte
	n    int64
}

// NewEncoder writes to w; root says whether the record is the root's,
// which starts with the root's own entry.
func NewEncoder(w io.Writer, root bool) *Encoder {
	return &Encoder{w: bufio.NewWriter(w), self: root}
}

// Add appends e. It refuses an entry out of order or that breaks a rule:
// the encoder never writes what the decoder would reject.
func (enc *Encoder) Add(e *Entry) error {
	if err := e.check(enc.self); err != nil {
		return fmt.Errorf("record entry: %w", err)
	}
	if !enc.self && enc.any && e.Name <= enc.last {
		return errors.New("record entry: names out of order or repeated")
	}
	if !enc.self {
		enc.last, enc.any = e.Name, true
	}
	enc.self = false
	enc.buf = appendEntry(enc.buf[:0], e)
	enc.n += int64(len(enc.buf))
	_, err := enc.w.Write(enc.buf)
	return err
}

// Len is how many bytes Add has written so far.
func (enc *Encoder) Len() int64 { return enc.n }

// Close flushes. A root record must have had its own entry.
func (enc *Encoder) Close() error {
	if enc.self {
		return errors.New("record: the root's own entry is missing")
	}
	return enc.w.Flush()
}

// appendEntry is the wire form of one entry:
//
//	u8 type, u8 len(name), name, u32 mode, u32 uid, u32 gid,
//	i64 mtime_sec, u32 mtime_nsec, u64 size,
//	file: 16-byte file ID, 16-byte link group; symlink: the target (size bytes),
//	u16 number of xattrs, each: u8 len(name), name, u32 len(value), value
//
// all integers big-endian.
func appendEntry(b []byte, e *Entry) []byte {
	be := binary.BigEndian
	b = append(b, byte(e.Type), byte(len(e.Name)))
	b = append(b, e.Name...)
	b = be.AppendUint32(b, e.Mode)
	b = be.AppendUint32(b, e.UID)
	b = be.AppendUint32(b, e.GID)
	b = be.AppendUint64(b, uint64(e.MtimeSec))
	b = be.AppendUint32(b, e.MtimeNsec)
	b = be.AppendUint64(b, e.Size)
	switch e.Type {
	case File:
		b = append(b, e.FileID[:]...)
		b = append(b, e.Link[:]...)
	case Symlink:
		b = append(b, e.Target...)
	}
	b = be.AppendUint16(b, uint16(len(e.Xattrs)))
	for _, x := range e.Xattrs {
		b = append(b, byte(len(x.Name)))
		b = append(b, x.Name...)
		b = be.AppendUint32(b, uint32(len(x.Value)))
		b = append(b, x.Value...)
	}
	return b
}

// Encode is the whole plaintext of a record; self is the root's own entry
// (nil for any other directory), entries sorted by name.
func Encode(self *Entry, entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf, self != nil)
	if self != nil {
		if err := enc.Add(self); err != nil {
			return nil, err
		}
	}
	for i := range entries {
		if err := enc.Add(&entries[i]); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decoder reads a record's plaintext entry by entry, so a huge directory
// is never held whole, and checks every rule as it goes.
type Decoder struct {
	r    *bufio.Reader
	self bool
	last string
	any  bool
}

// NewDecoder reads the plaintext of a record from r; root as in NewEncoder.
func NewDecoder(r io.Reader, root bool) *Decoder {
	return &Decoder{r: bufio.NewReader(r), self: root}
}

// Next returns the next entry, io.EOF after the last, or an ErrSyntax.
// For a root record the first entry is the root's own.
func (d *Decoder) Next() (Entry, error) {
	var e Entry
	t, err := d.r.ReadByte()
	if err == io.EOF {
		if d.self {
			return e, fmt.Errorf("%w: the root's own entry is missing", ErrSyntax)
		}
		return e, io.EOF
	}
	if err != nil {
		return e, err
	}
	if err := d.entry(&e, Type(t)); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Entry{}, fmt.Errorf("%w: cut inside an entry", ErrSyntax)
		}
		return Entry{}, err
	}
	if err := e.check(d.self); err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	if !d.self {
		if d.any && e.Name <= d.last {
			return Entry{}, fmt.Errorf("%w: names out of order or repeated", ErrSyntax)
		}
		d.last, d.any = e.Name, true
	}
	d.self = false
	return e, nil
}

// entry reads the fields after the type byte. Lengths are checked before
// anything is allocated, so a hostile record cannot make it allocate more
// than the limits allow.
func (d *Decoder) entry(e *Entry, t Type) error {
	e.Type = t
	if t != File && t != Dir && t != Symlink {
		return fmt.Errorf("%w: unknown entry %s", ErrSyntax, t)
	}
	name, err := d.bytes8()
	if err != nil {
		return err
	}
	e.Name = string(name)
	var fixed [4 + 4 + 4 + 8 + 4 + 8]byte
	if _, err := io.ReadFull(d.r, fixed[:]); err != nil {
		return err
	}
	be := binary.BigEndian
	e.Mode, e.UID, e.GID = be.Uint32(fixed[0:]), be.Uint32(fixed[4:]), be.Uint32(fixed[8:])
	e.MtimeSec, e.MtimeNsec = int64(be.Uint64(fixed[12:])), be.Uint32(fixed[20:])
	e.Size = be.Uint64(fixed[24:])
	switch t {
	case File:
		if _, err := io.ReadFull(d.r, e.FileID[:]); err != nil {
			return err
		}
		if _, err := io.ReadFull(d.r, e.Link[:]); err != nil {
			return err
		}
	case Symlink:
		if e.Size == 0 || e.Size > MaxTarget {
			return fmt.Errorf("%w: symlink target length %d", ErrSyntax, e.Size)
		}
		target := make([]byte, e.Size)
		if _, err := io.ReadFull(d.r, target); err != nil {
			return err
		}
		e.Target = string(target)
	}
	var n [2]byte
	if _, err := io.ReadFull(d.r, n[:]); err != nil {
		return err
	}
	count := int(be.Uint16(n[:]))
	if count > MaxXattrs {
		return fmt.Errorf("%w: %d xattrs", ErrSyntax, count)
	}
	for range count {
		name, err := d.bytes8()
		if err != nil {
			return err
		}
		var l [4]byte
		if _, err := io.ReadFull(d.r, l[:]); err != nil {
			return err
		}
		size := be.Uint32(l[:])
		if size > MaxXattrValue {
			return fmt.Errorf("%w: xattr value of %d bytes", ErrSyntax, size)
		}
		v := make([]byte, size)
		if _, err := io.ReadFull(d.r, v); err != nil {
			return err
		}
		e.Xattrs = append(e.Xattrs, Xattr{Name: string(name), Value: v})
	}
	return nil
}

// bytes8 reads a string with a one-byte length.
func (d *Decoder) bytes8() ([]byte, error) {
	l, err := d.r.ReadByte()
	if err != nil {
		return nil, err
	}
	b := make([]byte, l)
	_, err = io.ReadFull(d.r, b)
	return b, err
}

// Decode reads a whole record: the root's own entry (root records only)
// and the others.
func Decode(plain []byte, root bool) (self *Entry, entries []Entry, err error) {
	d := NewDecoder(bytes.NewReader(plain), root)
	for {
		e, err := d.Next()
		if err == io.EOF {
			return self, entries, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if root && self == nil {
			self = &e
			continue
		}
		entries = append(entries, e)
	}
}
