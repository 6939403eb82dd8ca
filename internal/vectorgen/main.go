//go:build unix

// Command vectorgen writes efs's test vectors (formats v1 and v2) into
// testdata/vectors/ (docs/FORMAT.md, "Test vectors") and the seed corpora of
// the fuzz targets into {content,naming,config,record}/testdata/fuzz/. Run it
// from the module root:
//
//	go run ./internal/vectorgen
//
// With -backup DIR it instead makes a frozen backup with the efs binary
// (see backup.go); that is done once per format version, never by tests.
//
// It deliberately does not call the content, naming, keys, config or record
// packages: it computes every value from the primitives (HKDF, HMAC, AES-SIV, argon2id,
// base32/base64) exactly as FORMAT.md spells them, so the TestVectors tests,
// which go through the packages' public APIs, check the code against an
// independent reading of the spec. Output is deterministic: running it twice
// gives the same files.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/efs-project/efs/internal/vectors"
	"github.com/miscreant/miscreant.go"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/hkdf"
)

// masterKey is the fixed master key of every vector: bytes 0x00..0x1f.
var masterKey = func() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

var (
	b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	b64 = base64.RawURLEncoding
)

func main() {
	root := flag.String("root", ".", "module root `directory`")
	backup := flag.String("backup", "", "instead of the vectors, write a new frozen backup into `DIR` (which must not exist)")
	format := flag.Int("format", 2, "the format `version` of the -backup tree")
	flag.Parse()
	if *backup != "" {
		if err := writeBackup(*root, *backup, *format); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := run(filepath.Join(*root, "testdata", "vectors")); err != nil {
		log.Fatal(err)
	}
	if err := fuzzSeeds(*root); err != nil {
		log.Fatal(err)
	}
}

type gen struct {
	dir   string
	files map[string]bool
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	g := &gen{dir: dir, files: map[string]bool{}}
	for _, f := range []func() error{g.subkeys, g.fileIDs, g.fileKey, g.contents, g.names, g.symlinks, g.configs,
		g.linkGroups, g.records, g.hiddenMtimes, g.paddedContents, g.paddedRecord,
		g.rejectConfigs, g.rejectRecovery, g.rejectNames, g.rejectSymlinks, g.rejectContents, g.rejectRecords, g.rejectPadding} {
		if err := f(); err != nil {
			return err
		}
	}
	// Remove vectors this generator no longer writes.
	old, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	for _, p := range old {
		if !g.files[filepath.Base(p)] {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *gen) write(name string, v *vectors.Vector) error {
	g.files[name+".txt"] = true
	return os.WriteFile(filepath.Join(g.dir, name+".txt"), v.Marshal(), 0o644)
}

func hkdfKey(ikm []byte, info string, n int) []byte {
	k := make([]byte, n)
	if _, err := io.ReadFull(hkdf.New(sha256.New, ikm, nil, []byte(info)), k); err != nil {
		panic(err)
	}
	return k
}

func sivSeal(key, plain, ad []byte) []byte {
	c, err := miscreant.NewAESCMACSIV(key)
	if err != nil {
		panic(err)
	}
	ct, err := c.Seal(nil, plain, ad)
	if err != nil {
		panic(err)
	}
	return ct
}

func hmacSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// Subkeys, FORMAT.md "Key hierarchy".
var (
	nameKey      = hkdfKey(masterKey, "efs-v1 names", 64)
	symlinkKey   = hkdfKey(masterKey, "efs-v1 symlinks", 64)
	contentKey   = hkdfKey(masterKey, "efs-v1 content", 32)
	fileIDKey    = hkdfKey(masterKey, "efs-v1 file-id", 32)
	inodeKey     = hkdfKey(masterKey, "efs-v1 inode", 32)
	configMACKey = hkdfKey(masterKey, "efs-v1 config mac", 32)
)

func hexs(b []byte) string { return hex.EncodeToString(b) }

// mustHex is a hex field of a vector this program wrote itself.
func mustHex(v *vectors.Vector, key string) []byte {
	b, err := v.Hex(key)
	if err != nil {
		panic("internal error: " + err.Error())
	}
	return b
}

func newVector(kind, comment string) *vectors.Vector {
	v := &vectors.Vector{}
	v.Set("kind", kind)
	v.Set("comment", comment)
	return v
}

func (g *gen) subkeys() error {
	v := newVector("subkeys", "HKDF-SHA256 subkeys of the fixed master key")
	v.Set("master_key", hexs(masterKey))
	v.Set("recovery", recoveryForm(masterKey))
	v.Set("name_key", hexs(nameKey))
	v.Set("symlink_key", hexs(symlinkKey))
	v.Set("content_key", hexs(contentKey))
	v.Set("file_id_key", hexs(fileIDKey))
	v.Set("inode_key", hexs(inodeKey))
	v.Set("config_mac_key", hexs(configMACKey))
	return g.write("subkeys", v)
}

func fileID(mode string, ino uint64, path string) []byte {
	if mode == "path" {
		return hmacSHA256(fileIDKey, []byte("efs-v1 file-id path\x00"), []byte(path))[:16]
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ino)
	return hmacSHA256(fileIDKey, []byte("efs-v1 file-id inode\x00"), b[:], []byte(path))[:16]
}

// versionFileID is the file ID of file_id = "version" (format v2).
func versionFileID(ino uint64, mtimeSec int64, mtimeNsec uint32, size uint64, path string) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint64(b, ino)
	b = binary.BigEndian.AppendUint64(b, uint64(mtimeSec))
	b = binary.BigEndian.AppendUint32(b, mtimeNsec)
	b = binary.BigEndian.AppendUint64(b, size)
	return hmacSHA256(fileIDKey, []byte("efs-v2 file-id version\x00"), b, []byte(path))[:16]
}

func (g *gen) fileIDs() error {
	for _, c := range []struct {
		name, mode, path string
		ino              uint64
	}{
		{"file-id-inode", "inode", "docs/report.pdf", 1234567},
		{"file-id-inode-root", "inode", "a", 2},
		{"file-id-path", "path", "docs/report.pdf", 0},
	} {
		v := newVector("file-id", "file ID, "+c.mode+" mode")
		v.Set("file_id_key", hexs(fileIDKey))
		v.Set("mode", c.mode)
		if c.mode == "inode" {
			v.Set("ino", strconv.FormatUint(c.ino, 10))
		}
		v.Set("path", c.path)
		v.Set("file_id", hexs(fileID(c.mode, c.ino, c.path)))
		if err := g.write(c.name, v); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		name, comment, path string
		ino, size           uint64
		sec                 int64
		nsec                uint32
	}{
		{"file-id-version", "file ID, version mode (format v2)", "docs/report.pdf", 1234567, 20000, 1700000000, 123456789},
		{"file-id-version-negative", "file ID, version mode (format v2), an mtime before 1970: seconds in two's complement", "old/punch-card.txt", 99, 80, -86400 * 365, 999999999},
	} {
		v := newVector("file-id", c.comment)
		v.Set("file_id_key", hexs(fileIDKey))
		v.Set("mode", "version")
		v.Set("ino", strconv.FormatUint(c.ino, 10))
		v.Set("mtime_sec", strconv.FormatInt(c.sec, 10))
		v.Set("mtime_nsec", strconv.FormatUint(uint64(c.nsec), 10))
		v.Set("size", strconv.FormatUint(c.size, 10))
		v.Set("path", c.path)
		v.Set("file_id", hexs(versionFileID(c.ino, c.sec, c.nsec, c.size, c.path)))
		if err := g.write(c.name, v); err != nil {
			return err
		}
	}
	return nil
}

// header is the 24-byte content header of a file, FORMAT.md "Header".
func header(id []byte, blockSize int) []byte {
	return headerFlags(id, blockSize, 0)
}

// headerFlags is a header with the given flags byte (0x02 for a
// directory record).
func headerFlags(id []byte, blockSize int, flags byte) []byte {
	shift := 0
	for 1<<shift < blockSize {
		shift++
	}
	h := []byte{'E', 'F', 'S', 1, flags, byte(shift), 0, 0}
	return append(h, id...)
}

func fileKey(hdr []byte, path string) []byte {
	info := append([]byte("efs-v1 file key\x00"), hdr...)
	return hkdfKey(contentKey, string(append(info, path...)), 64)
}

func (g *gen) fileKey() error {
	path := "docs/report.pdf"
	id := fileID("inode", 1234567, path)
	hdr := header(id, 4096)
	v := newVector("file-key", "per-file AES-SIV key")
	v.Set("content_key", hexs(contentKey))
	v.Set("header", hexs(hdr))
	v.Set("path", path)
	v.Set("file_key", hexs(fileKey(hdr, path)))
	return g.write("file-key", v)
}

// plaintext is the content of the content vectors: byte i is i mod 251.
func plaintext(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}

// seal is the whole ciphertext of plain, FORMAT.md "Blocks": the header,
// then the sealed blocks.
func seal(hdr []byte, path string, plain []byte, blockSize int) [][]byte {
	return sealWith(fileKey(hdr, path), hdr, plain, blockSize)
}

// sealWith seals plain's blocks under key (a file key or a record key).
func sealWith(key, hdr, plain []byte, blockSize int) [][]byte {
	n := max(1, (len(plain)+blockSize-1)/blockSize)
	out := [][]byte{hdr}
	for i := 0; i < n; i++ {
		ad := make([]byte, 9)
		binary.BigEndian.PutUint64(ad, uint64(i))
		if i == n-1 {
			ad[8] = 1
		}
		out = append(out, sivSeal(key, plain[i*blockSize:min((i+1)*blockSize, len(plain))], ad))
	}
	return out
}

func (g *gen) contents() error {
	path := "docs/report.pdf"
	for _, c := range []struct{ size, bs int }{
		{0, 4096}, {1, 4096}, {4095, 4096}, {4096, 4096}, {4097, 4096}, {8193, 4096}, {20000, 8192},
	} {
		id := fileID("inode", 1234567, path)
		hdr := header(id, c.bs)
		parts := seal(hdr, path, plaintext(c.size), c.bs)
		whole := bytes.Join(parts, nil)
		sum := sha256.Sum256(whole)
		v := newVector("content", "plaintext byte i is i mod 251")
		v.Set("content_key", hexs(contentKey))
		v.Set("path", path)
		v.Set("block_size", strconv.Itoa(c.bs))
		v.Set("file_id", hexs(id))
		v.Set("plain_size", strconv.Itoa(c.size))
		v.Set("cipher_size", strconv.Itoa(len(whole)))
		v.Set("blocks", strconv.Itoa(len(parts)-1))
		v.Set("cipher_sha256", hexs(sum[:]))
		v.Set("header", hexs(hdr))
		v.Set("first_block", hexs(parts[1]))
		v.Set("last_block", hexs(parts[len(parts)-1]))
		if len(whole) <= 64 {
			v.Set("ciphertext", hexs(whole))
		}
		if err := g.write(fmt.Sprintf("content-%d-bs%d", c.size, c.bs), v); err != nil {
			return err
		}
	}
	return nil
}

// longNamePrefix is the stand-in prefix of format version format,
// FORMAT.md "Long names".
func longNamePrefix(format int) string {
	if format == 1 {
		return "efs.L."
	}
	return "efs.l."
}

// standIn is the stand-in of the full encoded name full.
func standIn(format int, full string) string {
	h := sha256.Sum256([]byte(full))
	return longNamePrefix(format) + b32.EncodeToString(h[:])
}

func (g *gen) names() error {
	long := strings.Repeat("long file name ", 12) + "end.txt" // 187 bytes: too long once encrypted
	for _, c := range []struct {
		file, encoding, parent, name string
		nameMax, format              int
	}{
		// The vectors of format v1 (short names are the same in v2).
		{"name-root-base32", "base32", "", "hello.txt", 255, 1},
		{"name-nested-base32", "base32", "docs/2024", "hello.txt", 255, 1},
		{"name-root-base64", "base64", "", "hello.txt", 255, 1},
		{"name-nested-base64", "base64", "docs/2024", "hello.txt", 255, 1},
		{"name-non-utf8", "base32", "docs", "caf\xe9\xff.txt", 255, 1},
		{"name-unicode-parent", "base64", "Fotos/Ürlaub", "日本.jpg", 255, 1},
		{"name-long-base32", "base32", "docs", long, 255, 1},
		{"name-long-base64", "base64", "", long, 255, 1},
		// With name_max = 143, a 73-byte name (143 base32 characters)
		// is stored as is, a 74-byte one (144) is long.
		{"name-limit-143", "base32", "docs", strings.Repeat("n", 69) + ".txt", 143, 1},
		{"name-long-limit-143", "base32", "docs", strings.Repeat("n", 70) + ".txt", 143, 1},
		// Format v2: lowercase stand-ins.
		{"name-long-v2-base32", "base32", "docs", long, 255, 2},
		{"name-long-v2-base64", "base64", "", long, 255, 2},
		{"name-long-v2-limit-143", "base32", "docs", strings.Repeat("n", 70) + ".txt", 143, 2},
	} {
		ct := sivSeal(nameKey, []byte(c.name), []byte(c.parent))
		full := b32.EncodeToString(ct)
		if c.encoding == "base64" {
			full = b64.EncodeToString(ct)
		}
		v := newVector("name", "entry name in the view of name inside parent")
		v.Set("format", strconv.Itoa(c.format))
		v.Set("name_key", hexs(nameKey))
		v.Set("encoding", c.encoding)
		v.Set("name_max", strconv.Itoa(c.nameMax))
		v.Set("parent_hex", hexs([]byte(c.parent)))
		v.Set("name_hex", hexs([]byte(c.name)))
		v.Set("full", full)
		if len(full) > c.nameMax {
			entry := standIn(c.format, full)
			v.Set("long", "true")
			v.Set("entry", entry)
			v.Set("companion", entry+".name")
			v.Set("companion_content", full)
		} else {
			v.Set("long", "false")
			v.Set("entry", full)
		}
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}

// longTarget is the target of the long-target vectors: 3100 bytes, so
// its base64url ciphertext (4155 bytes) does not fit PATH_MAX.
var longTarget = strings.Repeat("../", 1000) + strings.Repeat("far/away/", 11) + "x"

// storedTarget is the stored form of a symlink target, FORMAT.md
// "Symlinks": base64url of its ciphertext, or in v2, when that would not
// fit PATH_MAX, the target stand-in.
func storedTarget(format int, link, target string) string {
	ct := sivSeal(symlinkKey, []byte(target), []byte(link))
	enc := b64.EncodeToString(ct)
	if len(enc) > 4095 && format == 2 {
		h := sha256.Sum256(ct)
		return "efs.t." + b32.EncodeToString(h[:])
	}
	return enc
}

func (g *gen) symlinks() error {
	if len(longTarget) != 3100 {
		panic("internal error: the long target is not 3100 bytes")
	}
	for _, c := range []struct {
		file, comment, link, target string
		format                      int
	}{
		{"symlink-relative", "encrypted symlink target (always base64url)", "docs/latest", "../archive/2024/report.pdf", 1},
		{"symlink-absolute-root", "encrypted symlink target (always base64url)", "home", "/home/alice", 1},
		{"symlink-long-v2", "a target whose ciphertext does not fit PATH_MAX: the v2 target stand-in (the record holds the target)",
			"docs/links/far", longTarget, 2},
	} {
		v := newVector("symlink", c.comment)
		v.Set("format", strconv.Itoa(c.format))
		v.Set("symlink_key", hexs(symlinkKey))
		v.Set("link_path_hex", hexs([]byte(c.link)))
		v.Set("target_hex", hexs([]byte(c.target)))
		v.Set("encrypted", storedTarget(c.format, c.link, c.target))
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}

const configHeader = `# efs config (format v%d). Keep it with the backup: efs reads it to restore.
# The master key inside is wrapped with your password (argon2id + AES-SIV).
# Without this file, the master key printed by "efs init" and --masterkey
# still restore the backup. Do not edit: the fields are authenticated.
`

// Fixed inputs of every config vector (and of the frozen backup): the
// password, and a fast argon2id with a fixed salt.
const (
	password                   = "correct horse battery staple"
	kdfTime, kdfMemory, kdfThr = 1, 8192, 1
)

// kdfSalt is bytes 0xa0..0xbf.
func kdfSalt() []byte {
	salt := make([]byte, 32)
	for i := range salt {
		salt[i] = byte(0xa0 + i)
	}
	return salt
}

// configSettings are the MAC'd format fields of a config.
type configSettings struct {
	version            int
	encoding, fileID   string
	nameMax, blockSize int
}

// canonical is the string the config MAC covers, FORMAT.md "Config MAC".
func (s configSettings) canonical() string {
	return fmt.Sprintf("efs-v1 config\nversion=%d\nname_encoding=%s\nname_max=%d\nblock_size=%d\nfile_id=%s\nflags=0\n",
		s.version, s.encoding, s.nameMax, s.blockSize, s.fileID)
}

// configText is the config file efs writes for s, with the master key
// wrapped under kek and the MAC computed over macOver (normally s itself).
func configText(s, macOver configSettings, creator string, kek []byte) string {
	wrapped := sivSeal(kek, masterKey, []byte("efs-v1 master key"))
	mac := hmacSHA256(configMACKey, []byte(macOver.canonical()))
	std := base64.StdEncoding
	return fmt.Sprintf(configHeader+"version = %d\ncreator = %q\nname_encoding = %q\nname_max = %d\nblock_size = %d\nfile_id = %q\nflags = 0\n"+
		"\n[kdf]\nalgorithm = \"argon2id\"\nsalt = %q\ntime = %d\nmemory_kib = %d\nthreads = %d\n"+
		"\n[key]\nwrapped = %q\nmac = %q\n",
		s.version, s.version, creator, s.encoding, s.nameMax, s.blockSize, s.fileID,
		std.EncodeToString(kdfSalt()), kdfTime, kdfMemory, kdfThr, std.EncodeToString(wrapped), std.EncodeToString(mac))
}

func kek() []byte {
	return argon2.IDKey([]byte(password), kdfSalt(), kdfTime, kdfMemory, kdfThr, 64)
}

func (g *gen) configs() error {
	kek := kek()
	for _, c := range []struct {
		file string
		s    configSettings
	}{
		{"config-default", configSettings{2, "base32", "inode", 255, 4096}},
		{"config-options", configSettings{2, "base64", "version", 143, 65536}},
		{"config-v1-default", configSettings{1, "base32", "inode", 255, 4096}},
		{"config-v1-options", configSettings{1, "base64", "path", 143, 65536}},
	} {
		v := newVector("config", "a config that unlocks with password (the body after ---)")
		v.Set("expect", "success")
		v.Set("password", password)
		v.Set("master_key", hexs(masterKey))
		v.Set("kek", hexs(kek))
		v.Set("mac_input_hex", hexs([]byte(c.s.canonical())))
		v.Body = []byte(configText(c.s, c.s, "efs vectorgen", kek))
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}

// seed writes one fuzz corpus file in the "go test fuzz v1" format.
func seed(root, pkg, target, name string, args ...any) error {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case bool:
			fmt.Fprintf(&b, "bool(%v)\n", v)
		default:
			fmt.Fprintf(&b, "%s(%v)\n", reflect.TypeOf(a).Name(), a)
		}
	}
	dir := filepath.Join(root, pkg, "testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644)
}

// fuzzSeeds writes seed corpora that are valid encodings under the vector
// keys (the fuzz targets use the same keys), plus near misses, so that the
// fuzzers start on the interesting paths.
func fuzzSeeds(root string) error {
	var errs []error
	add := func(pkg, target, name string, args ...any) {
		errs = append(errs, seed(root, pkg, target, name, args...))
	}
	path := "docs/report.pdf"
	id := fileID("inode", 1234567, path)
	for _, n := range []int{0, 1, 4097, 8193} {
		ct := bytes.Join(seal(header(id, 4096), path, plaintext(n), 4096), nil)
		add("content", "FuzzOpen", fmt.Sprintf("valid-%d", n), ct, int64(n/3), uint16(5000))
		add("content", "FuzzParseHeader", fmt.Sprintf("valid-%d", n), ct[:min(len(ct), 40)])
	}
	ct := bytes.Join(seal(header(id, 4096), path, plaintext(8193), 4096), nil)
	add("content", "FuzzOpen", "truncated-at-block", ct[:24+4112], int64(0), uint16(4096))
	add("content", "FuzzOpen", "header-only", ct[:24], int64(0), uint16(1))
	big := bytes.Join(seal(header(id, 1<<20), path, plaintext(3), 1<<20), nil)
	add("content", "FuzzOpen", "valid-1MiB-blocks", big, int64(1), uint16(2))
	add("content", "FuzzParseHeader", "shift-20", big)
	add("content", "FuzzParseHeader", "shift-21", append([]byte{'E', 'F', 'S', 1, 0, 21, 0, 0}, id...))
	add("content", "FuzzParseHeader", "flags", append([]byte{'E', 'F', 'S', 1, 1, 12, 0, 0}, id...))
	add("content", "FuzzParseHeader", "flags-record", headerFlags(id, 4096, 0x02))
	add("content", "FuzzParseHeader", "flags-both", headerFlags(id, 4096, 0x03))
	add("content", "FuzzParseHeader", "short", []byte("EFS\x01\x00\x0c\x00\x00"))
	id1 := append([]byte{1}, make([]byte, 15)...)
	for i, b := range seal(header(id1, 4096), path, plaintext(5000), 4096)[1:] {
		add("content", "FuzzOpenBlock", fmt.Sprintf("valid-%d", i), b, int64(i), i == 1)
		add("content", "FuzzOpenBlock", fmt.Sprintf("wrong-flag-%d", i), b, int64(i), i != 1)
	}
	add("content", "FuzzSize", "empty", int64(0), int64(40), uint8(0))
	add("content", "FuzzSize", "edge", int64(4096), int64(4152), uint8(0))
	add("content", "FuzzSize", "empty-block-after-full", int64(8193), int64(24+4112+16), uint8(0))
	add("content", "FuzzTamper", "flip-iv", uint16(9000), uint32(24), byte(1), int32(0), int64(0), uint16(9000))
	add("content", "FuzzTamper", "flip-header", uint16(100), uint32(5), byte(3), int32(0), int64(0), uint16(100))
	add("content", "FuzzTamper", "cut-final", uint16(8192), uint32(0), byte(0), int32(-4112), int64(0), uint16(100))
	add("content", "FuzzTamper", "append-block", uint16(4096), uint32(0), byte(0), int32(24), int64(0), uint16(100))

	long := strings.Repeat("long file name ", 12) + "end.txt"
	for _, c := range []struct {
		name, parent, plain string
		base64              bool
	}{
		{"root-base32", "", "hello.txt", false},
		{"nested-base64", "docs/2024", "hello.txt", true},
		{"non-utf8", "docs", "caf\xe9\xff.txt", false},
		{"long-base32", "docs", long, false},
		{"dotdot", "", "..", false},
	} {
		ct := sivSeal(nameKey, []byte(c.plain), []byte(c.parent))
		full := b32.EncodeToString(ct)
		if c.base64 {
			full = b64.EncodeToString(ct)
		}
		add("naming", "FuzzDecryptName", c.name, c.parent, full, c.base64)
		add("naming", "FuzzDecryptName", c.name+"-moved", c.parent+"x", full, c.base64)
		add("naming", "FuzzEncryptName", c.name, c.parent, c.plain, c.base64)
		if len(full) <= 255 {
			add("naming", "FuzzDecryptEntry", c.name, c.parent, full, "", c.base64)
		}
		if len(full) > 255 {
			// The fuzz targets' namer is v2; FuzzIsLongName checks both.
			stand := standIn(2, full)
			add("naming", "FuzzIsLongName", c.name, stand)
			add("naming", "FuzzIsLongName", c.name+"-v1", standIn(1, full))
			add("naming", "FuzzIsLongName", c.name+"-companion", stand+".name")
			add("naming", "FuzzIsLongName", c.name+"-upper", strings.ToUpper(stand))
			add("naming", "FuzzCheckCompanion", c.name, stand, full)
			add("naming", "FuzzDecryptEntry", c.name, c.parent, stand, full, c.base64)
			add("naming", "FuzzDecryptEntry", c.name+"-direct", c.parent, full, "", c.base64)
			add("naming", "FuzzCheckCompanion", c.name+"-cut", stand, full[:len(full)-1])
		}
	}
	add("naming", "FuzzDecryptName", "padded", "", b32.EncodeToString(sivSeal(nameKey, []byte("a"), nil))+"=", false)
	tgt := b64.EncodeToString(sivSeal(symlinkKey, []byte("../archive/2024/report.pdf"), []byte("docs/latest")))
	add("naming", "FuzzDecryptTarget", "valid", "docs/latest", tgt)
	add("naming", "FuzzDecryptTarget", "moved", "docs/other", tgt)
	add("naming", "FuzzDecryptTarget", "long-stand-in", "docs/links/far", storedTarget(2, "docs/links/far", longTarget))
	add("naming", "FuzzDecryptTarget", "empty-target", "l", b64.EncodeToString(sivSeal(symlinkKey, nil, []byte("l"))))

	// Every config vector, and the bytes of every reject vector, start a
	// fuzzer right at a rule's edge.
	vs, err := vectors.Load(filepath.Join(root, "testdata", "vectors"), "config", "name", "symlink", "content", "record")
	if err != nil {
		return err
	}
	for _, v := range vs {
		switch kind := v.Values["kind"]; {
		case kind == "config":
			add("config", "FuzzParse", v.Name, v.Body)
		case kind == "record":
			addRecordSeeds(add, v)
		case v.Values["expect"] != "reject":
		case kind == "content":
			add("content", "FuzzOpen", v.Name, v.Body, int64(0), uint16(5000))
		case kind == "symlink":
			add("naming", "FuzzDecryptTarget", v.Name, string(mustHex(v, "link_path_hex")), string(v.Body))
		case kind == "name" && v.Has("entry"):
			// In the v2 spelling, which the fuzz targets' namer reads.
			stand := longNamePrefix(2) + v.Values["entry"][len(longNamePrefix(2)):]
			add("naming", "FuzzCheckCompanion", v.Name, stand, string(v.Body))
			add("naming", "FuzzDecryptEntry", v.Name, string(mustHex(v, "parent_hex")), stand, string(v.Body), v.Values["encoding"] == "base64")
		case kind == "name":
			add("naming", "FuzzDecryptName", v.Name, string(mustHex(v, "parent_hex")), string(v.Body), v.Values["encoding"] == "base64")
			add("naming", "FuzzDecryptEntry", v.Name, string(mustHex(v, "parent_hex")), string(v.Body), "", v.Values["encoding"] == "base64")
		}
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// addRecordSeeds starts FuzzRecordDecode on a record vector's plaintext
// (and, for a valid one, on near misses: the other root flag, cut short),
// and FuzzRecordOpen on its ciphertext (computed again for the valid
// vectors, which give only its hash when it is large).
func addRecordSeeds(add func(pkg, target, name string, args ...any), v *vectors.Vector) {
	dir := string(mustHex(v, "dir_path_hex"))
	root := v.Values["root"] == "true"
	ct := v.Body
	if !v.Has("plaintext") { // a record-auth vector
		add("record", "FuzzRecordOpen", v.Name, ct, dir, root)
		return
	}
	plain := mustHex(v, "plaintext")
	add("record", "FuzzRecordDecode", v.Name, plain, root)
	if ct == nil {
		ct = bytes.Join(sealRecord(dir, plain, 4096), nil)
		add("record", "FuzzRecordDecode", v.Name+"-other-root", plain, !root)
		if len(plain) > 0 {
			add("record", "FuzzRecordDecode", v.Name+"-cut-1", plain[:len(plain)-1], root)
			add("record", "FuzzRecordDecode", v.Name+"-first-40", plain[:min(40, len(plain))], root)
		}
	}
	add("record", "FuzzRecordOpen", v.Name, ct, dir, root)
}
