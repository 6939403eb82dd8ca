//go:build unix

package refcrypt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/internal/vectors"
)

// vectorDir holds the vectors internal/vectorgen computes from the spec on
// its own; the reference encryptor must agree with every one of them.
const vectorDir = "../../testdata/vectors"

func load(t *testing.T, kinds ...string) []*vectors.Vector {
	t.Helper()
	vs, err := vectors.Load(vectorDir, kinds...)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatalf("no %v vectors in %s", kinds, vectorDir)
	}
	return vs
}

func vectorKeys(t *testing.T) *Keys {
	t.Helper()
	mk := make([]byte, 32)
	for i := range mk {
		mk[i] = byte(i)
	}
	k, err := NewKeys(mk)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestVectors(t *testing.T) {
	k := vectorKeys(t)
	for _, v := range load(t, "subkeys", "file-id", "content", "name", "symlink", "hidden-mtime") {
		if v.Values["expect"] == "reject" {
			continue // refcrypt writes; the decoders' tests run these
		}
		t.Run(v.Name, func(t *testing.T) {
			switch v.Values["kind"] {
			case "subkeys":
				for field, got := range map[string][]byte{"name_key": k.name, "symlink_key": k.symlink, "content_key": k.content, "file_id_key": k.fileID} {
					if want := v.MustHex(t, field); !bytes.Equal(got, want) {
						t.Errorf("%s = %x, want %x", field, got, want)
					}
				}
			case "file-id":
				var st unix.Stat_t
				if v.Has("ino") {
					st.Ino = uint64(v.MustInt(t, "ino"))
				}
				if v.Has("mtime_sec") {
					st.Mtim.Sec, st.Mtim.Nsec, st.Size = v.MustInt(t, "mtime_sec"), v.MustInt(t, "mtime_nsec"), v.MustInt(t, "size")
				}
				if got, want := k.fileIDFor(v.MustGet(t, "mode"), &st, v.MustGet(t, "path")), v.MustHex(t, "file_id"); !bytes.Equal(got, want) {
					t.Errorf("file ID %x, want %x", got, want)
				}
			case "hidden-mtime":
				mt := unix.Timespec{Sec: v.MustInt(t, "mtime_sec"), Nsec: v.MustInt(t, "mtime_nsec")}
				if got := k.hiddenMtime(string(v.MustHex(t, "path_hex")), mt); got != (unix.Timespec{Sec: v.MustInt(t, "view_mtime_sec")}) {
					t.Errorf("pseudo-mtime %+v, want %s s", got, v.MustGet(t, "view_mtime_sec"))
				}
			case "content":
				checkContent(t, k, v)
			case "name":
				s := Settings{Version: 1, NameEncoding: v.MustGet(t, "encoding"), NameMax: int(v.MustInt(t, "name_max"))}
				if v.Has("format") {
					s.Version = int(v.MustInt(t, "format"))
				}
				view, companion, err := k.entryName(s, string(v.MustHex(t, "parent_hex")), string(v.MustHex(t, "name_hex")))
				if err != nil {
					t.Fatal(err)
				}
				if want := v.MustGet(t, "entry"); view != want {
					t.Errorf("view name %q, want %q", view, want)
				}
				want := ""
				if v.MustGet(t, "long") == "true" {
					want = v.MustGet(t, "companion_content")
				}
				if companion != want {
					t.Errorf("companion %q, want %q", companion, want)
				}
			case "symlink":
				got, err := k.symlinkTarget(Settings{Version: 2}, string(v.MustHex(t, "link_path_hex")), string(v.MustHex(t, "target_hex")))
				if err != nil || got != v.MustGet(t, "encrypted") {
					t.Errorf("target %q, %v; want %q", got, err, v.MustGet(t, "encrypted"))
				}
			}
		})
	}
}

func checkContent(t *testing.T, k *Keys, v *vectors.Vector) {
	n := v.MustInt(t, "plain_size")
	plain := make([]byte, n)
	for i := range plain {
		plain[i] = byte(i % 251)
	}
	bs := int(v.MustInt(t, "block_size"))
	var out bytes.Buffer
	flags := byte(0)
	if v.Values["padding"] == "padme" {
		flags = 1
	}
	if err := k.sealFile(&out, bytes.NewReader(plain), n, bs, v.MustHex(t, "file_id"), flags, v.MustGet(t, "path")); err != nil {
		t.Fatal(err)
	}
	ct := out.Bytes()
	if int64(len(ct)) != v.MustInt(t, "cipher_size") {
		t.Fatalf("%d ciphertext bytes, want %d", len(ct), v.MustInt(t, "cipher_size"))
	}
	if !bytes.HasPrefix(ct, v.MustHex(t, "header")) {
		t.Errorf("header %x, want %x", ct[:24], v.MustHex(t, "header"))
	}
	if first := v.MustHex(t, "first_block"); !bytes.Equal(ct[24:24+len(first)], first) {
		t.Error("first block differs")
	}
	if !bytes.HasSuffix(ct, v.MustHex(t, "last_block")) {
		t.Error("last block differs")
	}
	if sum := sha256.Sum256(ct); hex.EncodeToString(sum[:]) != v.MustGet(t, "cipher_sha256") {
		t.Error("ciphertext hash differs")
	}
	if got, err := k.OpenFile(v.MustGet(t, "path"), ct); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("OpenFile: %d bytes, %v", len(got), err)
	}
}

func TestUnlock(t *testing.T) {
	for _, v := range load(t, "config") {
		t.Run(v.Name, func(t *testing.T) {
			keys, s, err := Unlock(v.Body, []byte(v.MustGet(t, "password")))
			if v.MustGet(t, "expect") == "reject" {
				// The reference reader rejects them too; an altered field
				// for the stated reason.
				if err == nil || (v.Values["rule"] == "config-mac" && !errors.Is(err, ErrAltered)) {
					t.Fatalf("Unlock of a %s reject vector: %v", v.Values["rule"], err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := NewKeys(v.MustHex(t, "master_key"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(keys.name, want.name) || !bytes.Equal(keys.content, want.content) {
				t.Error("unlocked keys are not those of the vector's master key")
			}
			if !bytes.Contains(v.Body, []byte("block_size = "+strconv.Itoa(s.BlockSize)+"\n")) || !bytes.Contains(v.Body, []byte("file_id = \""+s.FileID+"\"")) {
				t.Errorf("settings %+v do not match the config", s)
			}
			if _, _, err := Unlock(v.Body, []byte("not the password")); !errors.Is(err, ErrWrongPassword) {
				t.Errorf("Unlock with a wrong password: %v, want ErrWrongPassword", err)
			}
		})
	}
}

// TestWrite checks the tree-level rules: the config copied, stand-ins with
// companions, other file types left out, modes and mtimes passed through,
// entries placed under their encrypted names in their encrypted parents.
func TestWrite(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) { testWrite(t, version, 0) })
	}
	t.Run("v2-padme", func(t *testing.T) { testWrite(t, 2, 1) })
}

func testWrite(t *testing.T, version, flags int) {
	k := vectorKeys(t)
	s := Settings{Version: version, NameEncoding: "base32", NameMax: 255, BlockSize: 4096, FileID: "path", Flags: flags}
	prefix := map[int]string{1: LongPrefixV1, 2: LongPrefix}[version]
	plain, out := t.TempDir(), t.TempDir()
	long := strings.Repeat("x", 200)
	mustWrite(t, filepath.Join(plain, PlainConfig), "config bytes")
	mustWrite(t, filepath.Join(plain, "docs", long), "long")
	mustWrite(t, filepath.Join(plain, "docs", PlainConfig), "an ordinary file below the root")
	if err := os.Symlink("../"+long, filepath.Join(plain, "docs", "link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(plain, "docs", "fifo-"+long), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(plain, "docs", long), 0o751); err != nil {
		t.Fatal(err)
	}
	ts := []unix.Timespec{{Sec: 1e9, Nsec: 7}, {Sec: 1.5e9, Nsec: 123456789}}
	for _, p := range []string{filepath.Join("docs", long), filepath.Join("docs", "link"), "docs"} {
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(plain, p), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
	if err := Write(k, s, plain, out); err != nil {
		t.Fatal(err)
	}

	if b, err := os.ReadFile(filepath.Join(out, ViewConfig)); err != nil || string(b) != "config bytes" {
		t.Errorf("efs.toml: %q, %v", b, err)
	}
	docs, _, _ := k.entryName(s, "", "docs")
	vLong, companion, _ := k.entryName(s, "docs", long)
	vCfg, _, _ := k.entryName(s, "docs", PlainConfig)
	vLink, _, _ := k.entryName(s, "docs", "link")
	if companion == "" || !strings.HasPrefix(vLong, prefix) {
		t.Fatalf("a %d-byte name is not stored under a stand-in", len(long))
	}
	want := []string{vLong, vLong + CompanionSuffix, vCfg, vLink}
	if version == 2 {
		want = append(want, RecordName)
	}
	ents, err := os.ReadDir(filepath.Join(out, docs))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("view directory holds %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(out, docs, vLong+CompanionSuffix)); string(b) != companion {
		t.Errorf("companion holds %q, want %q", b, companion)
	}
	if tgt, _ := os.Readlink(filepath.Join(out, docs, vLink)); tgt != mustTarget(t, k, "docs/link", "../"+long) {
		t.Errorf("symlink target %q", tgt)
	}
	var st unix.Stat_t
	for _, p := range []string{vLong, vLink, ""} {
		if err := unix.Lstat(filepath.Join(out, docs, p), &st); err != nil {
			t.Fatal(err)
		}
		if st.Mtim != ts[1] {
			t.Errorf("%q: mtime %v, want %v", p, st.Mtim, ts[1])
		}
	}
	unix.Lstat(filepath.Join(out, docs, vLong), &st)
	size := int64(24 + 4 + 16)
	if flags&1 != 0 {
		size = 24 + 12 + 16 // 4 bytes and the trailer: Padmé(12) = 12
	}
	if st.Mode&0o7777 != 0o751 || st.Size != size {
		t.Errorf("file: mode %o, size %d; want 751 and %d", st.Mode&0o7777, st.Size, size)
	}
	ct, _ := os.ReadFile(filepath.Join(out, docs, vLong))
	if got, err := k.OpenFile("docs/"+long, ct); err != nil || string(got) != "long" {
		t.Errorf("the file opens to %q, %v", got, err)
	}
	if version == 2 {
		rec, _ := os.ReadFile(filepath.Join(out, docs, RecordName))
		if _, err := k.OpenRecord("docs", rec); err != nil || rec[4] != byte(2|flags) {
			t.Errorf("the record, header flags %#x, opens: %v", rec[4], err)
		}
	}
}

func mustTarget(t *testing.T, k *Keys, link, target string) string {
	t.Helper()
	s, err := k.symlinkTarget(Settings{Version: 2}, link, target)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLongNameEdge: a name whose encoding is exactly name_max long is
// stored as is, one byte more needs a stand-in (FORMAT.md, "Long names").
func TestLongNameEdge(t *testing.T) {
	k := vectorKeys(t)
	for _, c := range []struct {
		encoding string
		short    int // longest name that stays short at name_max 255
	}{{"base32", 143}, {"base64", 175}} {
		s := Settings{Version: 2, NameEncoding: c.encoding, NameMax: 255}
		view, companion, err := k.entryName(s, "", strings.Repeat("a", c.short))
		if err != nil || len(view) != 255 || companion != "" {
			t.Errorf("%s, %d bytes: view name of %d bytes, companion %q, %v; want 255 bytes and none", c.encoding, c.short, len(view), companion, err)
		}
		view, companion, err = k.entryName(s, "", strings.Repeat("a", c.short+1))
		if err != nil || !strings.HasPrefix(view, LongPrefix) || len(view) != 58 || len(companion) <= 255 {
			t.Errorf("%s, %d bytes: view name %q, companion of %d bytes, %v; want a stand-in", c.encoding, c.short+1, view, len(companion), err)
		}
	}
}

// TestOpenFile: the reference reader opens what the reference writer
// sealed, at block edges, and refuses a flipped byte, a cut and an
// appended block.
func TestOpenFile(t *testing.T) {
	k := vectorKeys(t)
	id := bytes.Repeat([]byte{9}, 16)
	for _, c := range []struct{ size, flags int }{{0, 0}, {1, 0}, {4095, 0}, {4096, 0}, {4097, 0}, {3*4096 + 7, 0}, {0, 1}, {4089, 1}, {3*4096 + 7, 1}} {
		size := c.size
		plain := bytes.Repeat([]byte{byte(size)}, size)
		var ct bytes.Buffer
		if err := k.sealFile(&ct, bytes.NewReader(plain), int64(size), 4096, id, byte(c.flags), "d/f"); err != nil {
			t.Fatal(err)
		}
		got, err := k.OpenFile("d/f", ct.Bytes())
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("size %d: %d bytes, %v", size, len(got), err)
		}
		if _, err := k.OpenFile("d/g", ct.Bytes()); err == nil {
			t.Errorf("size %d: opened under another path", size)
		}
		bad := bytes.Clone(ct.Bytes())
		bad[len(bad)-1] ^= 1
		if _, err := k.OpenFile("d/f", bad); err == nil {
			t.Errorf("size %d: a flipped byte opened", size)
		}
		if size > 4096 && c.flags == 0 {
			if _, err := k.OpenFile("d/f", ct.Bytes()[:24+4096+16]); err == nil {
				t.Errorf("size %d: a cut at a block boundary opened", size)
			}
		}
	}
}
