//go:build amd64 && !purego

package siv

import (
	"encoding/binary"

	"golang.org/x/sys/cpu"
)

//go:generate go run ./internal/asmgen

// haveAESNI tells whether the AES-NI routines of aes_amd64.s can run here
// (ctrAsm's PSHUFB is SSSE3, which every AES-NI processor has).
func haveAESNI() bool { return cpu.X86.HasAES && cpu.X86.HasSSSE3 }

// expandKey is the AES-256 key schedule (FIPS 197 section 5.2): fifteen
// round keys, each the big-endian bytes of four schedule words, the layout
// AESENC takes. crypto/aes keeps its own schedule unexported, so the asm
// routines need this copy.
func expandKey(rk *[15][16]byte, key []byte) {
	var w [60]uint32
	for i := range 8 {
		w[i] = binary.BigEndian.Uint32(key[4*i:])
	}
	rcon := uint32(1) // AES-256 needs only 1..64: no reduction mod the AES polynomial
	for i := 8; i < 60; i++ {
		t := w[i-1]
		switch i % 8 {
		case 0:
			t = subWordAsm(t<<8|t>>24) ^ rcon<<24
			rcon <<= 1
		case 4:
			t = subWordAsm(t)
		}
		w[i] = w[i-8] ^ t
	}
	for i, x := range w {
		binary.BigEndian.PutUint32(rk[i/4][4*(i%4):], x)
	}
}

// encBlocksAsm sets dst[i] = AES(src[i]) for n 16-byte blocks; dst may be src.
//
//go:noescape
func encBlocksAsm(rk *[15][16]byte, dst, src *byte, n int)

// ctrAsm sets dst[i] = src[i] xor AES(ctr+i) for n 16-byte blocks,
// counting in ctr's last 32-bit big-endian word, and leaves ctr at the next
// counter. dst may be src.
//
//go:noescape
func ctrAsm(rk *[15][16]byte, dst, src *byte, ctr *[16]byte, n int)

// cmacAsm runs n CBC-MAC steps of eight chains: st[k] = AES(st[k] xor p[k][i]).
//
//go:noescape
func cmacAsm(rk *[15][16]byte, st *[8][16]byte, p *[8]*byte, n int)

// subWordAsm is the S-box applied to each byte of w.
//
//go:noescape
func subWordAsm(w uint32) uint32
