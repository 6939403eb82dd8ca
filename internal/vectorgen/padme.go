//go:build unix

package main

// Padded vectors (FORMAT.md "Padding"): content and a record of a tree
// whose config sets flags bit 0, and the reject vectors of rule padding,
// header-padding and the padded size mapping.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
)

// padme is Padmé(L) as FORMAT.md spells it: E = floor(log2 L),
// S = floor(log2 E) + 1, z = E − S, rounded up to a multiple of 2^z.
func padme(L int) int {
	log2 := func(x int) int {
		e := 0
		for x > 1 {
			x >>= 1
			e++
		}
		return e
	}
	e := log2(L)
	s := log2(e) + 1
	mask := 1<<(e-s) - 1
	return (L + mask) &^ mask
}

// padded is the padded stream of plain: plain, zeros, uint64be(len(plain)).
func padded(plain []byte) []byte {
	return paddedAs(plain, len(plain), uint64(len(plain)))
}

// paddedAs pads plain as if it were n bytes long and writes trailer as the
// trailer (the reject vectors lie in it).
func paddedAs(plain []byte, n int, trailer uint64) []byte {
	p := padme(n + 8)
	out := make([]byte, p)
	copy(out, plain)
	binary.BigEndian.PutUint64(out[p-8:], trailer)
	return out
}

// sealPaddedRecord is the stored record of plain in dir in a padded tree:
// the file ID of plain, header flags 0x03, the padded stream's blocks.
func sealPaddedRecord(dir string, plain []byte, bs int) [][]byte {
	hdr := headerFlags(recordFileID(dir, plain), bs, 0x03)
	return sealWith(recordKey(hdr, dir), hdr, padded(plain), bs)
}

func (g *gen) paddedContents() error {
	const path, bs = "docs/report.pdf", 4096
	id := fileID("inode", 1234567, path)
	for _, c := range []struct {
		size    int
		comment string
	}{
		{0, "the empty file padded: 8 bytes, its trailer alone"},
		{1, "one byte and its trailer, 9 bytes, padded to 10"},
		{4089, "the padding crosses the block boundary: the last block holds only padding and the trailer"},
		{5000, "the data crosses the block boundary"},
	} {
		hdr := headerFlags(id, bs, 0x01)
		plain := plaintext(c.size)
		stream := padded(plain)
		parts := seal(hdr, path, stream, bs)
		whole := bytes.Join(parts, nil)
		sum := sha256.Sum256(whole)
		v := newVector("content", "padded (padding = padme): "+c.comment+"; plaintext byte i is i mod 251")
		v.Set("content_key", hexs(contentKey))
		v.Set("path", path)
		v.Set("block_size", strconv.Itoa(bs))
		v.Set("padding", "padme")
		v.Set("file_id", hexs(id))
		v.Set("plain_size", strconv.Itoa(c.size))
		v.Set("padded_size", strconv.Itoa(len(stream)))
		v.Set("cipher_size", strconv.Itoa(len(whole)))
		v.Set("blocks", strconv.Itoa(len(parts)-1))
		v.Set("cipher_sha256", hexs(sum[:]))
		v.Set("header", hexs(hdr))
		v.Set("first_block", hexs(parts[1]))
		v.Set("last_block", hexs(parts[len(parts)-1]))
		if len(whole) <= 64 {
			v.Set("ciphertext", hexs(whole))
		}
		if err := g.write(fmt.Sprintf("content-padded-%d-bs%d", c.size, bs), v); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) paddedRecord() error {
	const bs = 4096
	plain := recordPlain(nil, docsEntries())
	stream := padded(plain)
	parts := sealPaddedRecord(docsDir, plain, bs)
	whole := bytes.Join(parts, nil)
	sum := sha256.Sum256(whole)
	v := newVector("record", "the record of record-dir in a padded tree: header flags 0x03, the record's plaintext padded as a file's")
	v.Set("content_key", hexs(contentKey))
	v.Set("file_id_key", hexs(fileIDKey))
	v.Set("block_size", strconv.Itoa(bs))
	v.Set("padding", "padme")
	v.Set("dir_path_hex", hexs([]byte(docsDir)))
	v.Set("root", "false")
	for i, e := range docsEntries() {
		v.Set(fmt.Sprintf("entry_%d", i+1), e.line())
	}
	v.Set("plaintext", hexs(plain))
	v.Set("plain_size", strconv.Itoa(len(plain)))
	v.Set("padded_size", strconv.Itoa(len(stream)))
	id := recordFileID(docsDir, plain)
	v.Set("file_id", hexs(id))
	v.Set("header", hexs(parts[0]))
	v.Set("record_key", hexs(recordKey(parts[0], docsDir)))
	v.Set("view_mtime_sec", strconv.FormatInt(viewMtime(id), 10))
	v.Set("blocks", strconv.Itoa(len(parts)-1))
	v.Set("cipher_size", strconv.Itoa(len(whole)))
	v.Set("cipher_sha256", hexs(sum[:]))
	if len(whole) <= maxRecordHex {
		v.Set("ciphertext", hexs(whole))
	}
	return g.write("record-padded", v)
}

func (g *gen) rejectPadding() error {
	const path, bs = "docs/report.pdf", 4096
	id := fileID("inode", 1234567, path)
	padHdr := headerFlags(id, bs, 0x01)
	plain := plaintext(5000) // padded to 5120: 4096 + 1024 bytes
	nonzero := padded(plain)
	nonzero[5050] = 1
	// 4992 bytes and their trailer, 5000 bytes: no Padmé value.
	short := append(bytes.Clone(plain[:4992]), binary.BigEndian.AppendUint64(nil, 4992)...)
	for _, c := range []struct {
		file, rule, comment, padding string
		body                         []byte
	}{
		{"reject-padding-nonzero", "padding", "a padded 5000-byte file whose padding byte 5050 is 0x01, sealed as it is: every block authenticates", "padme",
			bytes.Join(seal(padHdr, path, nonzero, bs), nil)},
		{"reject-padding-trailer", "padding", "a padded 5000-byte file (5120 bytes padded) whose trailer says 6000: 6000 bytes pad to 6144", "padme",
			bytes.Join(seal(padHdr, path, paddedAs(plain, 5000, 6000), bs), nil)},
		{"reject-padding-trailer-long", "padding", "a padded 5000-byte file whose trailer says 2^40 bytes, more than the 5112 its 5120 bytes can hold", "padme",
			bytes.Join(seal(padHdr, path, paddedAs(plain, 5000, 1<<40), bs), nil)},
		{"reject-size-padded", "size", "a padded stream of 5000 bytes (4992 bytes and their trailer): 5000 is no Padmé value", "padme",
			bytes.Join(seal(padHdr, path, short, bs), nil)},
		{"reject-header-padding-missing", "header-padding", "an unpadded 5000-byte file (header flags 0) in a padded tree", "padme",
			bytes.Join(seal(header(id, bs), path, plain, bs), nil)},
		{"reject-header-padding-unexpected", "header-padding", "a padded 5000-byte file (header flags 0x01) in a tree without padding", "none",
			bytes.Join(seal(padHdr, path, padded(plain), bs), nil)},
	} {
		v := newReject("content", c.rule, c.comment)
		v.Set("content_key", hexs(contentKey))
		v.Set("path", path)
		v.Set("block_size", strconv.Itoa(bs))
		v.Set("padding", c.padding)
		v.Body = c.body
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}
