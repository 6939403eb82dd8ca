//go:build unix

package main

// Reject vectors: one file per MUST-reject rule of docs/FORMAT.md (see its
// "What a decoder MUST reject" table), age-style. Each has the header lines
// "expect: reject" and "rule: <short name>", the inputs the decoder needs,
// and the bytes under test as its body: the view name, the companion file,
// the stored symlink target, the ciphertext file or the config file.

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/efs-project/efs/internal/vectors"
)

func newReject(kind, rule, comment string) *vectors.Vector {
	v := newVector(kind, comment)
	v.Set("expect", "reject")
	v.Set("rule", rule)
	return v
}

// replaceOnce is strings.Replace that insists on exactly one match, so a
// change to the valid text cannot silently leave a vector valid.
func replaceOnce(s, old, new string) string {
	if strings.Count(s, old) != 1 {
		panic(fmt.Sprintf("internal error: %q occurs %d times", old, strings.Count(s, old)))
	}
	return strings.Replace(s, old, new, 1)
}

func (g *gen) rejectConfigs() error {
	kek := kek()
	def := configSettings{2, "base32", "inode", 255, 4096}
	// A v1 config with the v2-only file-ID mode, MAC and all: every field
	// is fine alone.
	v1Version := configSettings{1, "base32", "version", 255, 4096}
	valid := configText(def, def, "efs vectorgen", kek)
	wrapped := valid[strings.Index(valid, "wrapped = \"")+len("wrapped = \"") : strings.Index(valid, "\"\nmac")]
	for _, c := range []struct {
		file, rule, comment, body string
	}{
		{"reject-config-version", "config-strict", "version 3: no such format",
			replaceOnce(valid, "version = 2\n", "version = 3\n")},
		{"reject-config-v1-file-id-version", "config-strict", "file_id \"version\" in a version 1 config (it needs format v2)",
			configText(v1Version, v1Version, "efs vectorgen", kek)},
		{"reject-config-unknown-field", "config-strict", "a field that is not in FORMAT.md's table",
			replaceOnce(valid, "flags = 0\n", "flags = 0\ncompression = \"none\"\n")},
		{"reject-config-base64", "config-strict", "key.wrapped with a line break (a TOML \\n escape): not the canonical base64 of its bytes",
			replaceOnce(valid, wrapped, wrapped[:32]+`\n`+wrapped[32:])},
		// block_size changed after the MAC was computed: the password
		// unwraps the key, the fields do not authenticate.
		{"reject-config-mac", "config-mac", "block_size 8192 with a MAC computed over 4096",
			configText(configSettings{2, "base32", "inode", 255, 8192}, def, "efs vectorgen", kek)},
	} {
		v := newReject("config", c.rule, c.comment)
		v.Set("password", password)
		v.Set("master_key", hexs(masterKey))
		v.Body = []byte(c.body)
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) rejectRecovery() error {
	h := hexs(masterKey)
	groups := func(h string) string {
		var parts []string
		for ; len(h) > 8; h = h[8:] {
			parts = append(parts, h[:8])
		}
		return strings.Join(append(parts, h), "-")
	}
	for _, c := range []struct{ file, comment, text string }{
		{"reject-recovery-short", "63 hex digits", groups(h[:63])},
		{"reject-recovery-long", "66 hex digits", groups(h + "20")},
		{"reject-recovery-nonhex", "64 characters, one of them not a hex digit", groups(h[:63] + "g")},
		{"reject-recovery-separator", "64 hex digits with a separator that is not '-', space, tab or newline", strings.ReplaceAll(groups(h), "-", ":")},
	} {
		v := newReject("recovery", "recovery-form", c.comment)
		v.Body = []byte(c.text)
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) rejectNames() error {
	enc32 := func(parent, name string) string {
		return b32.EncodeToString(sivSeal(nameKey, []byte(name), []byte(parent)))
	}
	// "report.txt" seals to 26 bytes: 42 base32 characters whose last one
	// has 2 unused bits, 35 base64url characters plus one padding '='.
	const parent, name = "docs", "report.txt"
	valid := enc32(parent, name)
	lastBit := strings.IndexByte("abcdefghijklmnopqrstuvwxyz234567", valid[len(valid)-1]) ^ 1
	b64Padded := b64.EncodeToString(sivSeal(nameKey, []byte(name), []byte(parent))) + "="

	longName := strings.Repeat("long file name ", 12) + "end.txt"
	longFull := enc32(parent, longName)
	tooLong := enc32(parent, strings.Repeat("x", 256))
	// One character changed: still canonical base32, but another hash.
	alteredLong := longFull[:10] + string("ab"[btoi(longFull[10] == 'a')]) + longFull[11:]
	short := enc32(parent, "hello.txt")

	// Just over name_max = 143, stored as is in a v1 backup.
	over143 := enc32(parent, strings.Repeat("n", 70)+".txt")

	for _, c := range []struct {
		file, rule, comment, encoding, parent, entry string
		companion                                    string // for long names: the companion's content
		format, nameMax                              int
	}{
		{"reject-name-base32-upper", "name-encoding", "a valid name in upper case", "base32", parent, strings.ToUpper(valid), "", 1, 255},
		{"reject-name-base32-bits", "name-encoding", "a valid name with an unused bit of its last character set", "base32", parent,
			valid[:len(valid)-1] + string("abcdefghijklmnopqrstuvwxyz234567"[lastBit]), "", 1, 255},
		{"reject-name-base32-newline", "name-encoding", "a valid name with a line break inside", "base32", parent, valid[:20] + "\n" + valid[20:], "", 1, 255},
		{"reject-name-base64-padded", "name-encoding", "a valid base64url name with padding", "base64", parent, b64Padded, "", 1, 255},
		{"reject-name-empty", "name-encoding", "the empty name: 16 bytes once decoded", "base32", parent, enc32(parent, ""), "", 1, 255},
		{"reject-name-moved", "name-auth", "encrypted in docs, found in docs/2024", "base32", "docs/2024", valid, "", 1, 255},
		{"reject-name-dot", "name-invalid", "decrypts to \".\"", "base32", parent, enc32(parent, "."), "", 1, 255},
		{"reject-name-dotdot", "name-invalid", "decrypts to \"..\"", "base32", parent, enc32(parent, ".."), "", 1, 255},
		{"reject-name-slash", "name-invalid", "decrypts to a name with '/'", "base32", parent, enc32(parent, "a/b"), "", 1, 255},
		{"reject-name-nul", "name-invalid", "decrypts to a name with a zero byte", "base32", parent, enc32(parent, "a\x00b"), "", 1, 255},
		{"reject-name-too-long", "name-invalid", "a long name (through its companion) that decrypts to 256 bytes", "base32", parent,
			standIn(1, tooLong), tooLong, 1, 255},
		{"reject-companion-hash", "companion-hash", "a companion with one character changed: it no longer hashes to its stand-in", "base32", parent,
			standIn(1, longFull), alteredLong, 1, 255},
		{"reject-companion-short", "companion-short", "a companion holding a name short enough to be stored as is", "base32", parent,
			standIn(1, short), short, 1, 255},
		{"reject-name-spelling", "name-spelling", "an authentic name longer than name_max stored as is, not under its stand-in", "base32", parent,
			longFull, "", 2, 255},
		{"reject-name-spelling-v1", "name-spelling", "an authentic name of 144 characters stored as is with name_max = 143, in a v1 backup", "base32", parent,
			over143, "", 1, 143},
	} {
		v := newReject("name", c.rule, c.comment)
		v.Set("format", strconv.Itoa(c.format))
		v.Set("name_key", hexs(nameKey))
		v.Set("encoding", c.encoding)
		v.Set("name_max", strconv.Itoa(c.nameMax))
		v.Set("parent_hex", hexs([]byte(c.parent)))
		if c.companion != "" {
			// The body is the companion file; entry is its stand-in.
			v.Set("entry", c.entry)
			v.Body = []byte(c.companion)
		} else {
			v.Body = []byte(c.entry)
		}
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (g *gen) rejectSymlinks() error {
	const link = "docs/latest"
	enc := func(target string) string {
		return b64.EncodeToString(sivSeal(symlinkKey, []byte(target), []byte(link)))
	}
	// "report.pdf" seals to 26 bytes: base64url needs one '=' of padding.
	valid := enc("report.pdf")
	for _, c := range []struct {
		file, rule, comment, link, stored string
	}{
		{"reject-symlink-padded", "symlink-encoding", "a valid target with base64 padding", link, valid + "="},
		{"reject-symlink-short", "symlink-encoding", "15 bytes once decoded: shorter than the SIV tag", link,
			b64.EncodeToString(sivSeal(symlinkKey, []byte("x"), []byte(link))[:15])},
		{"reject-symlink-moved", "symlink-auth", "the target of docs/latest, found at docs/other", "docs/other", valid},
		{"reject-symlink-empty", "symlink-invalid", "decrypts to the empty target", link, enc("")},
		{"reject-symlink-nul", "symlink-invalid", "decrypts to a target with a zero byte", link, enc("a\x00b")},
	} {
		v := newReject("symlink", c.rule, c.comment)
		v.Set("format", "1")
		v.Set("symlink_key", hexs(symlinkKey))
		v.Set("link_path_hex", hexs([]byte(c.link)))
		v.Body = []byte(c.stored)
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) rejectContents() error {
	const path, bs = "docs/report.pdf", 4096
	const cbs = bs + 16 // a full ciphertext block
	id := fileID("inode", 1234567, path)
	blocks := func(n int) [][]byte { return seal(header(id, bs), path, plaintext(n), bs) }
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	flip := func(b []byte, i int, bit byte) []byte {
		b = bytes.Clone(b)
		b[i] ^= bit
		return b
	}
	withHeaderByte := func(i int, v byte) []byte {
		b := join(blocks(1)...)
		b[i] = v
		return b
	}
	two, full, three := blocks(4097), blocks(4096), blocks(8193)
	// The same plaintext sealed under another file's ID: its blocks are
	// those of another file.
	otherHdr := header(fileID("inode", 7654321, path), bs)
	other := seal(otherHdr, path, plaintext(4097), bs)

	for _, c := range []struct {
		file, rule, comment, path string
		body                      []byte
		bad                       []int // blocks that must fail (rule block-auth)
	}{
		{"reject-header-magic", "header", "magic \"EFT\"", path, withHeaderByte(2, 'T'), nil},
		{"reject-header-version", "header", "version 2", path, withHeaderByte(3, 2), nil},
		{"reject-header-flags", "header", "flag bit 2 (defined in no format) set", path, withHeaderByte(4, 4), nil},
		{"reject-header-shift-11", "header", "block shift 11 (2 KiB blocks)", path, withHeaderByte(5, 11), nil},
		{"reject-header-shift-21", "header", "block shift 21 (2 MiB blocks)", path, withHeaderByte(5, 21), nil},
		{"reject-header-reserved", "header", "a reserved byte set", path, withHeaderByte(7, 1), nil},
		{"reject-header-record", "header", "the directory record of docs (header flags 0x02) where the file docs/report.pdf belongs", path,
			bytes.Join(sealRecord(docsDir, recordPlain(nil, docsEntries()), bs), nil), nil},
		{"reject-size-zero", "size", "a file truncated to 0 bytes", path, []byte{}, nil},
		{"reject-size-header-only", "size", "the empty file cut to its header: its empty final block is missing", path,
			blocks(0)[0], nil},
		{"reject-size-inside-block", "size", "a 4097-byte file cut 5 bytes short: its final block is shorter than a tag", path,
			join(two...)[:24+cbs+12], nil},
		{"reject-size-empty-block-after-full", "size", "a 4096-byte file followed by 16 bytes: an empty block after a full one", path,
			append(join(full...), full[1][:16]...), nil},
		{"reject-block-empty", "block-auth", "the empty file with a bit of its empty final block flipped", path,
			flip(join(blocks(0)...), 24, 0x01), []int{0}},
		{"reject-block-tag", "block-auth", "a 4097-byte file with a bit of block 0's tag flipped", path,
			flip(join(two...), 24+3, 0x10), []int{0}},
		{"reject-block-data", "block-auth", "a 4097-byte file with a bit of block 1's ciphertext flipped", path,
			flip(join(two...), 24+cbs+16, 0x80), []int{1}},
		{"reject-block-truncated", "block-auth", "an 8193-byte file without its final block: cut at a block boundary", path,
			join(three[:3]...), []int{1}},
		{"reject-block-appended", "block-auth", "a 4096-byte file with a copy of its block appended after the final block", path,
			join(full[0], full[1], full[1]), []int{0, 1}},
		{"reject-block-reordered", "block-auth", "an 8193-byte file with blocks 0 and 1 swapped", path,
			join(three[0], three[2], three[1], three[3]), []int{0, 1}},
		{"reject-block-repeated", "block-auth", "an 8193-byte file with block 0 in place of block 1", path,
			join(three[0], three[1], three[1], three[3]), []int{1}},
		{"reject-block-dropped", "block-auth", "an 8193-byte file without block 1", path,
			join(three[0], three[1], three[3]), []int{1}},
		{"reject-block-moved", "block-auth", "the ciphertext of docs/report.pdf found at docs/summary.pdf", "docs/summary.pdf",
			join(two...), []int{0, 1}},
		{"reject-block-other-file", "block-auth", "a 4097-byte file's header followed by the blocks of another file (another file ID)", path,
			join(two[0], other[1], other[2]), []int{0, 1}},
	} {
		v := newReject("content", c.rule, c.comment)
		v.Set("content_key", hexs(contentKey))
		v.Set("path", c.path)
		v.Set("block_size", strconv.Itoa(bs))
		if c.rule == "block-auth" {
			bad := make([]string, len(c.bad))
			for i, b := range c.bad {
				bad[i] = strconv.Itoa(b)
			}
			v.Set("bad_blocks", strings.Join(bad, ","))
		}
		v.Body = c.body
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}
