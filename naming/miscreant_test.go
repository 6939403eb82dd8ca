package naming

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/miscreant/miscreant.go"
)

// TestMatchesMiscreant: names and targets are sealed byte for byte as
// miscreant, the implementation docs/FORMAT.md names, seals them, for every
// name length, at the root (empty associated data) and in deep directories.
func TestMatchesMiscreant(t *testing.T) {
	nk, sk := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize)
	mn, _ := miscreant.NewAESCMACSIV(nk)
	ms, _ := miscreant.NewAESCMACSIV(sk)
	r := rand.New(rand.NewPCG(3, 4))
	for _, enc := range []Encoding{Base32, Base64} {
		n := testNamer(t, enc, 0)
		for _, parent := range []string{"", "d", "photos/2024", strings.Repeat("dir/", 1000)} {
			for l := 1; l <= 255; l++ {
				b := make([]byte, l)
				for i := range b {
					b[i] = 'a' + byte(r.IntN(26))
				}
				name := string(b)
				ct, err := mn.Seal(nil, b, []byte(parent))
				if err != nil {
					t.Fatal(err)
				}
				want := b32.EncodeToString(ct)
				if enc == Base64 {
					want = b64.EncodeToString(ct)
				}
				if got := n.EncryptName(parent, name); got != want {
					t.Fatalf("%v: %d-byte name in a %d-byte parent: %q, miscreant %q", enc, l, len(parent), got, want)
				}
				ct, err = ms.Seal(nil, b, []byte(parent+"/link"))
				if err != nil {
					t.Fatal(err)
				}
				got, err := n.EncryptTarget(parent+"/link", name)
				if err != nil || got != b64.EncodeToString(ct) {
					t.Fatalf("%d-byte target: %q, %v; miscreant %q", l, got, err, b64.EncodeToString(ct))
				}
			}
		}
	}
}
