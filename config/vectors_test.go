package config

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efs-project/efs/internal/vectors"
	"github.com/efs-project/efs/keys"
)

const vectorDir = "../testdata/vectors"

// TestVectors parses, re-marshals and unlocks the config vectors through
// this package's API (the generator computes them from the primitives), and
// runs every config reject vector through Parse, Load, Unlock and Verify.
// keys' TestVectors checks the subkeys, the argon2id KEK and the wrap.
func TestVectors(t *testing.T) {
	vs, err := vectors.Load(vectorDir, "config", "recovery")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 2 {
		t.Fatalf("only %d config vectors in %s", len(vs), vectorDir)
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			if v.Values["expect"] == "reject" {
				checkRejectVector(t, v)
				return
			}
			checkConfigVector(t, v)
		})
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
		if mk, err := keys.ParseMasterKey(string(v.Body)); !errors.Is(err, keys.ErrMasterKeyFormat) || mk != nil {
			t.Fatalf("keys.ParseMasterKey: %v, want keys.ErrMasterKeyFormat", err)
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
		mk := vectors.Must(keys.ParseMasterKey(hex.EncodeToString(v.MustHex(t, "master_key"))))(t)
		defer mk.Wipe()
		if err := c.Verify(mk); !errors.Is(err, ErrTampered) {
			t.Fatalf("Verify: %v, want ErrTampered", err)
		}
	default:
		t.Fatalf("unknown config rule %q", rule)
	}
}
