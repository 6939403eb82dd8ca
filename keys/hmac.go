package keys

import (
	"crypto/sha256"
	"hash"

	"github.com/efs-project/efs/internal/secret"
)

// HMAC-SHA256 and HKDF-SHA256 (RFC 2104, RFC 5869) whose key-dependent
// state can be wiped. crypto/hmac keeps the key XOR its pads, and its two
// SHA-256 states the chaining values after them, in heap objects it never
// clears; x/crypto/hkdf also keeps the PRK. Here the padded key and every
// intermediate value (PRK, T(i)) are in locked memory, and wipe resets the
// two SHA-256 states (overwriting their chaining values) and overwrites
// their block buffers, which held message bytes such as the master key.
// Out of reach are the copies the SHA-256 code itself makes on the
// goroutine stack and in CPU registers while it runs.

// mac is HMAC-SHA256 under one key. Call wipe when done.
type mac struct {
	pads         *secret.Secret // key^ipad || key^opad
	inner, outer hash.Hash
}

// newMAC keys an HMAC-SHA256; key is at most one block (every efs key is).
func newMAC(key []byte) *mac {
	if len(key) > sha256.BlockSize {
		panic("internal error: HMAC key longer than a SHA-256 block")
	}
	m := &mac{pads: secret.New(2 * sha256.BlockSize), inner: sha256.New(), outer: sha256.New()}
	p := m.pads.Bytes()
	copy(p, key)
	copy(p[sha256.BlockSize:], key)
	for i := range sha256.BlockSize {
		p[i] ^= 0x36
		p[sha256.BlockSize+i] ^= 0x5c
	}
	return m
}

// sum writes HMAC(key, the concatenation of msg) into out[:sha256.Size]
// without allocating: out may be locked memory.
func (m *mac) sum(out []byte, msg ...[]byte) {
	p := m.pads.Bytes()
	out = out[:0:sha256.Size]
	m.inner.Reset()
	m.inner.Write(p[:sha256.BlockSize])
	for _, b := range msg {
		m.inner.Write(b)
	}
	inner := m.inner.Sum(out)
	m.outer.Reset()
	m.outer.Write(p[sha256.BlockSize:])
	m.outer.Write(inner)
	m.outer.Sum(out)
}

// wipe clears the padded key and both hash states.
func (m *mac) wipe() {
	var zeros [sha256.BlockSize - 1]byte
	for _, h := range []hash.Hash{m.inner, m.outer} {
		// Reset overwrites the chaining value; fewer than a block of
		// zeros lands in the block buffer, over the message bytes.
		h.Reset()
		h.Write(zeros[:])
		h.Reset()
	}
	m.pads.Wipe()
}

// HMAC returns HMAC-SHA256(key, msg), leaving no key-dependent state
// behind on the heap (see above). The MAC itself is not secret.
func HMAC(key, msg []byte) []byte {
	m := newMAC(key)
	defer m.wipe()
	out := make([]byte, sha256.Size)
	m.sum(out, msg)
	return out
}

// hkdf derives one subkey per label from ikm with HKDF-SHA256 (salt empty,
// info = label), into outs[i], each at most 255 hash lengths long.
func hkdf(ikm []byte, labels []string, outs [][]byte) {
	prk := secret.New(sha256.Size)
	defer prk.Wipe()
	extract := newMAC(nil) // an empty salt is HashLen zeros: the same HMAC key
	extract.sum(prk.Bytes(), ikm)
	extract.wipe()

	expand := newMAC(prk.Bytes())
	defer expand.wipe()
	t := secret.New(sha256.Size)
	defer t.Wipe()
	for i, label := range labels {
		out := outs[i]
		var prev []byte
		for counter := byte(1); len(out) > 0; counter++ {
			expand.sum(t.Bytes(), prev, []byte(label), []byte{counter})
			n := copy(out, t.Bytes())
			out = out[n:]
			prev = t.Bytes()
		}
	}
}
