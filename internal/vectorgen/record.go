//go:build unix

package main

// Directory records (format v2), FORMAT.md "Directory records": the
// plaintext of a record as the spec's table lays it out, the link group,
// and the record's file ID, header and key, computed from the formulas
// without the record package. The record vectors give each entry as a
// line of fields (entryLine), so a test can rebuild it through the API.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/efs-project/efs/internal/vectors"
)

// recXattr is one xattr of a record entry.
type recXattr struct {
	name  string
	value []byte
}

// recEntry is one entry of a record plaintext. It does not check the
// rules, so the reject vectors can break them.
type recEntry struct {
	typ            string // "file", "dir" or "symlink"
	name           string
	mode, uid, gid uint32
	sec            int64
	nsec           uint32
	size           uint64
	fileID, link   []byte // files only; a nil link is all zero
	target         string // symlinks only
	xattrs         []recXattr
}

var recTypes = map[string]byte{"file": 1, "dir": 2, "symlink": 3}

// encode is the entry's bytes, FORMAT.md "Record plaintext".
func (e recEntry) encode() []byte {
	be := binary.BigEndian
	b := []byte{recTypes[e.typ], byte(len(e.name))}
	b = append(b, e.name...)
	b = be.AppendUint32(b, e.mode)
	b = be.AppendUint32(b, e.uid)
	b = be.AppendUint32(b, e.gid)
	b = be.AppendUint64(b, uint64(e.sec))
	b = be.AppendUint32(b, e.nsec)
	b = be.AppendUint64(b, e.size)
	switch e.typ {
	case "file":
		b = append(b, fixed16(e.fileID)...)
		b = append(b, fixed16(e.link)...)
	case "symlink":
		b = append(b, e.target...)
	}
	b = be.AppendUint16(b, uint16(len(e.xattrs)))
	for _, x := range e.xattrs {
		b = append(b, byte(len(x.name)))
		b = append(b, x.name...)
		b = be.AppendUint32(b, uint32(len(x.value)))
		b = append(b, x.value...)
	}
	return b
}

func fixed16(b []byte) []byte {
	if b == nil {
		return make([]byte, 16)
	}
	if len(b) != 16 {
		panic("internal error: a file ID or link group that is not 16 bytes")
	}
	return b
}

// line is the entry as a record vector spells it: the type, then
// space-separated key=value fields (FORMAT.md "Test vectors").
func (e recEntry) line() string {
	f := []string{e.typ,
		"name_hex=" + hexs([]byte(e.name)),
		"mode=" + fmt.Sprintf("%04o", e.mode),
		"uid=" + strconv.FormatUint(uint64(e.uid), 10),
		"gid=" + strconv.FormatUint(uint64(e.gid), 10),
		"mtime_sec=" + strconv.FormatInt(e.sec, 10),
		"mtime_nsec=" + strconv.FormatUint(uint64(e.nsec), 10),
		"size=" + strconv.FormatUint(e.size, 10),
	}
	switch e.typ {
	case "file":
		f = append(f, "file_id="+hexs(fixed16(e.fileID)), "link="+hexs(fixed16(e.link)))
	case "symlink":
		f = append(f, "target_hex="+hexs([]byte(e.target)))
	}
	for _, x := range e.xattrs {
		f = append(f, "xattr="+hexs([]byte(x.name))+":"+hexs(x.value))
	}
	return strings.Join(f, " ")
}

// recordPlain is a record's plaintext: the root's own entry (nil for
// other directories), then the entries as given.
func recordPlain(self *recEntry, entries []recEntry) []byte {
	var b []byte
	if self != nil {
		b = self.encode()
	}
	for _, e := range entries {
		b = append(b, e.encode()...)
	}
	return b
}

// linkGroup is FORMAT.md's link group of the file (dev, ino).
func linkGroup(dev, ino uint64) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint64(b, dev)
	b = binary.BigEndian.AppendUint64(b, ino)
	return hmacSHA256(fileIDKey, []byte("efs-v2 link group\x00"), b)[:16]
}

// recordFileID is the record file ID of the plaintext plain of the
// directory at dir, FORMAT.md "Sealing".
func recordFileID(dir string, plain []byte) []byte {
	return hmacSHA256(fileIDKey, []byte("efs-v2 record\x00"), binary.BigEndian.AppendUint64(nil, uint64(len(dir))), []byte(dir), plain)[:16]
}

// recordKey is the AES-SIV key of a record with header hdr in dir.
func recordKey(hdr []byte, dir string) []byte {
	info := append([]byte("efs-v2 record key\x00"), hdr...)
	return hkdfKey(contentKey, string(append(info, dir...)), 64)
}

// sealRecord is the stored record of plain in dir: header, then blocks.
func sealRecord(dir string, plain []byte, bs int) [][]byte {
	hdr := headerFlags(recordFileID(dir, plain), bs, 0x02)
	return sealWith(recordKey(hdr, dir), hdr, plain, bs)
}

// viewMtime is the modification time the view shows for a record.
func viewMtime(id []byte) int64 {
	return 946684800 + int64(binary.BigEndian.Uint32(id[:4])&(1<<30-1))
}

// posixACL is the kernel's xattr form of a POSIX ACL (version 2, then
// little-endian tag, permissions, id per entry).
func posixACL(entries ...[3]uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, uint16(e[0]))
		b = binary.LittleEndian.AppendUint16(b, uint16(e[1]))
		b = binary.LittleEndian.AppendUint32(b, e[2])
	}
	return b
}

// defaultACL: user::rwx, user:1001:rwx, group::r-x, mask::rwx, other::r-x.
func defaultACL() []byte {
	const undefined = 0xffffffff
	return posixACL([3]uint32{0x01, 7, undefined}, [3]uint32{0x02, 7, 1001}, [3]uint32{0x04, 5, undefined},
		[3]uint32{0x10, 7, undefined}, [3]uint32{0x20, 5, undefined})
}

func symlinkEntry(name, target string, sec int64, nsec uint32) recEntry {
	return recEntry{typ: "symlink", name: name, mode: 0o777, uid: 1000, gid: 1000, sec: sec, nsec: nsec,
		size: uint64(len(target)), target: target}
}

// The directories of the record vectors (paths relative to the root).
const (
	docsDir  = "docs"
	linksDir = "docs/links"
)

// docsEntries is the small directory "docs": a symlink, a directory with
// a default ACL, and a file with a link group and two user xattrs.
func docsEntries() []recEntry {
	return []recEntry{
		symlinkEntry("latest", "report.pdf", 1700000000, 500000000),
		{typ: "dir", name: "photos", mode: 0o2775, uid: 1000, gid: 100, sec: 1699999999, nsec: 999999999,
			xattrs: []recXattr{{"system.posix_acl_default", defaultACL()}}},
		{typ: "file", name: "report.pdf", mode: 0o640, uid: 1000, gid: 1000, sec: 1234567890, nsec: 123456789, size: 20000,
			fileID: fileID("inode", 1234567, docsDir+"/report.pdf"), link: linkGroup(0, 1234567),
			xattrs: []recXattr{{"user.comment", []byte("draft 2")}, {"user.mime_type", []byte("application/pdf")}}},
	}
}

// rootSelf and rootEntries are the root: its own entry, then a directory,
// a file from before 1970, and a set-uid file.
func rootSelf() *recEntry {
	return &recEntry{typ: "dir", mode: 0o755, sec: 1700000001, xattrs: []recXattr{{"user.backup", []byte("weekly")}}}
}

func rootEntries() []recEntry {
	return []recEntry{
		{typ: "dir", name: "docs", mode: 0o755, uid: 1000, gid: 1000, sec: 1700000002, nsec: 1},
		{typ: "file", name: "hello.txt", mode: 0o644, uid: 1000, gid: 1000, sec: -1, nsec: 500000000, size: 6,
			fileID: fileID("inode", 42, "hello.txt")},
		{typ: "file", name: "tool", mode: 0o4755, sec: 1600000000, size: 100, fileID: fileID("inode", 43, "tool")},
	}
}

// linksEntries is "docs/links", whose record takes two blocks: a file
// with a 1500-byte xattr (and a version-mode file ID) and a symlink with
// the 3100-byte target of symlink-long-v2. mtime picks the file's version.
func linksEntries(mtime int64) []recEntry {
	blob := bytes.Repeat([]byte("0123456789abcdef"), 94)[:1500]
	return []recEntry{
		{typ: "file", name: "big", mode: 0o600, uid: 1000, gid: 1000, sec: mtime, size: 5,
			fileID: versionFileID(77, mtime, 0, 5, linksDir+"/big"), xattrs: []recXattr{{"user.blob", blob}}},
		symlinkEntry("far", longTarget, 1700000003, 0),
	}
}

func (g *gen) linkGroups() error {
	for _, c := range []struct {
		file, comment string
		dev, ino      uint64
	}{
		{"link-group-root-device", "hard-link group of a file on the device of the tree's root (dev 0)", 0, 1234567},
		{"link-group-other-device", "hard-link group of a file on another device (st_dev 8:3)", 0x803, 12},
	} {
		v := newVector("link-group", c.comment)
		v.Set("file_id_key", hexs(fileIDKey))
		v.Set("dev", strconv.FormatUint(c.dev, 10))
		v.Set("ino", strconv.FormatUint(c.ino, 10))
		v.Set("link_group", hexs(linkGroup(c.dev, c.ino)))
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}

// maxRecordHex is the largest ciphertext a record vector spells out.
const maxRecordHex = 1024

func (g *gen) records() error {
	const bs = 4096
	for _, c := range []struct {
		file, comment, dir string
		self               *recEntry
		entries            []recEntry
	}{
		{"record-dir", "the record of a small directory: a symlink, a directory with a default ACL, a hard-linked file with user xattrs",
			docsDir, nil, docsEntries()},
		{"record-root", "the root's record: its own entry first, then a directory, a file from before 1970 and a set-uid file",
			"", rootSelf(), rootEntries()},
		{"record-empty", "the record of an empty directory: an empty plaintext, one empty final block", "docs/photos", nil, nil},
		{"record-two-blocks", "a record of two blocks: a 1500-byte xattr and a 3100-byte symlink target", linksDir, nil, linksEntries(1700000000)},
	} {
		plain := recordPlain(c.self, c.entries)
		parts := sealRecord(c.dir, plain, bs)
		whole := bytes.Join(parts, nil)
		sum := sha256.Sum256(whole)
		v := newVector("record", c.comment)
		v.Set("content_key", hexs(contentKey))
		v.Set("file_id_key", hexs(fileIDKey))
		v.Set("block_size", strconv.Itoa(bs))
		v.Set("dir_path_hex", hexs([]byte(c.dir)))
		v.Set("root", strconv.FormatBool(c.self != nil))
		if c.self != nil {
			v.Set("self", c.self.line())
		}
		for i, e := range c.entries {
			v.Set(fmt.Sprintf("entry_%d", i+1), e.line())
		}
		v.Set("plaintext", hexs(plain))
		v.Set("plain_size", strconv.Itoa(len(plain)))
		id := recordFileID(c.dir, plain)
		v.Set("file_id", hexs(id))
		v.Set("header", hexs(parts[0]))
		v.Set("record_key", hexs(recordKey(parts[0], c.dir)))
		v.Set("view_mtime_sec", strconv.FormatInt(viewMtime(id), 10))
		v.Set("blocks", strconv.Itoa(len(parts)-1))
		v.Set("cipher_size", strconv.Itoa(len(whole)))
		v.Set("cipher_sha256", hexs(sum[:]))
		if len(whole) <= maxRecordHex {
			v.Set("ciphertext", hexs(whole))
		}
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) rejectRecords() error {
	const bs = 4096
	join := func(parts [][]byte) []byte { return bytes.Join(parts, nil) }
	docs := recordPlain(nil, docsEntries())
	sealedDocs := join(sealRecord(docsDir, docs, bs))
	flipped := bytes.Clone(sealedDocs)
	flipped[24+40] ^= 0x04

	// The record of docs sealed as a file: the same file ID, header flags
	// 0 and the file key of the path "docs".
	asFile := join(seal(header(recordFileID(docsDir, docs), bs), docsDir, docs, bs))

	// Two versions of docs/links (the file changed): the first block of
	// one, the second of the other.
	a := sealRecord(linksDir, recordPlain(nil, linksEntries(1700000000)), bs)
	b := sealRecord(linksDir, recordPlain(nil, linksEntries(1700000600)), bs)
	if len(a) != 3 || len(b) != 3 {
		panic("internal error: the docs/links record is not two blocks")
	}
	spliced := join([][]byte{a[0], a[1], b[2]})
	truncated := join(a[:2])

	for _, c := range []struct {
		file, comment, dir string
		body               []byte
	}{
		{"reject-record-flipped", "the record of docs with one bit of its block flipped", docsDir, flipped},
		{"reject-record-moved", "the record of docs found in archive: another directory's key", "archive", sealedDocs},
		{"reject-record-file", "the plaintext of docs's record sealed as the file at path docs: header flags 0, the file key", docsDir, asFile},
		{"reject-record-spliced", "the header and first block of one version of docs/links's record, the second block of another", linksDir, spliced},
		{"reject-record-truncated", "the record of docs/links without its final block: cut at a block boundary", linksDir, truncated},
	} {
		v := newReject("record", "record-auth", c.comment)
		setRecordInputs(v, c.dir, false, bs)
		v.Body = c.body
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}

	// Plaintexts that break a rule of "Record plaintext", each sealed
	// correctly: they authenticate and must fail to decode.
	e := docsEntries()
	swapped := []recEntry{e[1], e[0], e[2]}
	repeated := []recEntry{e[0], e[1], e[1], e[2]}
	badMode := docsEntries()
	badMode[2].mode = 0o100640 // S_IFREG left in
	badXattr := docsEntries()
	badXattr[2].xattrs = append([]recXattr{{"security.selinux", []byte("system_u:object_r:user_home_t:s0\x00")}}, badXattr[2].xattrs...)
	badNsec := docsEntries()
	badNsec[1].nsec = 1000000000
	aclOnFile := docsEntries()
	aclOnFile[2].xattrs = append([]recXattr{{"system.posix_acl_default", defaultACL()}}, aclOnFile[2].xattrs...)
	for _, c := range []struct {
		file, comment, dir string
		root               bool
		plain              []byte
	}{
		{"reject-record-order", "names out of order: photos before latest", docsDir, false, recordPlain(nil, swapped)},
		{"reject-record-repeated", "the entry photos twice", docsDir, false, recordPlain(nil, repeated)},
		{"reject-record-mode", "mode 0100640: file-type bits beyond 07777", docsDir, false, recordPlain(nil, badMode)},
		{"reject-record-nsec", "mtime nanoseconds of 10^9", docsDir, false, recordPlain(nil, badNsec)},
		{"reject-record-cut", "the plaintext cut inside its last entry (one byte short)", docsDir, false, docs[:len(docs)-1]},
		{"reject-record-root-without-self", "a root record whose first entry is not the root's own", "", true, recordPlain(nil, rootEntries())},
		{"reject-record-self-in-subdir", "a record of docs that starts with an own entry, which only the root's has", docsDir, false,
			recordPlain(&recEntry{typ: "dir", mode: 0o755}, docsEntries())},
		{"reject-record-xattr", "an xattr a record does not keep (security.selinux)", docsDir, false, recordPlain(nil, badXattr)},
		{"reject-record-acl-on-file", "a default ACL on a regular file", docsDir, false, recordPlain(nil, aclOnFile)},
	} {
		v := newReject("record", "record-syntax", c.comment)
		setRecordInputs(v, c.dir, c.root, bs)
		v.Set("plaintext", hexs(c.plain))
		v.Body = join(sealRecord(c.dir, c.plain, bs))
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}

// setRecordInputs sets what opening and decoding a stored record needs.
func setRecordInputs(v *vectors.Vector, dir string, root bool, bs int) {
	v.Set("content_key", hexs(contentKey))
	v.Set("file_id_key", hexs(fileIDKey))
	v.Set("block_size", strconv.Itoa(bs))
	v.Set("dir_path_hex", hexs([]byte(dir)))
	v.Set("root", strconv.FormatBool(root))
}
