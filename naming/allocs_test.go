package naming

import (
	"bytes"
	"strings"
	"testing"

	"github.com/efs-project/efs/internal/siv"
)

// TestAllocs pins the heap allocations per call to the strings returned,
// plus, where a name is sealed or opened, whatever the cipher itself
// allocates (nothing with AES-NI, which internal/siv's TestAllocs pins):
// the reverse view encrypts a name for every entry it lists and every
// lookup, so these show up in its garbage-collection time.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts vary under the race detector")
	}
	sc, err := siv.New(bytes.Repeat([]byte{1}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	buf, x := make([]byte, 0, 512), []byte("x")
	cipher := testing.AllocsPerRun(10, func() { sc.Seal(buf[:0], x, nil) })
	const parent, name = "photos/2024", "IMG_20240101_120000"
	deep, longest := strings.Repeat("d/", 200), strings.Repeat("x", 255)
	for _, enc := range []Encoding{Base32, Base64} {
		n := testNamer(t, enc, 0)
		full := n.EncryptName(parent, name)
		target, err := n.EncryptTarget(parent+"/link", "../"+name)
		if err != nil {
			t.Fatal(err)
		}
		long := n.Entry(parent, longest)
		if !long.Long() {
			t.Fatal("a 255-byte name is not long")
		}
		companion := func() (string, error) { return long.Full, nil }
		for _, c := range []struct {
			what    string
			strings float64 // strings returned
			sealed  bool    // whether the call seals or opens
			f       func()
		}{
			{"EncryptName", 1, true, func() { n.EncryptName(parent, name) }},
			{"DecryptName", 1, true, func() { n.DecryptName(parent, full) }},
			{"EncryptTarget", 1, true, func() { n.EncryptTarget(parent+"/link", "../"+name) }},
			{"DecryptTarget", 1, true, func() { n.DecryptTarget(parent+"/link", target) }},
			// The longest name, in a deep directory.
			{"EncryptName long", 1, true, func() { n.EncryptName(deep, longest) }},
			{"Entry", 1, true, func() { n.Entry(parent, name) }},
			{"Entry long", 2, true, func() { n.Entry(parent, longest) }},
			{"LongName", 1, false, func() { n.LongName(long.Full) }},
			{"IsLongName", 0, false, func() { n.IsLongName(long.Name) }},
			{"CheckCompanion", 0, false, func() { n.CheckCompanion(long.Name, long.Full) }},
			{"DecryptEntry long", 1, true, func() { n.DecryptEntry(parent, long.Name, companion) }},
		} {
			want := c.strings
			if c.sealed {
				want += cipher
			}
			if got := testing.AllocsPerRun(100, c.f); got != want {
				t.Errorf("%v %s: %v allocations, want %v", enc, c.what, got, want)
			}
		}
	}
}
