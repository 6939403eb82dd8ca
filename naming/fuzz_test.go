package naming

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// fuzzNamer uses the keys of the test vectors, so the seed corpora written
// by internal/vectorgen (testdata/fuzz/) hold valid encrypted names.
func fuzzNamer(t testing.TB, base64 bool) *Namer {
	return fuzzNamerFormat(t, base64, 0)
}

// fuzzNamerFormat is fuzzNamer for format version format (0: the default).
func fuzzNamerFormat(t testing.TB, base64 bool, format int) *Namer {
	nk, _ := hex.DecodeString("33ced24815b33924b7b1480b060f93fe7e7617569864e798a0f5144f45931794db9a3c92b9ad632723c08a286c204e559a08a5c118da76e2fb9130de822a9b6e")
	sk, _ := hex.DecodeString("d7a42e2ad0c01e8a51f4281fb91d44e75c39832a079d44c90680981aa6002431755b81b60ec8bf08d90c04edfea54481e624f743b157a2afc06dccf0a2d56e98")
	enc := Base32
	if base64 {
		enc = Base64
	}
	n, err := New(nk, sk, Options{Encoding: enc, Format: format})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// FuzzDecryptName: never panics; whatever decrypts is a valid name whose
// encryption is exactly the input (one spelling per name).
func FuzzDecryptName(f *testing.F) {
	f.Add("", "abc", false)
	f.Fuzz(func(t *testing.T, parent, encoded string, base64 bool) {
		n := fuzzNamer(t, base64)
		name, err := n.DecryptName(parent, encoded)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotAuthentic) && !errors.Is(err, ErrInvalidName) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !ValidName(name) || n.EncryptName(parent, name) != encoded {
			t.Fatalf("DecryptName accepted a non-canonical or invalid name")
		}
	})
}

// FuzzEncryptName: every valid name round-trips through its entry.
func FuzzEncryptName(f *testing.F) {
	f.Add("", "hello.txt", false)
	f.Add("docs", strings.Repeat("long ", 40), true)
	f.Fuzz(func(t *testing.T, parent, name string, base64 bool) {
		if !ValidName(name) {
			return
		}
		n := fuzzNamer(t, base64)
		e := n.Entry(parent, name)
		if n.IsLongName(e.Name) != e.Long() {
			t.Fatalf("IsLongName(%q) = %v, entry long %v", e.Name, !e.Long(), e.Long())
		}
		if e.Long() {
			if err := n.CheckCompanion(e.Name, e.Full); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := n.DecryptName(parent, e.Full); err != nil || got != name {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzDecryptTarget: never panics; an accepted target re-encrypts to the
// input.
func FuzzDecryptTarget(f *testing.F) {
	f.Add("l", "AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, link, encoded string) {
		n := fuzzNamer(t, false)
		target, err := n.DecryptTarget(link, encoded)
		if err != nil {
			return
		}
		if again, err := n.EncryptTarget(link, target); err != nil || again != encoded {
			t.Fatalf("accepted target does not re-encrypt to the input: %v", err)
		}
	})
}

// FuzzIsLongName: accepted stand-ins are canonical, of the namer's format,
// and their companions are recognised.
func FuzzIsLongName(f *testing.F) {
	n := fuzzNamer(f, false)
	f.Add(n.LongName("x"))
	f.Add(n.LongName("y") + CompanionSuffix)
	f.Fuzz(func(t *testing.T, entry string) {
		for _, format := range []int{1, 2} {
			n := fuzzNamerFormat(t, false, format)
			prefix := n.longPrefix()
			if n.IsLongName(entry) {
				h := entry[len(prefix):]
				b, err := b32.DecodeString(h)
				if err != nil || len(b) != 32 || b32.EncodeToString(b) != h || !strings.HasPrefix(entry, prefix) {
					t.Fatalf("v%d: IsLongName accepted a non-canonical %q", format, entry)
				}
				if l, ok := n.IsCompanion(entry + CompanionSuffix); !ok || l != entry {
					t.Fatal("IsCompanion does not recognise the companion of a stand-in")
				}
			}
			if l, ok := n.IsCompanion(entry); ok && (!n.IsLongName(l) || l+CompanionSuffix != entry) {
				t.Fatalf("v%d: IsCompanion(%q) = %q", format, entry, l)
			}
		}
	})
}

// FuzzCheckCompanion: never panics; an accepted pair really matches.
func FuzzCheckCompanion(f *testing.F) {
	full := strings.Repeat("a", 300)
	f.Add(fuzzNamer(f, false).LongName(full), full)
	f.Fuzz(func(t *testing.T, long, full string) {
		n := fuzzNamer(t, false)
		if err := n.CheckCompanion(long, full); err == nil {
			if n.LongName(full) != long || !n.IsLongName(long) || len(full) <= n.opts.NameMax {
				t.Fatalf("CheckCompanion accepted %q / %d-byte name", long, len(full))
			}
		}
	})
}

// FuzzDecryptEntry: never panics; a view name that decrypts is the one
// spelling efs writes for its name (Entry gives it back, with the
// companion's content as its full name when it is a stand-in), so neither
// a direct long name nor a stand-in of a short one gets through.
func FuzzDecryptEntry(f *testing.F) {
	n := fuzzNamer(f, false)
	long := n.Entry("docs", strings.Repeat("long file name ", 12))
	f.Add("docs", long.Name, long.Full, false)
	f.Add("docs", long.Full, "", false)
	f.Fuzz(func(t *testing.T, parent, entry, companion string, base64 bool) {
		n := fuzzNamer(t, base64)
		name, err := n.DecryptEntry(parent, entry, func() (string, error) { return companion, nil })
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotAuthentic) && !errors.Is(err, ErrInvalidName) && !errors.Is(err, ErrSpelling) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		e := n.Entry(parent, name)
		if e.Name != entry || e.Long() && e.Full != companion {
			t.Fatalf("DecryptEntry accepted a spelling Entry does not write")
		}
	})
}
