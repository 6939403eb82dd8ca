package naming

import (
	"bytes"
	"testing"

	"github.com/efs-project/efs/internal/vectors"
)

const vectorDir = "../testdata/vectors"

// TestVectors recomputes the name and symlink vectors through the Namer
// (the generator computes them from the primitives).
func TestVectors(t *testing.T) {
	vs, err := vectors.Load(vectorDir, "name", "symlink")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 5 {
		t.Fatalf("only %d name vectors in %s", len(vs), vectorDir)
	}
	other := bytes.Repeat([]byte{7}, KeySize)
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			if v.Values["kind"] == "symlink" {
				n := vectors.Must(New(other, v.MustHex(t, "symlink_key"), Options{}))(t)
				link := string(v.MustHex(t, "link_path_hex"))
				target := string(v.MustHex(t, "target_hex"))
				want := v.MustGet(t, "encrypted")
				if got := vectors.Must(n.EncryptTarget(link, target))(t); got != want {
					t.Fatalf("EncryptTarget = %s, vector says %s", got, want)
				}
				if got := TargetLen(len(target)); got != len(want) {
					t.Fatalf("TargetLen = %d, encrypted target has %d", got, len(want))
				}
				if got := vectors.Must(n.DecryptTarget(link, want))(t); got != target {
					t.Fatal("DecryptTarget does not give the target back")
				}
				return
			}
			enc := vectors.Must(ParseEncoding(v.MustGet(t, "encoding")))(t)
			n := vectors.Must(New(v.MustHex(t, "name_key"), other, Options{Encoding: enc, NameMax: int(v.MustInt(t, "name_max"))}))(t)
			parent := string(v.MustHex(t, "parent_hex"))
			name := string(v.MustHex(t, "name_hex"))
			full, entry := v.MustGet(t, "full"), v.MustGet(t, "entry")
			e := n.Entry(parent, name)
			if e.Full != full || e.Name != entry {
				t.Fatalf("Entry = %+v, vector says full %s entry %s", e, full, entry)
			}
			if e.Long() != (v.Values["long"] == "true") || IsLongName(entry) != e.Long() {
				t.Fatalf("long-name status disagrees with the vector")
			}
			if e.Long() {
				if e.Companion() != v.MustGet(t, "companion") || v.MustGet(t, "companion_content") != full {
					t.Fatalf("companion %s differs from the vector", e.Companion())
				}
				if long, ok := IsCompanion(e.Companion()); !ok || long != entry {
					t.Fatal("IsCompanion does not recognise the companion")
				}
				if err := n.CheckCompanion(entry, full); err != nil {
					t.Fatal(err)
				}
			}
			if got := vectors.Must(n.DecryptName(parent, full))(t); got != name {
				t.Fatalf("DecryptName gives %q, want %q", got, name)
			}
		})
	}
}
