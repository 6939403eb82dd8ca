package keys

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/efs-project/efs/internal/vectors"
)

const vectorDir = "../testdata/vectors"

// TestVectors recomputes the subkeys, the argon2id KEK and the wrapped
// master key of the vectors through this package's API (the generator
// computes them from the primitives). config's TestVectors checks the rest
// of the config vectors: the text, the MAC input, Unlock.
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
			switch {
			case v.Values["kind"] == "subkeys":
				checkSubkeys(t, v)
			case v.Values["expect"] == "reject":
				// Rejected by config before any key is derived
				// (config's TestVectors runs them).
			default:
				checkWrap(t, v)
			}
		})
	}
}

func checkSubkeys(t *testing.T, v *vectors.Vector) {
	mk := vectors.Must(ParseMasterKey(v.MustGet(t, "recovery")))(t)
	defer mk.Wipe()
	if want := v.MustHex(t, "master_key"); !bytes.Equal(mk.s.Bytes(), want) {
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

// checkWrap reads the [kdf] and [key] tables of a config vector's body
// (package config parses the whole file; it cannot be imported here).
func checkWrap(t *testing.T, v *vectors.Vector) {
	var body struct {
		KDF struct {
			Salt      string `toml:"salt"`
			Time      uint32 `toml:"time"`
			MemoryKiB uint32 `toml:"memory_kib"`
			Threads   uint8  `toml:"threads"`
		} `toml:"kdf"`
		Key struct {
			Wrapped string `toml:"wrapped"`
		} `toml:"key"`
	}
	if _, err := toml.Decode(string(v.Body), &body); err != nil {
		t.Fatal(err)
	}
	salt := vectors.Must(base64.StdEncoding.DecodeString(body.KDF.Salt))(t)
	wrapped := vectors.Must(base64.StdEncoding.DecodeString(body.Key.Wrapped))(t)

	kek := PasswordKEK([]byte(v.MustGet(t, "password")), salt, body.KDF.Time, body.KDF.MemoryKiB, body.KDF.Threads)
	defer kek.Wipe()
	if want := v.MustHex(t, "kek"); !bytes.Equal(kek.s.Bytes(), want) {
		t.Fatalf("argon2id KEK %x, vector says %x", kek.s.Bytes(), want)
	}
	mk := vectors.Must(kek.Unwrap(wrapped))(t)
	defer mk.Wipe()
	if want := v.MustHex(t, "master_key"); !bytes.Equal(mk.s.Bytes(), want) {
		t.Fatal("unwrapped master key differs from the vector")
	}
	if got := vectors.Must(kek.Wrap(mk))(t); !bytes.Equal(got, wrapped) {
		t.Fatalf("Wrap gives %x, vector says %x", got, wrapped)
	}
	wrong := PasswordKEK([]byte("wrong password"), salt, body.KDF.Time, body.KDF.MemoryKiB, body.KDF.Threads)
	defer wrong.Wipe()
	if _, err := wrong.Unwrap(wrapped); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("Unwrap with a wrong password: %v, want ErrUnwrap", err)
	}
}
