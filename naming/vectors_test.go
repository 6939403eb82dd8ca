package naming

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/efs-project/efs/internal/vectors"
)

const vectorDir = "../testdata/vectors"

// TestVectors recomputes the name and symlink vectors through the Namer
// (the generator computes them from the primitives), and runs every name,
// companion and symlink reject vector through the decoders.
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
			if v.Values["expect"] == "reject" {
				checkRejectVector(t, v, other)
				return
			}
			if v.Values["kind"] == "symlink" {
				checkSymlinkVector(t, v, other)
				return
			}
			enc := vectors.Must(ParseEncoding(v.MustGet(t, "encoding")))(t)
			n := vectors.Must(New(v.MustHex(t, "name_key"), other, Options{Encoding: enc, NameMax: int(v.MustInt(t, "name_max")), Format: vectorFormat(t, v)}))(t)
			parent := string(v.MustHex(t, "parent_hex"))
			name := string(v.MustHex(t, "name_hex"))
			full, entry := v.MustGet(t, "full"), v.MustGet(t, "entry")
			e := n.Entry(parent, name)
			if e.Full != full || e.Name != entry {
				t.Fatalf("Entry = %+v, vector says full %s entry %s", e, full, entry)
			}
			if e.Long() != (v.Values["long"] == "true") || n.IsLongName(entry) != e.Long() {
				t.Fatalf("long-name status disagrees with the vector")
			}
			if e.Long() {
				if e.Companion() != v.MustGet(t, "companion") || v.MustGet(t, "companion_content") != full {
					t.Fatalf("companion %s differs from the vector", e.Companion())
				}
				if long, ok := n.IsCompanion(e.Companion()); !ok || long != entry {
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

// vectorFormat is a name or symlink vector's format version.
func vectorFormat(t *testing.T, v *vectors.Vector) int {
	f := int(v.MustInt(t, "format"))
	if f != 1 && f != 2 {
		t.Fatalf("format %d", f)
	}
	return f
}

// checkSymlinkVector encrypts the target and reads it back; a v2 target
// stand-in reads back as ErrLongTarget (the record holds the target), and
// v1 refuses to encrypt a target that long.
func checkSymlinkVector(t *testing.T, v *vectors.Vector, other []byte) {
	format := vectorFormat(t, v)
	key := v.MustHex(t, "symlink_key")
	n := vectors.Must(New(other, key, Options{Format: format}))(t)
	link := string(v.MustHex(t, "link_path_hex"))
	target := string(v.MustHex(t, "target_hex"))
	want := v.MustGet(t, "encrypted")
	if got := vectors.Must(n.EncryptTarget(link, target))(t); got != want {
		t.Fatalf("EncryptTarget = %s, vector says %s", got, want)
	}
	if got := n.TargetLen(len(target)); got != len(want) {
		t.Fatalf("TargetLen = %d, encrypted target has %d", got, len(want))
	}
	got, err := n.DecryptTarget(link, want)
	if !strings.HasPrefix(want, TargetPrefix) {
		if err != nil || got != target {
			t.Fatalf("DecryptTarget = %v; it does not give the target back", err)
		}
		return
	}
	if format != 2 || !errors.Is(err, ErrLongTarget) || got != "" {
		t.Fatalf("format %d: DecryptTarget of the stand-in = %q, %v; want ErrLongTarget", format, got, err)
	}
	v1 := vectors.Must(New(other, key, Options{Format: 1}))(t)
	if _, err := v1.EncryptTarget(link, target); !errors.Is(err, ErrTooLong) {
		t.Fatalf("v1 EncryptTarget of a target that long: %v, want ErrTooLong", err)
	}
}

// rejectErrors is the error each naming rule of FORMAT.md's "What a decoder
// MUST reject" table must produce.
var rejectErrors = map[string]error{
	"name-encoding":    ErrMalformed,
	"name-auth":        ErrNotAuthentic,
	"name-invalid":     ErrInvalidName,
	"companion-hash":   ErrNotAuthentic,
	"companion-short":  ErrMalformed,
	"symlink-encoding": ErrMalformed,
	"symlink-auth":     ErrNotAuthentic,
	"symlink-invalid":  ErrInvalidName,
	"name-spelling":    ErrSpelling,
}

// checkRejectVector decodes the body of a reject vector the way a reader of
// a backup does: a symlink target with DecryptTarget; a view name with
// DecryptEntry, which reads the companion (the body, for a long name)
// through CheckCompanion. It must fail with the rule's error, and the
// lower-level check that the rule is about must fail the same way, so a
// vector cannot pass by failing for another reason.
func checkRejectVector(t *testing.T, v *vectors.Vector, other []byte) {
	rule := v.MustGet(t, "rule")
	want, ok := rejectErrors[rule]
	if !ok {
		t.Fatalf("unknown naming rule %q", rule)
	}
	if v.Body == nil {
		t.Fatal("reject vector without a body")
	}
	body := string(v.Body)
	format := vectorFormat(t, v)
	if v.Values["kind"] == "symlink" {
		n := vectors.Must(New(other, v.MustHex(t, "symlink_key"), Options{Format: format}))(t)
		got, err := n.DecryptTarget(string(v.MustHex(t, "link_path_hex")), body)
		if !errors.Is(err, want) || got != "" {
			t.Fatalf("DecryptTarget = %q, %v; want %v", got, err, want)
		}
		return
	}
	enc := vectors.Must(ParseEncoding(v.MustGet(t, "encoding")))(t)
	n := vectors.Must(New(v.MustHex(t, "name_key"), other, Options{Encoding: enc, NameMax: int(v.MustInt(t, "name_max")), Format: format}))(t)
	parent := string(v.MustHex(t, "parent_hex"))
	entry, full := body, body
	var companion func() (string, error)
	if v.Has("entry") {
		entry = v.MustGet(t, "entry")
		if !n.IsLongName(entry) {
			t.Fatalf("entry %s is not a long-name stand-in", entry)
		}
		if long, ok := n.IsCompanion(entry + CompanionSuffix); !ok || long != entry {
			t.Fatal("IsCompanion does not recognise the companion")
		}
		companion = func() (string, error) { return body, nil }
		err := n.CheckCompanion(entry, body)
		if strings.HasPrefix(rule, "companion-") != (err != nil) || err != nil && !errors.Is(err, want) {
			t.Fatalf("CheckCompanion: %v; only a companion rule may fail there, with %v", err, want)
		}
	} else if n.IsLongName(body) {
		t.Fatal("a short-name vector's body is a stand-in")
	}
	got, err := n.DecryptEntry(parent, entry, companion)
	if !errors.Is(err, want) || got != "" {
		t.Fatalf("DecryptEntry = %q, %v; want %v", got, err, want)
	}
	switch {
	case rule == "name-spelling":
		// The name itself is authentic: only its spelling is wrong.
		if len(body) <= int(v.MustInt(t, "name_max")) {
			t.Fatalf("a %d-byte name is not longer than name_max", len(body))
		}
		if _, err := n.DecryptName(parent, body); err != nil {
			t.Fatalf("DecryptName: %v; a spelling vector must decrypt", err)
		}
	case !strings.HasPrefix(rule, "companion-"):
		if got, err := n.DecryptName(parent, full); !errors.Is(err, want) || got != "" {
			t.Fatalf("DecryptName = %q, %v; want %v", got, err, want)
		}
	}
}
