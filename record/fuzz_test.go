package record

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

// fuzzKeys are the keys of the test vectors, so the seed corpora written
// by internal/vectorgen (testdata/fuzz/) hold records that open.
func fuzzKeys(t testing.TB) Keys {
	ck, err := hex.DecodeString("96a1defe6e03cf1d86f73afdeb1be8f7f33e25d7e81d1af266c51b2d0fbae923")
	if err != nil {
		t.Fatal(err)
	}
	fk, err := hex.DecodeString("54a5554de1d5cafd1380fd5689d11520d8771aabbc6396f89afd52fcfdf65918")
	if err != nil {
		t.Fatal(err)
	}
	return Keys{Content: ck, FileID: fk, BlockSize: 4096}
}

// allocLimit is the most decoding n bytes may allocate: the buffers, one
// value as long as the limits allow (a claimed length is checked before
// anything is allocated for it, and a claim the input cannot back fails at
// once), and a constant factor of the input for the entries themselves.
func allocLimit(n int) uint64 {
	return 1<<20 + MaxXattrValue + 64*uint64(n)
}

// allocated runs f and returns how many bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// FuzzRecordDecode: Decode never panics, allocates within the limits,
// fails only with ErrSyntax, agrees with the streaming decoder fed one
// byte at a time, and what it accepts encodes back to the same bytes (a
// record has one spelling).
func FuzzRecordDecode(f *testing.F) {
	self, entries := sample()
	if plain, err := Encode(self, entries); err == nil {
		f.Add(plain, true)
	}
	f.Fuzz(func(t *testing.T, plain []byte, root bool) {
		var (
			gs  *Entry
			ge  []Entry
			err error
		)
		if n := allocated(func() { gs, ge, err = Decode(plain, root) }); n > allocLimit(len(plain)) {
			t.Fatalf("decoding %d bytes allocated %d", len(plain), n)
		}
		d := NewDecoder(iotest.OneByteReader(bytes.NewReader(plain)), root)
		var streamed []Entry
		var serr error
		for {
			e, err := d.Next()
			if err != nil {
				if err != io.EOF {
					serr = err
				}
				break
			}
			streamed = append(streamed, e)
		}
		if (err == nil) != (serr == nil) {
			t.Fatalf("Decode: %v; the streaming decoder: %v", err, serr)
		}
		if err != nil {
			if !errors.Is(err, ErrSyntax) || !errors.Is(serr, ErrSyntax) {
				t.Fatalf("Decode: %v; streaming: %v; want ErrSyntax", err, serr)
			}
			if gs != nil || ge != nil {
				t.Fatal("Decode returned entries with an error")
			}
			return
		}
		if root != (gs != nil) {
			t.Fatalf("root %v, own entry %v", root, gs)
		}
		all := ge
		if gs != nil {
			all = append([]Entry{*gs}, ge...)
		}
		if !sameEntries(nil, streamed, nil, all) {
			t.Fatal("the streaming decoder gives other entries")
		}
		again, err := Encode(gs, ge)
		if err != nil {
			t.Fatalf("Encode refuses what Decode accepted: %v", err)
		}
		if !bytes.Equal(again, plain) {
			t.Fatalf("Encode(Decode(p)) differs from p:\n%x\n%x", again, plain)
		}
	})
}

// FuzzRecordOpen: Open and reading never panic and fail only with
// ErrNotAuthentic; a stored record that opens is exactly what Seal writes
// for its plaintext, and its plaintext decodes as FuzzRecordDecode
// requires.
func FuzzRecordOpen(f *testing.F) {
	f.Fuzz(func(t *testing.T, ct []byte, dir string, root bool) {
		k := fuzzKeys(t)
		r, err := Open(k, dir, bytes.NewReader(ct), int64(len(ct)))
		var plain []byte
		if err == nil {
			plain, err = io.ReadAll(r)
		}
		if err != nil {
			if !errors.Is(err, ErrNotAuthentic) {
				t.Fatalf("error %v is not ErrNotAuthentic", err)
			}
			return
		}
		s, err := Seal(k, dir, plain)
		if err != nil {
			t.Fatal(err)
		}
		again := make([]byte, s.Size())
		if n, err := s.ReadAt(again, 0); n != len(again) || err != nil && err != io.EOF {
			t.Fatalf("ReadAt = %d, %v", n, err)
		}
		if !bytes.Equal(again, ct) {
			t.Fatal("an accepted record is not what Seal writes for its plaintext")
		}
		gs, ge, err := Decode(plain, root)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Decode: %v", err)
			}
			return
		}
		if p, err := Encode(gs, ge); err != nil || !bytes.Equal(p, plain) {
			t.Fatalf("Encode(Decode(p)) differs from p: %v", err)
		}
	})
}

// TestLengthsBeyondTheInput: length fields that claim more than the input
// holds (or than the limits allow) fail as ErrSyntax without allocating
// what they claim: a 2^32-byte xattr value must not cost 4 GiB.
func TestLengthsBeyondTheInput(t *testing.T) {
	base, err := Encode(nil, []Entry{{Name: "f", Type: File, Xattrs: []Xattr{{Name: "user.a", Value: []byte("v")}}}})
	if err != nil || len(base) != 81 {
		t.Fatalf("%d bytes, %v", len(base), err)
	}
	// Offsets in base: type 0, name length 1, name 2, then 32 fixed bytes
	// (size at 27), file ID and link group (32), the xattr count at 67,
	// the xattr's name length at 69, its value length at 76.
	set := func(off int, b ...byte) []byte {
		p := bytes.Clone(base)
		copy(p[off:], b)
		return p
	}
	symlink := set(0, byte(Symlink))
	symlink = append(symlink[:27], 0x80, 0, 0, 0, 0, 0, 0, 0) // size 2^63
	for name, p := range map[string][]byte{
		"xattr value 2^32-1":     set(76, 0xff, 0xff, 0xff, 0xff),
		"xattr value 65536, cut": set(76, 0, 1, 0, 0),
		"xattr value 65537":      set(76, 0, 1, 0, 1),
		"65535 xattrs":           set(67, 0xff, 0xff),
		"1024 xattrs, cut":       set(67, 0x04, 0x00),
		"symlink target of 2^63": symlink,
		"name of 255 bytes, cut": set(1, 0xff),
		"xattr name of 255, cut": set(69, 0xff),
	} {
		var err error
		n := allocated(func() { _, _, err = Decode(p, false) })
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("%s: %v, want ErrSyntax", name, err)
		}
		if n > allocLimit(len(p)) {
			t.Errorf("%s: decoding %d bytes allocated %d", name, len(p), n)
		}
	}
}
