package record

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	"reflect"
	"testing"
)

func testKeys() Keys {
	return Keys{Content: bytes.Repeat([]byte{1}, 32), FileID: bytes.Repeat([]byte{2}, 32), BlockSize: 4096}
}

func sample() (*Entry, []Entry) {
	self := &Entry{Type: Dir, Mode: 0o755, UID: 0, GID: 0, MtimeSec: 1, MtimeNsec: 2}
	return self, []Entry{
		{Name: "a", Type: File, Mode: 0o4755, UID: 1000, GID: 50, MtimeSec: -86400, MtimeNsec: 999999999, Size: 12, FileID: [16]byte{9}, Link: [16]byte{7}},
		{Name: "b", Type: Dir, Mode: 0o1777, MtimeSec: 4102444800, Xattrs: []Xattr{{Name: ACLDefault, Value: []byte{2, 0, 0, 0}}, {Name: "user.x", Value: nil}}},
		{Name: "c", Type: Symlink, Mode: 0o777, Size: 3, Target: "../"},
	}
}

func TestRoundTrip(t *testing.T) {
	self, entries := sample()
	plain, err := Encode(self, entries)
	if err != nil {
		t.Fatal(err)
	}
	k := testKeys()
	s, err := Seal(k, "dir", plain)
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, s.Size())
	if n, err := s.ReadAt(ct, 0); n != len(ct) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	r, err := Open(k, "dir", bytes.NewReader(ct), int64(len(ct)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("opened %d bytes, %v", len(got), err)
	}
	gs, ge, err := Decode(got, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ge {
		if len(ge[i].Xattrs) == 0 {
			ge[i].Xattrs = nil
		}
		for j := range ge[i].Xattrs {
			if len(ge[i].Xattrs[j].Value) == 0 {
				ge[i].Xattrs[j].Value = nil
			}
		}
	}
	if !reflect.DeepEqual(gs, self) || !reflect.DeepEqual(ge, entries) {
		t.Fatalf("decoded\n%+v %+v\nwant\n%+v %+v", gs, ge, self, entries)
	}
	// Moved to another directory, or one byte flipped: not authentic.
	if r, err := Open(k, "other", bytes.NewReader(ct), int64(len(ct))); err == nil {
		if _, err = io.ReadAll(r); !errors.Is(err, ErrNotAuthentic) {
			t.Fatalf("record moved to another directory: %v", err)
		}
	}
	for _, off := range []int{4, 30, len(ct) - 1} {
		bad := bytes.Clone(ct)
		bad[off] ^= 1
		r, err := Open(k, "dir", bytes.NewReader(bad), int64(len(bad)))
		if err == nil {
			_, err = io.ReadAll(r)
		}
		if !errors.Is(err, ErrNotAuthentic) {
			t.Errorf("flipped byte %d: %v", off, err)
		}
	}
}

func TestEmptyRecordIsAuthenticated(t *testing.T) {
	k := testKeys()
	s, err := Seal(k, "d", nil)
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, s.Size())
	s.ReadAt(ct, 0)
	ct[len(ct)-1] ^= 1
	r, err := Open(k, "d", bytes.NewReader(ct), int64(len(ct)))
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if !errors.Is(err, ErrNotAuthentic) {
		t.Fatalf("flipped empty record: %v", err)
	}
}

// Blocks of two versions of a record never combine: each version's key
// comes from its whole content.
func TestNoSplicing(t *testing.T) {
	k := testKeys()
	var a, b []Entry
	for i := range 300 {
		name := string(rune('a'+i/26%26)) + string(rune('a'+i%26)) + "-entry-with-a-longer-name"
		a = append(a, Entry{Name: name, Type: File, Mode: 0o644, Size: uint64(i)})
		b = append(b, Entry{Name: name, Type: File, Mode: 0o644, Size: uint64(i)})
	}
	b[len(b)-1].Mode = 0o600
	pa, _ := Encode(nil, a)
	pb, _ := Encode(nil, b)
	sa, _ := Seal(k, "d", pa)
	sb, _ := Seal(k, "d", pb)
	ca, cb := make([]byte, sa.Size()), make([]byte, sb.Size())
	sa.ReadAt(ca, 0)
	sb.ReadAt(cb, 0)
	if len(ca) < 3*4096 {
		t.Fatal("records too small to splice")
	}
	spliced := append(bytes.Clone(ca[:24+4112]), cb[24+4112:]...)
	r, err := Open(k, "d", bytes.NewReader(spliced), int64(len(spliced)))
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if !errors.Is(err, ErrNotAuthentic) {
		t.Fatalf("spliced record: %v", err)
	}
	if sa.MtimeSec() == sb.MtimeSec() {
		t.Error("two versions of a record show the same mtime")
	}
}

func TestEncoderRefusesWhatDecoderRejects(t *testing.T) {
	for _, c := range []struct {
		name    string
		self    *Entry
		entries []Entry
	}{
		{"order", nil, []Entry{{Name: "b", Type: File}, {Name: "a", Type: File}}},
		{"repeat", nil, []Entry{{Name: "a", Type: File}, {Name: "a", Type: Dir}}},
		{"mode", nil, []Entry{{Name: "a", Type: File, Mode: 0o100644}}},
		{"nsec", nil, []Entry{{Name: "a", Type: File, MtimeNsec: 1e9}}},
		{"dotdot", nil, []Entry{{Name: "..", Type: Dir}}},
		{"slash", nil, []Entry{{Name: "a/b", Type: File}}},
		{"type", nil, []Entry{{Name: "a", Type: 4}}},
		{"target", nil, []Entry{{Name: "a", Type: Symlink, Size: 1, Target: "\x00"}}},
		{"size", nil, []Entry{{Name: "a", Type: Symlink, Size: 2, Target: "x"}}},
		{"xattr", nil, []Entry{{Name: "a", Type: File, Xattrs: []Xattr{{Name: "security.selinux"}}}}},
		{"acl-default-on-file", nil, []Entry{{Name: "a", Type: File, Xattrs: []Xattr{{Name: ACLDefault}}}}},
		{"xattr-order", nil, []Entry{{Name: "a", Type: File, Xattrs: []Xattr{{Name: "user.b"}, {Name: "user.a"}}}}},
		{"self-named", &Entry{Name: "x", Type: Dir}, nil},
	} {
		if _, err := Encode(c.self, c.entries); err == nil {
			t.Errorf("%s: encoded", c.name)
		}
	}
	// The decoder rejects the same, and a root record without its own
	// entry, and bytes cut inside an entry.
	plain, _ := Encode(nil, []Entry{{Name: "a", Type: File}, {Name: "b", Type: File}})
	swapped := append(bytes.Clone(plain[len(plain)/2:]), plain[:len(plain)/2]...)
	for name, b := range map[string][]byte{"swapped": swapped, "cut": plain[:len(plain)-1]} {
		if _, _, err := Decode(b, false); !errors.Is(err, ErrSyntax) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := Decode(plain, true); !errors.Is(err, ErrSyntax) {
		t.Errorf("root record without its own entry: %v", err)
	}
}

// TestLinkGroup pins the formula of FORMAT.md, "Record plaintext", built
// here the long way, and checks that the device and the inode both count.
func TestLinkGroup(t *testing.T) {
	key := bytes.Repeat([]byte{3}, 32)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("efs-v2 link group\x00"))
	mac.Write([]byte{0, 0, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0, 0x0a, 0x0b, 0x0c})
	want := mac.Sum(nil)[:16]
	if got := LinkGroup(key, 0x0102, 0x0a0b0c); !bytes.Equal(got[:], want) {
		t.Fatalf("LinkGroup = %x, want %x", got, want)
	}
	a, b, c := LinkGroup(key, 0, 7), LinkGroup(key, 1, 7), LinkGroup(key, 0, 8)
	if a == b || a == c || b == c || a == ([16]byte{}) {
		t.Error("link groups of different files coincide")
	}
}

// TestPadded: a padded tree's record (header flags 0x03) reads back only
// with the tree's padding setting, and its padding is authenticated.
func TestPadded(t *testing.T) {
	for _, entries := range [][]Entry{nil, func() []Entry { _, e := sample(); return e }()} {
		plain, err := Encode(nil, entries)
		if err != nil {
			t.Fatal(err)
		}
		k := testKeys()
		k.Padded = true
		s, err := Seal(k, "dir", plain)
		if err != nil {
			t.Fatal(err)
		}
		ct := make([]byte, s.Size())
		if n, err := s.ReadAt(ct, 0); n != len(ct) || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt = %d, %v", n, err)
		}
		if ct[4] != 0x03 || s.Size() != int64(24+len(padTo(plain))+16) {
			t.Fatalf("padded record: flags %#x, size %d for %d bytes", ct[4], s.Size(), len(plain))
		}
		if got, err := readRecord(k, "dir", ct); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("reading the padded record: %v", err)
		}
		unpadded := k
		unpadded.Padded = false
		if _, err := readRecord(unpadded, "dir", ct); !errors.Is(err, ErrNotAuthentic) {
			t.Errorf("a padded record in a tree without padding: %v", err)
		}
		last := bytes.Clone(ct)
		last[len(last)-3] ^= 1 // in the trailer
		if _, err := readRecord(k, "dir", last); !errors.Is(err, ErrNotAuthentic) {
			t.Errorf("a padded record with a flipped trailer byte: %v", err)
		}
	}
}

// padTo is the padded stream length of plain, as FORMAT.md computes it.
func padTo(plain []byte) []byte {
	l := len(plain) + 8
	e := 0
	for x := l; x > 1; x >>= 1 {
		e++
	}
	s := 0
	for x := e; x > 0; x >>= 1 {
		s++
	}
	mask := 1<<(e-s) - 1
	return make([]byte, (l+mask)&^mask)
}
