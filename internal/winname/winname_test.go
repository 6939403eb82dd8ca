package winname

import (
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// cases pins the mapping: each name, what Encode writes for it, and
// whether that is a change.
var cases = []struct{ name, enc string }{
	{"plain.txt", "plain.txt"},
	{"a<b>c", "a＜b＞c"},
	{`a:b"c|d?e*f\g/h`, `a：b＂c｜d？e＊f＼g／h`},
	{"tab\there", "tab␉here"},
	{"\x01\x1f", "␁␟"},
	{"ends.", "ends．"},
	{"ends ", "ends␠"},
	{"mid. dle", "mid. dle"},
	{"dots..", "dots.．"},
	{"CON", "Ｃ" + "ON"},
	{"con.txt", "ｃon.txt"},
	{"Nul.tar.gz", "Ｎul.tar.gz"},
	{"aux  .c", "ａux  .c"},
	{"COM1", "ＣOM1"},
	{"lpt9.log", "ｌpt9.log"},
	{"COM¹", "ＣOM¹"},
	{"conin$", "ｃonin$"},
	{"COM10", "COM10"},
	{"CONSOLE", "CONSOLE"},
	{"xcon", "xcon"},
	// Look-alikes already in a name are escaped, so they come back.
	{"a＜b", "a‛＜b"},
	{"ends．", "ends‛．"},
	{"mid．dle", "mid．dle"},
	{"‛", "‛‛"},
	{"ｃon.txt", "‛ｃon.txt"},
	{"ｃonsole", "ｃonsole"},
	{"␁", "‛␁"},
	{"␠", "‛␠"},
	{"a␠b", "a␠b"},
	// Bytes that are not UTF-8.
	{"a\xffb", "a\uf7ffb"},
	{"\x80", "\uf780"},
	{"a\uf7ffb", "a‛\uf7ffb"},
	{"\ufffd", "\ufffd"},
}

func TestEncode(t *testing.T) {
	for _, c := range cases {
		got := Encode(c.name)
		if got != c.enc {
			t.Errorf("Encode(%q) = %q, want %q", c.name, got, c.enc)
		}
		if !Valid(got) {
			t.Errorf("Encode(%q) = %q, which Windows cannot hold", c.name, got)
		}
		if back := Decode(got); back != c.name {
			t.Errorf("Decode(%q) = %q, want %q", got, back, c.name)
		}
	}
}

func TestValid(t *testing.T) {
	for _, name := range []string{"", "a:b", "a.", "a ", "nul", "Com3.txt", "a\x00", "\xff", "a/b"} {
		if Valid(name) {
			t.Errorf("Valid(%q) = true", name)
		}
	}
	for _, name := range []string{"a", ".hidden", "a .b", "COM10", "con_", "ｃon"} {
		if !Valid(name) {
			t.Errorf("Valid(%q) = false", name)
		}
	}
}

// FuzzRoundTrip: every name comes back from Decode(Encode(name)), Encode
// writes a name Windows can hold, and it leaves a valid name without
// look-alikes alone.
func FuzzRoundTrip(f *testing.F) {
	for _, c := range cases {
		f.Add(c.name)
		f.Add(c.enc)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" {
			return
		}
		enc := Encode(name)
		if !Valid(enc) {
			t.Fatalf("Encode(%q) = %q, which Windows cannot hold", name, enc)
		}
		if back := Decode(enc); back != name {
			t.Fatalf("Decode(Encode(%q)) = %q (encoded %q)", name, back, enc)
		}
		// Windows counts a name's length in UTF-16 units (255 at most):
		// no mapped name may be longer than its Unix name in bytes, so a
		// name that fit in 255 bytes still fits.
		if u := len(utf16.Encode([]rune(enc))); u > len(name) {
			t.Fatalf("Encode(%q) = %q is %d UTF-16 units, the name %d bytes", name, enc, u, len(name))
		}
		if Valid(name) && enc != name && !strings.ContainsAny(name, "\u201B\u2420\uFF0E") && !hasLookalike(name) {
			t.Fatalf("Encode(%q) = %q changed a name Windows can hold", name, enc)
		}
	})
}

// hasLookalike reports whether name has a rune Decode would turn back, or
// starts with a fullwidth letter.
func hasLookalike(name string) bool {
	for _, r := range name {
		if _, ok := original(r); ok {
			return true
		}
	}
	r, _ := utf8.DecodeRuneInString(name)
	return r >= '\uFF21' && r <= '\uFF5A'
}
