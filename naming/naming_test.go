package naming

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func testNamer(t testing.TB, enc Encoding, nameMax int) *Namer {
	t.Helper()
	return testNamerFormat(t, enc, nameMax, 0)
}

// testNamerFormat is testNamer for format version format (0: the default).
func testNamerFormat(t testing.TB, enc Encoding, nameMax, format int) *Namer {
	t.Helper()
	n, err := New(bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize), Options{Encoding: enc, NameMax: nameMax, Format: format})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNameRoundTrip(t *testing.T) {
	for _, enc := range []Encoding{Base32, Base64} {
		n := testNamer(t, enc, 0)
		for _, name := range []string{"a", "hello.txt", "caf\xe9", strings.Repeat("x", 255), ".hidden", "..."} {
			for _, parent := range []string{"", "d", "d/e/f"} {
				e := n.Entry(parent, name)
				if strings.ContainsAny(e.Name, "/.") && !e.Long() {
					t.Fatalf("%v: entry %q has '/' or '.'", enc, e.Name)
				}
				if e.Long() != (len(e.Full) > DefaultNameMax) || len(e.Name) > DefaultNameMax {
					t.Fatalf("%v: %d-byte full name, long %v", enc, len(e.Full), e.Long())
				}
				if enc == Base32 && strings.ToLower(e.Full) != e.Full {
					t.Fatalf("base32 name %q is not lowercase", e.Full)
				}
				got, err := n.DecryptName(parent, e.Full)
				if err != nil || got != name {
					t.Fatalf("%v: round trip of %q in %q: %q, %v", enc, name, parent, got, err)
				}
				if e.Long() {
					if !n.IsLongName(e.Name) || n.CheckCompanion(e.Name, e.Full) != nil {
						t.Fatalf("%v: long entry %q does not check", enc, e.Name)
					}
				}
			}
		}
	}
}

// TestNameDeterministic: the same name in the same directory always has the
// same ciphertext, and a different one elsewhere.
func TestNameDeterministic(t *testing.T) {
	n := testNamer(t, Base32, 0)
	a, b := n.EncryptName("d", "x"), n.EncryptName("d", "x")
	if a != b {
		t.Fatal("EncryptName is not deterministic")
	}
	if n.EncryptName("e", "x") == a || n.EncryptName("", "x") == a {
		t.Fatal("the same name in another directory has the same ciphertext")
	}
}

func TestNameTamper(t *testing.T) {
	for _, enc := range []Encoding{Base32, Base64} {
		n := testNamer(t, enc, 0)
		full := n.EncryptName("docs", "report.pdf")
		// Moved to another parent (including to the root and to a child).
		for _, p := range []string{"", "doc", "docs/x", "Docs", "docs/"} {
			if _, err := n.DecryptName(p, full); !errors.Is(err, ErrNotAuthentic) {
				t.Errorf("%v: name moved to %q: %v", enc, p, err)
			}
		}
		// Each character replaced by another of the alphabet.
		alpha := "abcdefghijklmnopqrstuvwxyz234567"
		if enc == Base64 {
			alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		}
		for i := range full {
			r := strings.IndexByte(alpha, full[i])
			alt := full[:i] + string(alpha[(r+1)%len(alpha)]) + full[i+1:]
			if _, err := n.DecryptName("docs", alt); !errors.Is(err, ErrNotAuthentic) && !errors.Is(err, ErrMalformed) {
				t.Errorf("%v: altered char %d: %v", enc, i, err)
			}
		}
		// Another key.
		other, _ := New(bytes.Repeat([]byte{9}, KeySize), bytes.Repeat([]byte{2}, KeySize), Options{Encoding: enc})
		if _, err := other.DecryptName("docs", full); !errors.Is(err, ErrNotAuthentic) {
			t.Errorf("%v: other key: %v", enc, err)
		}
	}
}

// TestNonCanonical: every name has exactly one spelling in the view.
func TestNonCanonical(t *testing.T) {
	n32 := testNamer(t, Base32, 0)
	n64 := testNamer(t, Base64, 0)
	full32 := n32.EncryptName("", "abc") // 19 bytes: 31 chars, 3 spare bits
	full64 := n64.EncryptName("", "abc") // 19 bytes: 26 chars, 4 spare bits
	bump := func(s, alpha string) string {
		last := s[len(s)-1]
		return s[:len(s)-1] + string(alpha[strings.IndexByte(alpha, last)+1])
	}
	for _, c := range []struct {
		n    *Namer
		name string
	}{
		{n32, strings.ToUpper(full32)},
		{n32, full32 + "="},
		{n32, full32 + "======"},
		{n32, bump(full32, "abcdefghijklmnopqrstuvwxyz234567a")},
		{n32, full32[:10] + "\n" + full32[10:]},
		{n32, full32[:len(full32)-1]},
		{n32, ""},
		{n32, "a"},
		{n64, full64 + "="},
		{n64, full64 + "=="},
		{n64, bump(full64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_A")},
		{n64, strings.ReplaceAll(strings.ReplaceAll(full64, "-", "+"), "_", "/") + "+"},
		{n64, full64[:5] + "\r\n" + full64[5:]},
		{n64, ""},
	} {
		if _, err := c.n.DecryptName("", c.name); !errors.Is(err, ErrMalformed) {
			t.Errorf("%v: %q accepted or wrong error: %v", c.n.opts.Encoding, c.name, err)
		}
	}
	// A valid name of the other encoding is not accepted either.
	if _, err := n32.DecryptName("", full64); err == nil {
		t.Error("base32 namer accepted a base64 name")
	}
	// Non-canonical stand-ins: uppercase, the 4 spare bits of the last
	// character set, and the other format's prefix.
	v1 := testNamerFormat(t, Base32, 0, 1)
	for _, c := range []struct {
		n     *Namer
		other string
	}{{n32, LongPrefixV1}, {v1, LongPrefix}} {
		long := c.n.LongName(strings.Repeat("a", 300))
		prefix := c.n.longPrefix()
		for _, s := range []string{
			strings.ToUpper(long), prefix + strings.ToUpper(long[len(prefix):]), bump(long, "abcdefghijklmnopqrstuvwxyz234567a"),
			long[:len(long)-1], long + "a", c.other + long[len(prefix):], long[:20] + "\n" + long[21:],
		} {
			if c.n.IsLongName(s) {
				t.Errorf("%s: IsLongName(%q) = true", prefix, s)
			}
			if _, ok := c.n.IsCompanion(s + CompanionSuffix); ok {
				t.Errorf("%s: IsCompanion(%q) = true", prefix, s+CompanionSuffix)
			}
		}
		if !c.n.IsLongName(long) {
			t.Fatalf("%s: IsLongName rejects a real stand-in", prefix)
		}
		if l, ok := c.n.IsCompanion(long + CompanionSuffix); !ok || l != long {
			t.Fatalf("%s: IsCompanion rejects a real companion", prefix)
		}
	}
}

func TestInvalidDecryptedNames(t *testing.T) {
	n := testNamer(t, Base32, 0)
	for _, bad := range []string{".", "..", "a/b", "a\x00b", "", strings.Repeat("y", 256)} {
		full := n.EncryptName("d", bad)
		_, err := n.DecryptName("d", full)
		want := ErrInvalidName
		if bad == "" {
			want = ErrMalformed // a bare IV: rejected before decryption
		}
		if !errors.Is(err, want) {
			t.Errorf("DecryptName of encrypted %q: %v, want %v", bad, err, want)
		}
	}
}

func TestLongNames(t *testing.T) {
	for _, limit := range []int{MinNameMax, 143, 255} {
		n := testNamer(t, Base32, limit)
		for ln := 1; ln <= 255; ln += 7 {
			name := strings.Repeat("n", ln)
			e := n.Entry("p", name)
			if e.Long() != (len(e.Full) > limit) || len(e.Name) > limit || len(e.Companion()) > limit && e.Long() {
				t.Fatalf("limit %d, name %d: entry %d bytes, full %d, long %v", limit, ln, len(e.Name), len(e.Full), e.Long())
			}
			if e.Long() {
				if err := n.CheckCompanion(e.Name, e.Full); err != nil {
					t.Fatal(err)
				}
				if err := n.CheckCompanion(e.Name, e.Full+"a"); !errors.Is(err, ErrNotAuthentic) {
					t.Fatalf("companion with an extra char: %v", err)
				}
				other := n.Entry("p", name+"x")
				if err := n.CheckCompanion(e.Name, other.Full); !errors.Is(err, ErrNotAuthentic) {
					t.Fatalf("companion of another entry: %v", err)
				}
			}
		}
		short := n.EncryptName("p", "s")
		if err := n.CheckCompanion(n.LongName(short), short); !errors.Is(err, ErrMalformed) {
			t.Fatalf("limit %d: a companion holding a short name: %v", limit, err)
		}
	}
	for _, bad := range []int{MinNameMax - 1, 256, -1} {
		if _, err := New(make([]byte, KeySize), make([]byte, KeySize), Options{NameMax: bad}); err == nil {
			t.Errorf("New accepted name limit %d", bad)
		}
	}
	if _, err := New(make([]byte, 32), make([]byte, KeySize), Options{}); err == nil {
		t.Error("New accepted a 32-byte name key")
	}
}

func TestReservedNamesNeverCollide(t *testing.T) {
	for _, enc := range []Encoding{Base32, Base64} {
		n := testNamer(t, enc, 0)
		for i := 0; i < 2000; i++ {
			e := n.Entry("", strings.Repeat("z", i%300+1)+string(rune('a'+i%26)))
			if e.Name == ConfigName || strings.HasSuffix(e.Name, CompanionSuffix) || (!e.Long() && strings.HasPrefix(e.Name, "efs.")) {
				t.Fatalf("%v: entry %q collides with efs's own names", enc, e.Name)
			}
		}
	}
}

func TestSymlinkTargets(t *testing.T) {
	n := testNamer(t, Base32, 0)
	for _, target := range []string{"a", "../b/c", "/abs/path", "caf\xe9", strings.Repeat("t", 3000)} {
		enc, err := n.EncryptTarget("dir/link", target)
		if err != nil {
			t.Fatal(err)
		}
		if len(enc) != n.TargetLen(len(target)) {
			t.Fatalf("TargetLen(%d) = %d, encrypted %d", len(target), n.TargetLen(len(target)), len(enc))
		}
		if got, err := n.DecryptTarget("dir/link", enc); err != nil || got != target {
			t.Fatalf("target round trip: %v", err)
		}
		if _, err := n.DecryptTarget("dir/other", enc); !errors.Is(err, ErrNotAuthentic) {
			t.Fatalf("target moved to another link: %v", err)
		}
		if _, err := n.DecryptTarget("dir/link", enc+"="); !errors.Is(err, ErrMalformed) {
			t.Fatalf("padded target: %v", err)
		}
	}
	// A target too long for PATH_MAX: v1 refuses it, v2 stores a stand-in
	// that changes with the target and says the record holds it.
	long := strings.Repeat("t", 4000)
	if _, err := testNamerFormat(t, Base32, 0, 1).EncryptTarget("l", long); !errors.Is(err, ErrTooLong) {
		t.Fatalf("v1: 4000-byte target: %v", err)
	}
	stand, err := n.EncryptTarget("l", long)
	if err != nil || len(stand) != n.TargetLen(len(long)) || !strings.HasPrefix(stand, TargetPrefix) {
		t.Fatalf("v2: 4000-byte target: %q, %v", stand, err)
	}
	if other, _ := n.EncryptTarget("l", long+"u"); other == stand {
		t.Fatal("v2: the stand-in does not change with the target")
	}
	if _, err := n.DecryptTarget("l", stand); !errors.Is(err, ErrLongTarget) {
		t.Fatalf("v2: stand-in target: %v", err)
	}
	// A name ciphertext is not a target ciphertext (separate keys).
	if _, err := n.DecryptTarget("l", b64.EncodeToString([]byte(strings.Repeat("q", 20)))); !errors.Is(err, ErrNotAuthentic) {
		t.Fatalf("random target: %v", err)
	}
	empty, _ := n.EncryptTarget("l", "")
	if _, err := n.DecryptTarget("l", empty); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("empty target: %v", err)
	}
}

func TestParseEncoding(t *testing.T) {
	for _, e := range []Encoding{Base32, Base64} {
		if got, err := ParseEncoding(e.String()); err != nil || got != e {
			t.Fatalf("ParseEncoding(%q) = %v, %v", e.String(), got, err)
		}
	}
	for _, s := range []string{"", "Base32", "base58", "base64url"} {
		if _, err := ParseEncoding(s); err == nil {
			t.Errorf("ParseEncoding(%q) accepted", s)
		}
	}
}

// TestForeign: sync tools' litter is foreign in both encodings; every name
// efs writes, and anything shaped like one (a truncated or altered
// encoded name, a malformed stand-in), is not.
func TestForeign(t *testing.T) {
	for _, enc := range []Encoding{Base32, Base64} {
		n, err := New(make([]byte, 64), make([]byte, 64), Options{Encoding: enc})
		if err != nil {
			t.Fatal(err)
		}
		for _, litter := range []string{".stfolder", ".stignore", ".DS_Store", "desktop.ini", "Thumbs.db",
			"notes", "a (conflicted copy 2024-01-01).txt", "x.rclonelink", ".efs-export-1234", ".efs-restore-99", "~lock"} {
			if !n.Foreign(litter) {
				t.Errorf("%v: %q is not foreign", enc, litter)
			}
		}
		e := n.Entry("", "hello")
		long := n.Entry("", strings.Repeat("x", 250))
		own := []string{e.Name, e.Name[:len(e.Name)-1], long.Name, long.Companion(), "efs.toml", "efs.L.short", "efs.anything"}
		if enc == Base32 {
			own = append(own, strings.ToUpper(e.Name)) // case changed by the storage: damage
		}
		for _, own := range own {
			if n.Foreign(own) {
				t.Errorf("%v: efs-shaped %q counted as foreign", enc, own)
			}
		}
		for _, name := range []string{"a", "ab", strings.Repeat("n", 254), "\xff\xfe"} {
			if got := n.Entry("d", name).Name; n.Foreign(got) {
				t.Errorf("%v: the encrypted name %q of %q is foreign", enc, got, name)
			}
		}
	}
}
