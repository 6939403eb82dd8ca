package naming

import (
	"bytes"
	"strings"
	"testing"

	"github.com/efs-project/efs/internal/siv"
)

// TestAllocs pins the heap allocations per call to one, the returned
// string, plus whatever the cipher itself allocates (nothing with AES-NI,
// which internal/siv's TestAllocs pins): the reverse view encrypts a name
// for every entry it lists and every lookup, so these show up in its
// garbage-collection time.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts vary under the race detector")
	}
	sc, err := siv.New(bytes.Repeat([]byte{1}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	buf, x := make([]byte, 0, 512), []byte("x")
	want := 1 + testing.AllocsPerRun(10, func() { sc.Seal(buf[:0], x, nil) })
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
			f    func()
		}{
			{"EncryptName", func() { n.EncryptName(parent, name) }},
			{"DecryptName", func() { n.DecryptName(parent, full) }},
			{"EncryptTarget", func() { n.EncryptTarget(parent+"/link", "../"+name) }},
			{"DecryptTarget", func() { n.DecryptTarget(parent+"/link", target) }},
			// The longest name, in a deep directory.
			{"EncryptName long", func() { n.EncryptName(deep, longest) }},
		} {
			if got := testing.AllocsPerRun(100, c.f); got != want {
				t.Errorf("%v %s: %v allocations, want %v", enc, c.what, got, want)
			}
		}
	}
}
