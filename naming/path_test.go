package naming

import (
	"errors"
	"strings"
	"testing"
)

// standIn is a long component of a path: its companion's contents and
// the plaintext path it stands for.
type standIn struct{ full, rel string }

// companions plays the view's companion files for DecryptPath: the stand-ins
// on the way to plaintext path rel, by view path.
func companions(t *testing.T, n *Namer, rel string) map[string]standIn {
	t.Helper()
	out := make(map[string]standIn)
	parent, view := "", ""
	for _, name := range cleanPath(rel) {
		e := n.Entry(parent, name)
		view = joinPath(view, e.Name)
		parent = joinPath(parent, name)
		if e.Long() {
			out[view] = standIn{e.Full, parent}
		}
	}
	return out
}

func TestEncryptPath(t *testing.T) {
	n := testNamer(t, Base32, 0)
	long := strings.Repeat("L", 200)
	a, b, l := n.Entry("", "a").Name, n.Entry("a", "b").Name, n.Entry("a", long).Name
	for _, c := range []struct {
		rel, want string
		long      []string
	}{
		{"", "", nil},
		{".", "", nil},
		{"/", "", nil},
		{"a", a, nil},
		{"a/", a, nil},
		{"/a/b", a + "/" + b, nil},
		{"a/./b/", a + "/" + b, nil},
		{"a/c/../b", a + "/" + b, nil},
		{"a/" + long, a + "/" + l, []string{a + "/" + l}},
		{"a/" + long + "/x", a + "/" + l + "/" + n.Entry("a/"+long, "x").Name, []string{a + "/" + l}},
	} {
		got, gotLong := n.EncryptPath(c.rel)
		if got != c.want || strings.Join(gotLong, "|") != strings.Join(c.long, "|") {
			t.Errorf("EncryptPath(%q) = %q, %q; want %q, %q", c.rel, got, gotLong, c.want, c.long)
		}
	}
	if !n.IsLongName(l) {
		t.Fatal("test name is not long")
	}
}

// TestPathRoundTrip: DecryptPath(EncryptPath(rel)) is rel, for nested
// and long names in both encodings; a companion file maps to its entry.
func TestPathRoundTrip(t *testing.T) {
	for _, enc := range []Encoding{Base32, Base64} {
		n := testNamer(t, enc, MinNameMax)
		for _, rel := range []string{
			"", "f", "d/e/f", ".hidden/..x/caf\xe9",
			strings.Repeat("L", 200), "d/" + strings.Repeat("M", 255) + "/" + strings.Repeat("N", 100) + "/f",
		} {
			view, long := n.EncryptPath(rel)
			comp := companions(t, n, rel)
			if len(comp) != len(long) {
				t.Fatalf("%v %q: long %q, %d stand-ins", enc, rel, long, len(comp))
			}
			asked := 0
			full := func(l string) (string, error) {
				asked++
				f, ok := comp[l]
				if !ok {
					t.Fatalf("asked for the companion of %q, which is no stand-in", l)
				}
				return f.full, nil
			}
			got, isComp, err := n.DecryptPath(view, full)
			if err != nil || got != rel || isComp || asked != len(long) {
				t.Errorf("%v: DecryptPath(EncryptPath(%q)) = %q, %v, %v (asked %d of %d)", enc, rel, got, isComp, err, asked, len(long))
			}
			if got, _, err := n.DecryptPath(view+"/", full); err != nil || got != rel {
				t.Errorf("%v: trailing slash: %q, %v", enc, got, err)
			}
			for _, l := range long {
				got, isComp, err := n.DecryptPath(l+CompanionSuffix, full)
				if err != nil || !isComp || got != comp[l].rel {
					t.Errorf("%v: companion %q: %q, %v, %v", enc, l, got, isComp, err)
				}
			}
		}
	}
}

// TestDecryptPathRejects: a name moved to another directory, a companion
// that does not match, a missing companion reader, and efs.toml fail,
// and errors carry no plaintext.
func TestDecryptPathRejects(t *testing.T) {
	n := testNamer(t, Base32, 0)
	a, _ := n.EncryptPath("secret-a")
	b, _ := n.EncryptPath("secret-b/x")
	x := b[strings.IndexByte(b, '/')+1:]
	long, _ := n.EncryptPath(strings.Repeat("L", 200))
	wrong := func(string) (string, error) { return n.Entry("", strings.Repeat("W", 200)).Full, nil }
	failing := func(string) (string, error) { return "", errors.New("disk on fire") }
	for _, c := range []struct {
		view string
		full func(string) (string, error)
		want error
	}{
		{a + "/" + x, nil, ErrNotAuthentic}, // x moved from secret-b into secret-a
		{long, wrong, ErrNotAuthentic},
		{long, nil, ErrMalformed},
		{ConfigName, nil, ErrMalformed},
		{"not-a-name", nil, ErrMalformed},
	} {
		_, _, err := n.DecryptPath(c.view, c.full)
		if !errors.Is(err, c.want) {
			t.Errorf("DecryptPath(%q) = %v, want %v", c.view, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error carries plaintext: %v", err)
		}
	}
	if _, _, err := n.DecryptPath(long, failing); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("reader error not passed on: %v", err)
	}
}
