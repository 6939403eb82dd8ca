//go:build !amd64 || purego

package siv

// haveAESNI is false: only amd64 has the asm routines; elsewhere the
// cipher uses crypto/aes block by block.
func haveAESNI() bool { return false }

func expandKey(rk *[15][16]byte, key []byte) { panic("internal error: no AES-NI routines") }

func encBlocksAsm(rk *[15][16]byte, dst, src *byte, n int) {
	panic("internal error: no AES-NI routines")
}

func cmacAsm(rk *[15][16]byte, st *[8][16]byte, p *[8]*byte, n int) {
	panic("internal error: no AES-NI routines")
}

func ctrAsm(rk *[15][16]byte, dst, src *byte, ctr *[16]byte, n int) {
	panic("internal error: no AES-NI routines")
}
