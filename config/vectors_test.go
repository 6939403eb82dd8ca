package config

import (
	"bytes"
	"errors"
	"testing"

	"github.com/efs-project/efs/internal/vectors"
)

const vectorDir = "../testdata/vectors"

// TestVectors recomputes the subkeys and unlocks the config vectors through
// this package's API (the generator computes them from the primitives).
func TestVectors(t *testing.T) {
	vs, err := vectors.Load(vectorDir, "subkeys", "config")
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
	if got := string(c.Settings.canonical()); got != string(v.MustHex(t, "mac_input_hex")) && v.Values["expect"] == "success" {
		t.Fatalf("canonical MAC input %q differs from the vector", got)
	}
	kek := c.KDF.kek([]byte(v.MustGet(t, "password")))
	defer kek.wipe()
	if want := v.MustHex(t, "kek"); !bytes.Equal(kek.b, want) {
		t.Fatalf("argon2id KEK %x, vector says %x", kek.b, want)
	}
	mk, err := c.Unlock([]byte(v.Values["password"]))
	switch v.Values["expect"] {
	case "success":
		if err != nil {
			t.Fatal(err)
		}
		defer mk.Wipe()
		if want := v.MustHex(t, "master_key"); !bytes.Equal(mk.Bytes(), want) {
			t.Fatal("unlocked master key differs from the vector")
		}
	case "tampered":
		if !errors.Is(err, ErrTampered) {
			t.Fatalf("Unlock: %v, want ErrTampered", err)
		}
	default:
		t.Fatalf("unknown expect %q", v.Values["expect"])
	}
	if _, err := c.Unlock([]byte("wrong password")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("Unlock with a wrong password: %v, want ErrWrongPassword", err)
	}
}
