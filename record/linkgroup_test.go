package record

import (
	"bytes"
	"testing"

	"github.com/efs-project/efs/internal/vectors"
)

// TestLinkGroupVectors runs the link-group vectors through LinkGroup.
func TestLinkGroupVectors(t *testing.T) {
	vs, err := vectors.Load(vectorDir, "link-group")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 2 {
		t.Fatalf("only %d link-group vectors", len(vs))
	}
	for _, v := range vs {
		got := LinkGroup(v.MustHex(t, "file_id_key"), uint64(v.MustInt(t, "dev")), uint64(v.MustInt(t, "ino")))
		if want := v.MustHex(t, "link_group"); !bytes.Equal(got[:], want) {
			t.Errorf("%s: LinkGroup = %x, want %x", v.Name, got, want)
		}
	}
}
