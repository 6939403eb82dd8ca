package naming

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// stdDecode is what Encoding.appendDecode must match: encoding/base32 or
// base64's decoder, then the canonical check.
func stdDecode(e Encoding, s string) ([]byte, bool) {
	var b []byte
	var err error
	if e == Base64 {
		b, err = b64.DecodeString(s)
	} else {
		b, err = b32.DecodeString(s)
	}
	if err != nil {
		return nil, false
	}
	if e == Base64 {
		return b, b64.EncodeToString(b) == s
	}
	return b, b32.EncodeToString(b) == s
}

func checkDecode(t *testing.T, e Encoding, s string) {
	t.Helper()
	want, wantOK := stdDecode(e, s)
	var st sivState
	got, err := e.appendDecode([]byte("x"), s, &st)
	if (err == nil) != wantOK || wantOK && !bytes.Equal(got[1:], want) {
		t.Fatalf("%v %q: got %x, %v; encoding/%v gives %x, %v", e, s, got[1:], err, e, want, wantOK)
	}
}

// TestDecodeMatchesStdlib: appendDecode accepts exactly the canonical
// encodings the standard decoders accept, with the same bytes, whatever
// the length, the trailing bits, padding or newlines.
func TestDecodeMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, e := range []Encoding{Base32, Base64} {
		chars := "abcdefghijklmnopqrstuvwxyz234567"
		if e == Base64 {
			chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		}
		for _, s := range []string{"", "a", "aa", "aaa", "aaaa", "aaaaaaaa", "ab", "ae", "me======", "me\n", "m\re", "AE", "0a", "1a", "8a", "a=", "+/"} {
			checkDecode(t, e, s)
		}
		for n := range 80 {
			b := make([]byte, n)
			for range 50 {
				for i := range b {
					b[i] = byte(r.Uint32())
				}
				checkDecode(t, e, b32.EncodeToString(b))
				checkDecode(t, e, b64.EncodeToString(b))
				// Strings of the alphabet: most have non-zero trailing bits
				// or an impossible length.
				s := make([]byte, n)
				for i := range s {
					s[i] = chars[r.IntN(len(chars))]
				}
				checkDecode(t, e, string(s))
				if n > 0 {
					s[r.IntN(n)] = byte(r.Uint32())
					checkDecode(t, e, string(s))
				}
			}
		}
	}
}

// FuzzDecode is TestDecodeMatchesStdlib on arbitrary strings.
func FuzzDecode(f *testing.F) {
	f.Add("me", false)
	f.Add("mf", false)
	f.Add("bWU", true)
	f.Fuzz(func(t *testing.T, s string, base64 bool) {
		e := Base32
		if base64 {
			e = Base64
		}
		checkDecode(t, e, s)
	})
}

// TestIsHashNameMatchesStdlib: isHashName accepts exactly the prefixed
// canonical base32 hashes that encoding/base32 accepts.
func TestIsHashNameMatchesStdlib(t *testing.T) {
	ref := func(s, prefix string) bool {
		h, ok := strings.CutPrefix(s, prefix)
		if !ok || len(s) != LongNameLen {
			return false
		}
		b, err := b32.DecodeString(h)
		return err == nil && b32.EncodeToString(b) == h
	}
	r := rand.New(rand.NewPCG(5, 6))
	const chars = "abcdefghijklmnopqrstuvwxyz234567"
	accepted := 0
	for range 20000 {
		s := []byte(LongPrefix + strings.Repeat("a", longHashLen))
		for i := len(LongPrefix); i < len(s); i++ {
			s[i] = chars[r.IntN(len(chars))]
		}
		switch r.IntN(4) {
		case 0:
			s[r.IntN(len(s))] = byte(r.Uint32())
		case 1:
			s = s[:r.IntN(len(s)+1)]
		}
		if got, want := isHashName(string(s), LongPrefix), ref(string(s), LongPrefix); got != want {
			t.Fatalf("isHashName(%q) = %v, encoding/base32 says %v", s, got, want)
		} else if got {
			accepted++
		}
	}
	if accepted < 100 {
		t.Fatalf("only %d canonical names among the random ones: the test checks little", accepted)
	}
}
