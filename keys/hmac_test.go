package keys

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"io"
	"reflect"
	"testing"

	xhkdf "golang.org/x/crypto/hkdf"
)

func TestHMAC(t *testing.T) {
	for _, klen := range []int{0, 1, 32, 63, 64} {
		for _, mlen := range []int{0, 1, 32, 55, 56, 64, 65, 200} {
			key := bytes.Repeat([]byte{byte(klen) | 1}, klen)
			msg := bytes.Repeat([]byte{byte(mlen) | 2}, mlen)
			want := hmac.New(sha256.New, key)
			want.Write(msg)
			if got := HMAC(key, msg); !bytes.Equal(got, want.Sum(nil)) {
				t.Errorf("HMAC with a %d-byte key over %d bytes differs from crypto/hmac", klen, mlen)
			}
		}
	}
}

func TestHKDF(t *testing.T) {
	ikm := bytes.Repeat([]byte{0x5a}, 32)
	labels := []string{"a", "efs-v1 some label"}
	outs := [][]byte{make([]byte, 100), make([]byte, 32)}
	hkdf(ikm, labels, outs)
	for i, label := range labels {
		want := make([]byte, len(outs[i]))
		io.ReadFull(xhkdf.New(sha256.New, ikm, nil, []byte(label)), want)
		if !bytes.Equal(outs[i], want) {
			t.Errorf("hkdf(%q) differs from x/crypto/hkdf", label)
		}
	}
}

// TestMACWipe looks inside the two SHA-256 states after wipe: neither the
// key-dependent chaining value nor the message bytes (here standing in for
// the master key HKDF extract feeds in) may be left. It reads the
// standard library's unexported fields and skips if they are not there.
func TestMACWipe(t *testing.T) {
	secretMsg := bytes.Repeat([]byte{0xa7}, 32)
	m := newMAC(bytes.Repeat([]byte{0xc3}, 32))
	out := make([]byte, 32)
	m.sum(out, secretMsg)
	inner, outer := m.inner, m.outer
	if !hasBytes(t, inner, secretMsg) {
		t.Fatal("the test cannot see the message in the SHA-256 block buffer")
	}
	m.wipe()
	initial := stateOf(t, sha256.New())
	for name, h := range map[string]hash.Hash{"inner": inner, "outer": outer} {
		if hasBytes(t, h, secretMsg[:8]) || hasBytes(t, h, out[:8]) {
			t.Errorf("%s SHA-256 state keeps message bytes after wipe", name)
		}
		if !bytes.Equal(stateOf(t, h), initial) {
			t.Errorf("%s SHA-256 chaining value is not the initial one after wipe", name)
		}
	}
	if m.pads.Bytes() != nil {
		t.Error("padded key not released")
	}
}

// digestField returns the named field of the digest behind h.
func digestField(t *testing.T, h hash.Hash, name string) reflect.Value {
	t.Helper()
	v := reflect.ValueOf(h)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	f := v.FieldByName(name)
	if !f.IsValid() {
		t.Skipf("SHA-256 digest %s has no field %q", v.Type(), name)
	}
	return f
}

func hasBytes(t *testing.T, h hash.Hash, b []byte) bool {
	x := digestField(t, h, "x")
	buf := make([]byte, x.Len())
	for i := range buf {
		buf[i] = byte(x.Index(i).Uint())
	}
	return bytes.Contains(buf, b)
}

func stateOf(t *testing.T, h hash.Hash) []byte {
	f := digestField(t, h, "h")
	var out []byte
	for i := range f.Len() {
		out = append(out, byte(f.Index(i).Uint()), byte(f.Index(i).Uint()>>8), byte(f.Index(i).Uint()>>16), byte(f.Index(i).Uint()>>24))
	}
	return out
}
