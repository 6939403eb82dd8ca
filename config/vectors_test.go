package config

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/efs-project/efs/internal/vectors"
)

const vectorDir = "../testdata/vectors"

// TestVectors recomputes the subkeys and unlocks the config vectors through
// this package's API (the generator computes them from the primitives), and
// runs every config reject vector through Parse, Load, Unlock and Verify.
func TestVectors(t *testing.T) {
	vs, err := vectors.Load(vectorDir, "subkeys", "config", "recovery")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 2 {
		t.Fatalf("only %d key/config vectors in %s", len(vs), vectorDir)
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			if v.Values["kind"] == "subkeys" {
				checkSubkeys(t, v)
				return
			}
			if v.Values["expect"] == "reject" {
				checkRejectVector(t, v)
				return
			}
			checkConfigVector(t, v)
		})
	}
}

func checkSubkeys(t *testing.T, v *vectors.Vector) {
	mk := vectors.Must(ParseMasterKey(v.MustGet(t, "recovery")))(t)
	defer mk.Wipe()
	if want := v.MustHex(t, "master_key"); !bytes.Equal(mk.Bytes(), want) {
		t.Fatal("recovery string does not parse to the master key")
	}
	if mk.Recovery() != v.Values["recovery"] {
		t.Fatalf("Recovery() = %s, vector says %s", mk.Recovery(), v.Values["recovery"])
	}
	k := vectors.Must(mk.Derive())(t)
	defer k.Wipe()
	for _, c := range []struct {
		field string
		got   []byte
	}{
		{"name_key", k.Name()}, {"symlink_key", k.Symlink()}, {"content_key", k.Content()},
		{"file_id_key", k.FileID()}, {"inode_key", k.Inode()}, {"config_mac_key", k.ConfigMAC()},
	} {
		if want := v.MustHex(t, c.field); !bytes.Equal(c.got, want) {
			t.Errorf("%s = %x, vector says %x", c.field, c.got, want)
		}
	}
}

func checkConfigVector(t *testing.T, v *vectors.Vector) {
	c := vectors.Must(Parse(v.Body))(t)
	if got := c.Marshal(); !bytes.Equal(got, v.Body) {
		t.Fatalf("Marshal(Parse(vector)) differs:\n%s", got)
	}
	if got := string(c.Settings.canonical()); got != string(v.MustHex(t, "mac_input_hex")) {
		t.Fatalf("canonical MAC input %q differs from the vector", got)
	}
	kek := c.KDF.kek([]byte(v.MustGet(t, "password")))
	defer kek.wipe()
	if want := v.MustHex(t, "kek"); !bytes.Equal(kek.b, want) {
		t.Fatalf("argon2id KEK %x, vector says %x", kek.b, want)
	}
	if e := v.MustGet(t, "expect"); e != "success" {
		t.Fatalf("unknown expect %q", e)
	}
	mk := vectors.Must(c.Unlock([]byte(v.Values["password"])))(t)
	defer mk.Wipe()
	if want := v.MustHex(t, "master_key"); !bytes.Equal(mk.Bytes(), want) {
		t.Fatal("unlocked master key differs from the vector")
	}
	if _, err := c.Unlock([]byte("wrong password")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("Unlock with a wrong password: %v, want ErrWrongPassword", err)
	}
}

// checkRejectVector: a recovery-form vector must not parse as a master key;
// a config-strict vector must fail to parse (from bytes
// and from a file) with ErrCorrupt; a config-mac vector must parse, and
// then fail with ErrTampered both when unlocked with the right password and
// when verified under the master key (the --masterkey path).
func checkRejectVector(t *testing.T, v *vectors.Vector) {
	if v.Body == nil {
		t.Fatal("reject vector without a body")
	}
	if v.Values["kind"] == "recovery" {
		if rule := v.MustGet(t, "rule"); rule != "recovery-form" {
			t.Fatalf("unknown recovery rule %q", rule)
		}
		if mk, err := ParseMasterKey(string(v.Body)); !errors.Is(err, ErrMasterKeyFormat) || mk != nil {
			t.Fatalf("ParseMasterKey: %v, want ErrMasterKeyFormat", err)
		}
		return
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, v.Body, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse(v.Body)
	_, lerr := Load(path)
	switch rule := v.MustGet(t, "rule"); rule {
	case "config-strict":
		if !errors.Is(err, ErrCorrupt) || !errors.Is(lerr, ErrCorrupt) {
			t.Fatalf("Parse: %v; Load: %v; want ErrCorrupt", err, lerr)
		}
	case "config-mac":
		if err != nil || lerr != nil {
			t.Fatalf("Parse: %v; Load: %v; a MAC vector must parse", err, lerr)
		}
		if mk, err := c.Unlock([]byte(v.MustGet(t, "password"))); !errors.Is(err, ErrTampered) || mk != nil {
			t.Fatalf("Unlock: %v, want ErrTampered", err)
		}
		mk := vectors.Must(ParseMasterKey(hex.EncodeToString(v.MustHex(t, "master_key"))))(t)
		defer mk.Wipe()
		if err := c.Verify(mk); !errors.Is(err, ErrTampered) {
			t.Fatalf("Verify: %v, want ErrTampered", err)
		}
	default:
		t.Fatalf("unknown config rule %q", rule)
	}
}
