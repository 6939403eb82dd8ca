// Package siv implements AES-SIV (RFC 5297, AES-CMAC-SIV with one
// associated-data item) for efs's content blocks and names, byte for byte
// the same construction as github.com/miscreant/miscreant.go's
// NewAESCMACSIV with a single AD item — the tests and a fuzz target check
// that equality.
//
// Why not call miscreant directly: S2V runs AES-CMAC, a chain in which each
// AES call waits for the previous one, so a single block is bound by AES
// latency rather than throughput. SealBlocks and OpenBlocks run the CMAC
// chains of several blocks interleaved (lanes), which lets the CPU overlap
// their AES rounds, precompute CMAC(0), and avoid per-block allocations;
// on the reference machine that about doubles sealing speed.
//
// On amd64 with AES-NI, the interleaved chains and the CTR keystream run in
// assembly (aes_amd64.s): eight chains in registers instead of one
// crypto/aes call per 16 bytes, and a keystream made eight blocks at a time
// without the allocation cipher.NewCTR makes per block. Elsewhere, or with
// the purego build tag, the same code runs on crypto/aes; the tests check
// that both paths give the same bytes.
package siv

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// KeySize is the key length: two AES-256 keys, for CMAC and for CTR.
const KeySize = 64

// Overhead is the synthetic IV prepended to every ciphertext.
const Overhead = 16

// lanes is how many CMAC chains run interleaved.
const lanes = 8

// ErrNotAuthentic is returned by Open when the ciphertext or the associated
// data was altered.
var ErrNotAuthentic = errors.New("siv: authentication failed")

type block = [16]byte

// Cipher is AES-CMAC-SIV under one key. It is not safe for concurrent use
// (it keeps scratch space); give each goroutine its own.
type Cipher struct {
	mac, ctr cipher.Block
	k1, k2   block // CMAC subkeys
	dblZero  block // dbl(CMAC(0^128)), the first S2V step, fixed per key

	// With AES-NI (fast), the round keys of both halves for the asm
	// routines of aes_amd64.s, which run CMAC over eight chains at once and
	// CTR eight blocks at a time, with no allocation per block
	// (cipher.NewCTR allocates one stream per call).
	fast     bool
	mrk, crk [15][16]byte

	// Scratch state. Slices of it go through the cipher.Block interface,
	// so locals would escape to the heap on every block.
	st   [lanes]block
	last [lanes]block
	tmp  block
	iv   block
	tail block // keystream of a last partial block (fast only)
}

// New returns a Cipher for a 64-byte key (first half CMAC, second half CTR).
func New(key []byte) (*Cipher, error) {
	if len(key) != KeySize {
		return nil, errors.New("siv: key must be 64 bytes")
	}
	mac, err := aes.NewCipher(key[:32])
	if err != nil {
		return nil, err
	}
	ctr, err := aes.NewCipher(key[32:])
	if err != nil {
		return nil, err
	}
	c := &Cipher{mac: mac, ctr: ctr, fast: haveAESNI()}
	if c.fast {
		expandKey(&c.mrk, key[:32])
		expandKey(&c.crk, key[32:])
	}
	var l block
	mac.Encrypt(l[:], l[:])
	c.k1 = dbl(l)
	c.k2 = dbl(c.k1)
	var zero block
	c.dblZero = dbl(c.cmac(zero[:]))
	return c, nil
}

// dbl is multiplication by x in GF(2^128) (RFC 5297 section 2.3).
func dbl(b block) block {
	var out block
	carry := b[0] >> 7
	for i := 0; i < 15; i++ {
		out[i] = b[i]<<1 | b[i+1]>>7
	}
	out[15] = b[15]<<1 ^ 0x87*carry
	return out
}

func xor16(dst *block, a []byte) { subtle.XORBytes(dst[:], dst[:], a[:16]) }

// cmac is AES-CMAC of m (RFC 4493).
func (c *Cipher) cmac(m []byte) block {
	st := &c.tmp
	*st = block{}
	for len(m) > 16 {
		xor16(st, m)
		c.mac.Encrypt(st[:], st[:])
		m = m[16:]
	}
	c.cmacLast(st, m)
	return *st
}

// cmacLast folds the final (possibly partial or empty) block into st.
func (c *Cipher) cmacLast(st *block, m []byte) {
	var last block
	copy(last[:], m)
	if len(m) == 16 {
		xor16(&last, c.k1[:])
	} else {
		last[len(m)] = 0x80
		xor16(&last, c.k2[:])
	}
	xor16(st, last[:])
	c.mac.Encrypt(st[:], st[:])
}

// s2v computes the synthetic IV of plaintext p with associated data ad.
func (c *Cipher) s2v(ad, p []byte) block {
	d := c.dblZero
	t := c.cmac(ad)
	xor16(&d, t[:])
	if len(p) < 16 {
		d = dbl(d)
		var pad block
		copy(pad[:], p)
		pad[len(p)] = 0x80
		xor16(&d, pad[:])
		return c.cmac(d[:])
	}
	// CMAC(p xorend d) without copying p: everything before the last 32
	// bytes goes through unchanged, the tail is fixed up in a buffer.
	head := (len(p) - 16) / 16 * 16
	if head == len(p)-16 {
		head -= 16 // keep at least one full block for the tail
	}
	if head < 0 {
		head = 0
	}
	st := &c.st[0]
	*st = block{}
	for off := 0; off < head; off += 16 {
		xor16(st, p[off:])
		c.mac.Encrypt(st[:], st[:])
	}
	var tail [32]byte
	n := copy(tail[:], p[head:])
	subtle.XORBytes(tail[n-16:n], tail[n-16:n], d[:])
	m := tail[:n]
	for len(m) > 16 {
		xor16(st, m)
		c.mac.Encrypt(st[:], st[:])
		m = m[16:]
	}
	c.cmacLast(st, m)
	return *st
}

// ctrXOR encrypts src into dst with CTR mode from the IV v (bits 63 and 31
// cleared, as RFC 5297 requires).
func (c *Cipher) ctrXOR(dst, src []byte, v block) {
	c.iv = v
	c.iv[8] &= 0x7f
	c.iv[12] &= 0x7f
	// crypto/cipher's CTR counts with the whole IV as a 128-bit big-endian
	// integer; ctrAsm counts in its last 32 bits, which is the same while
	// they do not wrap: always here, since their top bit was just cleared
	// and no block has 2^31 AES blocks.
	full := len(src) / 16
	if !c.fast || uint64(binary.BigEndian.Uint32(c.iv[12:]))+uint64(full) >= 1<<32 {
		cipher.NewCTR(c.ctr, c.iv[:]).XORKeyStream(dst, src)
		return
	}
	if full > 0 {
		ctrAsm(&c.crk, &dst[0], &src[0], &c.iv, full)
	}
	if tail := len(src) - 16*full; tail > 0 {
		encBlocksAsm(&c.crk, &c.tail[0], &c.iv[0], 1)
		subtle.XORBytes(dst[16*full:len(src)], src[16*full:], c.tail[:tail])
	}
}

// Seal appends IV || ciphertext of plaintext to dst.
func (c *Cipher) Seal(dst, plaintext, ad []byte) []byte {
	v := c.s2v(ad, plaintext)
	ret, out := grow(dst, Overhead+len(plaintext))
	copy(out, v[:])
	c.ctrXOR(out[Overhead:], plaintext, v)
	return ret
}

// Open appends the plaintext of ciphertext to dst, or returns
// ErrNotAuthentic. dst must not overlap ciphertext.
func (c *Cipher) Open(dst, ciphertext, ad []byte) ([]byte, error) {
	if len(ciphertext) < Overhead {
		return nil, ErrNotAuthentic
	}
	var v block
	copy(v[:], ciphertext)
	ret, out := grow(dst, len(ciphertext)-Overhead)
	c.ctrXOR(out, ciphertext[Overhead:], v)
	if w := c.s2v(ad, out); subtle.ConstantTimeCompare(w[:], v[:]) != 1 {
		clear(out)
		return nil, ErrNotAuthentic
	}
	return ret, nil
}

func grow(dst []byte, n int) (ret, out []byte) {
	if total := len(dst) + n; cap(dst) >= total {
		ret = dst[:total]
	} else {
		ret = make([]byte, total)
		copy(ret, dst)
	}
	return ret, ret[len(dst):]
}

// s2vLanes computes the IVs of up to `lanes` plaintexts of the same length,
// a non-zero multiple of 16, with their CMAC chains interleaved.
func (c *Cipher) s2vLanes(ads, ps [][]byte, out []block) {
	n := len(ps)
	st := &c.st
	last := &c.last // final blocks: p's last 16 bytes xor d xor k1
	*st = [lanes]block{}
	for k := 0; k < n; k++ {
		d := c.dblZero
		t := c.cmac(ads[k])
		xor16(&d, t[:])
		p := ps[k]
		copy(last[k][:], p[len(p)-16:])
		xor16(&last[k], d[:])
		xor16(&last[k], c.k1[:])
	}
	full := len(ps[0]) - 16
	if c.fast {
		// Lanes past n run on lane 0's data; their results are dropped.
		var p [lanes]*byte
		var l [lanes]*byte
		for k := range lanes {
			j := k
			if k >= n {
				j = 0
			}
			p[k], l[k] = &ps[j][0], &last[j][0]
		}
		if full > 0 {
			cmacAsm(&c.mrk, st, &p, full/16)
		}
		cmacAsm(&c.mrk, st, &l, 1)
		copy(out[:n], st[:n])
		return
	}
	for off := 0; off < full; off += 16 {
		for k := 0; k < n; k++ {
			xor16(&st[k], ps[k][off:])
			c.mac.Encrypt(st[k][:], st[k][:])
		}
	}
	for k := 0; k < n; k++ {
		xor16(&st[k], last[k][:])
		c.mac.Encrypt(st[k][:], st[k][:])
		out[k] = st[k]
	}
}

// SealBlocks seals plaintexts[i] with ads[i] into dsts[i] (each must have
// room for Overhead+len(plaintexts[i]) bytes; the sealed length is
// written). Blocks of equal length that is a multiple of 16 are processed
// in interleaved lanes; the others one by one.
func (c *Cipher) SealBlocks(dsts, plaintexts, ads [][]byte) {
	var ivs [lanes]block
	for i := 0; i < len(plaintexts); {
		n := c.run(plaintexts[i:])
		if n == 1 {
			c.Seal(dsts[i][:0], plaintexts[i], ads[i])
			i++
			continue
		}
		c.s2vLanes(ads[i:i+n], plaintexts[i:i+n], ivs[:n])
		for k := 0; k < n; k++ {
			out := dsts[i+k][:Overhead+len(plaintexts[i+k])]
			copy(out, ivs[k][:])
			c.ctrXOR(out[Overhead:], plaintexts[i+k], ivs[k])
		}
		i += n
	}
}

// run returns how many leading plaintexts (at most lanes) can share a lane
// group: equal length, a non-zero multiple of 16.
func (c *Cipher) run(ps [][]byte) int {
	l := len(ps[0])
	if l == 0 || l%16 != 0 {
		return 1
	}
	n := 1
	for n < len(ps) && n < lanes && len(ps[n]) == l {
		n++
	}
	return n
}

// OpenBlocks opens ciphertexts[i] with ads[i] into dsts[i] (room for
// len(ciphertexts[i])-Overhead bytes each). It returns the index of the
// first block that fails authentication, or -1; on failure the failing
// block's output is zeroed.
func (c *Cipher) OpenBlocks(dsts, ciphertexts, ads [][]byte) int {
	var ivs [lanes]block
	plains := make([][]byte, 0, lanes)
	for i := 0; i < len(ciphertexts); {
		if len(ciphertexts[i]) < Overhead {
			return i
		}
		plains = plains[:0]
		l := len(ciphertexts[i])
		for k := i; k < len(ciphertexts) && k < i+lanes && len(ciphertexts[k]) == l; k++ {
			out := dsts[k][:l-Overhead]
			var v block
			copy(v[:], ciphertexts[k])
			c.ctrXOR(out, ciphertexts[k][Overhead:], v)
			plains = append(plains, out)
		}
		n := c.run(plains)
		if n == 1 {
			if w := c.s2v(ads[i], plains[0]); subtle.ConstantTimeCompare(w[:], ciphertexts[i][:Overhead]) != 1 {
				clear(plains[0])
				return i
			}
			i++
			continue
		}
		c.s2vLanes(ads[i:i+n], plains[:n], ivs[:n])
		for k := 0; k < n; k++ {
			if subtle.ConstantTimeCompare(ivs[k][:], ciphertexts[i+k][:Overhead]) != 1 {
				clear(plains[k])
				return i + k
			}
		}
		i += n
	}
	return -1
}
