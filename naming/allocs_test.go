package naming

import (
	"strings"
	"testing"
)

// TestAllocs pins the heap allocations per call: the reverse view encrypts
// a name for every entry it lists and every lookup, so these show up in
// its garbage-collection time.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts vary under the race detector")
	}
	const parent, name = "photos/2024", "IMG_20240101_120000"
	deep, longest := strings.Repeat("d/", 200), strings.Repeat("x", 255)
	for _, enc := range []Encoding{Base32, Base64} {
		n := testNamer(t, enc, 0)
		full := n.EncryptName(parent, name)
		target, err := n.EncryptTarget(parent+"/link", "../"+name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			what string
			want float64
			f    func()
		}{
			{"EncryptName", 4, func() { n.EncryptName(parent, name) }},
			{"DecryptName", 4, func() { n.DecryptName(parent, full) }},
			{"EncryptTarget", 4, func() { n.EncryptTarget(parent+"/link", "../"+name) }},
			{"DecryptTarget", 4, func() { n.DecryptTarget(parent+"/link", target) }},
			// The longest name, in a deep directory.
			{"EncryptName long", 4, func() { n.EncryptName(deep, longest) }},
		} {
			if got := testing.AllocsPerRun(100, c.f); got != c.want {
				t.Errorf("%v %s: %v allocations, want %v", enc, c.what, got, c.want)
			}
		}
	}
}
