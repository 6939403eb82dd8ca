package config

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/efs-project/efs/internal/vectors"
	"github.com/efs-project/efs/keys"
)

const vectorDir = "../testdata/vectors"

// TestVectors parses, re-marshals and unlocks the config vectors through
// this package's API (the generator computes them from the primitives).
// keys' TestVectors checks the subkeys, the argon2id KEK and the wrap.
func TestVectors(t *testing.T) {
	vs, err := vectors.Load(vectorDir, "config")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 2 {
		t.Fatalf("only %d config vectors in %s", len(vs), vectorDir)
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			checkConfigVector(t, v)
		})
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
	mk, err := c.Unlock([]byte(v.MustGet(t, "password")))
	switch v.Values["expect"] {
	case "success":
		if err != nil {
			t.Fatal(err)
		}
		defer mk.Wipe()
		if want := v.MustHex(t, "master_key"); !bytes.Equal(recoveryBytes(t, mk), want) {
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

// recoveryBytes returns the master key's bytes, read back from its
// recovery form.
func recoveryBytes(t *testing.T, mk *keys.MasterKey) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(mk.Recovery(), "-", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
