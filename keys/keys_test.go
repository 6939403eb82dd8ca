package keys

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
)

func generate(t *testing.T) *MasterKey {
	t.Helper()
	mk, err := GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mk.Wipe)
	return mk
}

func TestMasterKeyRecovery(t *testing.T) {
	mk := generate(t)
	rec := mk.Recovery()
	if !regexp.MustCompile(`^[0-9a-f]{8}(-[0-9a-f]{8}){7}$`).MatchString(rec) {
		t.Fatalf("recovery form %q", rec)
	}
	for _, s := range []string{rec, strings.ToUpper(rec), strings.ReplaceAll(rec, "-", " "), strings.ReplaceAll(rec, "-", ""), " " + rec + "\n"} {
		got, err := ParseMasterKey(s)
		if err != nil {
			t.Fatalf("ParseMasterKey(%q): %v", s, err)
		}
		if !bytes.Equal(got.s.Bytes(), mk.s.Bytes()) {
			t.Fatalf("ParseMasterKey(%q) gives another key", s)
		}
		got.Wipe()
	}
	for _, s := range []string{rec[:len(rec)-1], rec + "0", strings.Replace(rec, rec[:1], "g", 1), "", strings.ReplaceAll(rec, "-", ":")} {
		if _, err := ParseMasterKey(s); !errors.Is(err, ErrMasterKeyFormat) {
			t.Errorf("ParseMasterKey(%q): %v", s, err)
		}
	}
	// Subkeys are distinct and deterministic.
	k1, _ := mk.Derive()
	k2, _ := mk.Derive()
	defer k1.Wipe()
	defer k2.Wipe()
	all := [][]byte{k1.Name(), k1.Symlink(), k1.Content(), k1.FileID(), k1.Inode(), k1.ConfigMAC()}
	for i := range all {
		for j := range i {
			if bytes.Equal(all[i][:32], all[j][:32]) {
				t.Fatalf("subkeys %d and %d are equal", i, j)
			}
		}
	}
	if !bytes.Equal(k1.Name(), k2.Name()) || !bytes.Equal(k1.ConfigMAC(), k2.ConfigMAC()) {
		t.Fatal("Derive is not deterministic")
	}
}

func TestGenerateMasterKey(t *testing.T) {
	a, b := generate(t), generate(t)
	if bytes.Equal(a.s.Bytes(), b.s.Bytes()) || bytes.Equal(a.s.Bytes(), make([]byte, MasterKeySize)) {
		t.Fatal("GenerateMasterKey repeats itself or gives zeros")
	}
}

func TestWrap(t *testing.T) {
	mk := generate(t)
	salt := bytes.Repeat([]byte{7}, 32)
	kek := PasswordKEK([]byte("pw"), salt, 1, 1024, 1)
	defer kek.Wipe()
	wrapped, err := kek.Wrap(mk)
	if err != nil {
		t.Fatal(err)
	}
	if len(wrapped) != WrappedSize {
		t.Fatalf("wrapped key is %d bytes, want %d", len(wrapped), WrappedSize)
	}
	got, err := kek.Unwrap(wrapped)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Wipe()
	if !bytes.Equal(got.s.Bytes(), mk.s.Bytes()) {
		t.Fatal("Unwrap(Wrap(mk)) is another key")
	}

	other := PasswordKEK([]byte("pw2"), salt, 1, 1024, 1)
	defer other.Wipe()
	flipped := bytes.Clone(wrapped)
	flipped[len(flipped)-1] ^= 1
	for name, c := range map[string]struct {
		kek     *KEK
		wrapped []byte
	}{
		"wrong password": {other, wrapped},
		"flipped bit":    {kek, flipped},
		"truncated":      {kek, wrapped[:WrappedSize-1]},
		"extended":       {kek, append(bytes.Clone(wrapped), 0)},
		"empty":          {kek, nil},
	} {
		if _, err := c.kek.Unwrap(c.wrapped); !errors.Is(err, ErrUnwrap) {
			t.Errorf("%s: Unwrap gives %v, want ErrUnwrap", name, err)
		}
	}
}
