package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/vectors"
)

const vectorDir = "../testdata/vectors"

// TestVectors rebuilds every record vector through Encode and Seal and
// reads it back through Open and Decode (the generator computes them from
// the spec's tables), and runs every record reject vector through Open
// and Decode.
func TestVectors(t *testing.T) {
	vs, err := vectors.Load(vectorDir, "record")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 10 {
		t.Fatalf("only %d record vectors in %s", len(vs), vectorDir)
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			if v.Values["expect"] == "reject" {
				checkRejectVector(t, v)
				return
			}
			checkRecordVector(t, v)
		})
	}
}

// vectorKeys are the keys and block size a record vector names.
func vectorKeys(t *testing.T, v *vectors.Vector) Keys {
	return Keys{Content: v.MustHex(t, "content_key"), FileID: v.MustHex(t, "file_id_key"), BlockSize: int(v.MustInt(t, "block_size")),
		Padded: v.Values["padding"] == "padme"}
}

func checkRecordVector(t *testing.T, v *vectors.Vector) {
	k := vectorKeys(t, v)
	dir := string(v.MustHex(t, "dir_path_hex"))
	root := v.MustGet(t, "root") == "true"
	var self *Entry
	if root {
		e := parseEntry(t, v.MustGet(t, "self"))
		self = &e
	}
	var entries []Entry
	for i := 1; v.Has(fmt.Sprintf("entry_%d", i)); i++ {
		entries = append(entries, parseEntry(t, v.Values[fmt.Sprintf("entry_%d", i)]))
	}
	want := v.MustHex(t, "plaintext")
	if int64(len(want)) != v.MustInt(t, "plain_size") {
		t.Fatal("plain_size is not the plaintext's length")
	}

	// Encoding: whole, and entry by entry.
	plain := vectors.Must(Encode(self, entries))(t)
	if !bytes.Equal(plain, want) {
		t.Fatalf("Encode = %x\nvector says %x", plain, want)
	}
	var buf bytes.Buffer
	enc := NewEncoder(&buf, root)
	all := entries
	if self != nil {
		all = append([]Entry{*self}, entries...)
	}
	for i := range all {
		if err := enc.Add(&all[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil || !bytes.Equal(buf.Bytes(), want) || enc.Len() != int64(len(want)) {
		t.Fatalf("Encoder: %v, %d bytes, differs from the vector", err, enc.Len())
	}

	// Sealing.
	id := FileID(k.FileID, dir, plain)
	if !bytes.Equal(id[:], v.MustHex(t, "file_id")) {
		t.Fatalf("FileID = %x, vector says %s", id, v.Values["file_id"])
	}
	s := vectors.Must(Seal(k, dir, plain))(t)
	defer s.Wipe()
	if s.FileID() != id || s.Size() != v.MustInt(t, "cipher_size") || s.MtimeSec() != v.MustInt(t, "view_mtime_sec") {
		t.Fatalf("Sealed: file ID %x, size %d, mtime %d differ from the vector", s.FileID(), s.Size(), s.MtimeSec())
	}
	ct := make([]byte, s.Size())
	if n, err := s.ReadAt(ct, 0); n != len(ct) || err != nil && err != io.EOF {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	sum := sha256.Sum256(ct)
	if got := hex.EncodeToString(sum[:]); got != v.MustGet(t, "cipher_sha256") {
		t.Fatalf("ciphertext SHA-256 %s, vector says %s", got, v.Values["cipher_sha256"])
	}
	if v.Has("ciphertext") && !bytes.Equal(ct, v.MustHex(t, "ciphertext")) {
		t.Fatalf("ciphertext %x differs from the vector", ct)
	}
	if !bytes.Equal(ct[:content.HeaderSize], v.MustHex(t, "header")) {
		t.Fatalf("header %x differs from the vector", ct[:content.HeaderSize])
	}
	stream := int64(len(plain))
	if k.Padded {
		stream = content.PaddedSize(stream)
		if stream != v.MustInt(t, "padded_size") {
			t.Fatalf("padded size %d, vector says %s", stream, v.Values["padded_size"])
		}
	}
	if got := content.NumBlocks(stream, k.BlockSize); got != v.MustInt(t, "blocks") {
		t.Fatalf("%d blocks, vector says %s", got, v.Values["blocks"])
	}
	// Any range reads the same bytes, across block edges too.
	for _, r := range [][2]int64{{0, 1}, {23, 25}, {int64(k.BlockSize) + 20, int64(k.BlockSize) + 60}, {int64(len(ct)) - 3, int64(len(ct))}} {
		if r[1] > int64(len(ct)) || r[0] < 0 {
			continue
		}
		p := make([]byte, r[1]-r[0])
		if n, err := s.ReadAt(p, r[0]); n != len(p) || err != nil && err != io.EOF || !bytes.Equal(p, ct[r[0]:r[1]]) {
			t.Fatalf("ReadAt(%d..%d) = %d, %v, or other bytes", r[0], r[1], n, err)
		}
	}

	// Reading back, whole and streaming.
	got, err := readRecord(k, dir, ct)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open: %d bytes, %v", len(got), err)
	}
	gs, ge, err := Decode(got, root)
	if err != nil {
		t.Fatal(err)
	}
	if !sameEntries(gs, ge, self, entries) {
		t.Fatalf("Decode =\n%+v %+v\nvector says\n%+v %+v", gs, ge, self, entries)
	}
	r := vectors.Must(Open(k, dir, bytes.NewReader(ct), int64(len(ct))))(t)
	d := NewDecoder(r, root)
	var streamed []Entry
	for {
		e, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Decoder.Next: %v", err)
		}
		streamed = append(streamed, e)
	}
	if !sameEntries(nil, streamed, nil, all) {
		t.Fatal("the streaming decoder gives other entries")
	}

	// In another directory, or as the other kind of record, it fails.
	other := "elsewhere"
	if dir == other {
		other = ""
	}
	if _, err := readRecord(k, other, ct); !errors.Is(err, ErrNotAuthentic) {
		t.Fatalf("the record opened in another directory: %v", err)
	}
	if _, _, err := Decode(plain, !root); !errors.Is(err, ErrSyntax) && len(plain) > 0 {
		t.Fatalf("Decode with root = %v: %v, want ErrSyntax", !root, err)
	}
}

// readRecord opens a stored record and reads all of it, as a reader must
// before it uses any entry.
func readRecord(k Keys, dir string, ct []byte) ([]byte, error) {
	r, err := Open(k, dir, bytes.NewReader(ct), int64(len(ct)))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// checkRejectVector: a record-auth vector has a valid header and size
// (so it breaks only authentication) and fails Open or the read; a
// record-syntax vector authenticates to its plaintext and fails Decode
// and the streaming decoder.
func checkRejectVector(t *testing.T, v *vectors.Vector) {
	k := vectorKeys(t, v)
	dir := string(v.MustHex(t, "dir_path_hex"))
	root := v.MustGet(t, "root") == "true"
	ct := v.Body
	if ct == nil {
		t.Fatal("reject vector without a body")
	}
	if _, err := content.ParseHeader(ct); err != nil {
		t.Fatalf("ParseHeader: %v; a record vector must have a valid header", err)
	}
	if _, err := content.PlainSize(int64(len(ct)), k.BlockSize); err != nil {
		t.Fatalf("PlainSize: %v; a record vector must have a valid size", err)
	}
	plain, err := readRecord(k, dir, ct)
	switch rule := v.MustGet(t, "rule"); rule {
	case "record-auth":
		if !errors.Is(err, ErrNotAuthentic) {
			t.Fatalf("Open and read: %v, want ErrNotAuthentic", err)
		}
	case "record-syntax":
		if err != nil {
			t.Fatalf("Open and read: %v; a syntax vector must authenticate", err)
		}
		if !bytes.Equal(plain, v.MustHex(t, "plaintext")) {
			t.Fatal("the record opens to another plaintext than the vector's")
		}
		if s, e, err := Decode(plain, root); !errors.Is(err, ErrSyntax) || s != nil || e != nil {
			t.Fatalf("Decode: %v, want ErrSyntax and no entries", err)
		}
		r := vectors.Must(Open(k, dir, bytes.NewReader(ct), int64(len(ct))))(t)
		d := NewDecoder(r, root)
		for {
			_, err := d.Next()
			if err == io.EOF {
				t.Fatal("the streaming decoder accepts the record")
			}
			if err != nil {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("Decoder.Next: %v, want ErrSyntax", err)
				}
				break
			}
		}
	default:
		t.Fatalf("unknown record rule %q", rule)
	}
}

// parseEntry reads an entry line of a record vector: the type, then
// key=value fields (docs/FORMAT.md, "Test vectors").
func parseEntry(t *testing.T, line string) Entry {
	t.Helper()
	f := strings.Fields(line)
	var e Entry
	switch f[0] {
	case "file":
		e.Type = File
	case "dir":
		e.Type = Dir
	case "symlink":
		e.Type = Symlink
	default:
		t.Fatalf("entry type %q", f[0])
	}
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatalf("entry %q: %v", line, err)
		}
		return b
	}
	num := func(s string, base, bits int) uint64 {
		n, err := strconv.ParseUint(s, base, bits)
		if err != nil {
			t.Fatalf("entry %q: %v", line, err)
		}
		return n
	}
	for _, kv := range f[1:] {
		key, val, _ := strings.Cut(kv, "=")
		switch key {
		case "name_hex":
			e.Name = string(unhex(val))
		case "mode":
			e.Mode = uint32(num(val, 8, 32))
		case "uid":
			e.UID = uint32(num(val, 10, 32))
		case "gid":
			e.GID = uint32(num(val, 10, 32))
		case "mtime_sec":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			e.MtimeSec = n
		case "mtime_nsec":
			e.MtimeNsec = uint32(num(val, 10, 32))
		case "size":
			e.Size = num(val, 10, 64)
		case "file_id":
			copy(e.FileID[:], unhex(val))
		case "link":
			copy(e.Link[:], unhex(val))
		case "target_hex":
			e.Target = string(unhex(val))
		case "xattr":
			name, value, _ := strings.Cut(val, ":")
			e.Xattrs = append(e.Xattrs, Xattr{Name: string(unhex(name)), Value: unhex(value)})
		default:
			t.Fatalf("entry %q: unknown field %q", line, key)
		}
	}
	return e
}

// sameEntries compares decoded entries with expected ones, taking empty
// and nil xattr lists and values as equal.
func sameEntries(gs *Entry, ge []Entry, ws *Entry, we []Entry) bool {
	norm := func(es []Entry) []Entry {
		out := make([]Entry, len(es))
		for i, e := range es {
			if len(e.Xattrs) == 0 {
				e.Xattrs = nil
			} else {
				xs := make([]Xattr, len(e.Xattrs))
				for j, x := range e.Xattrs {
					xs[j] = Xattr{Name: x.Name, Value: bytes.Clone(x.Value)}
					if len(x.Value) == 0 {
						xs[j].Value = nil
					}
				}
				e.Xattrs = xs
			}
			out[i] = e
		}
		return out
	}
	if (gs == nil) != (ws == nil) || gs != nil && !reflect.DeepEqual(norm([]Entry{*gs}), norm([]Entry{*ws})) {
		return false
	}
	return reflect.DeepEqual(norm(ge), norm(we))
}
