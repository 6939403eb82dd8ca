package content

import (
	"bytes"
	"io"
	"strconv"
	"testing"
)

// BenchmarkSealBlock seals one 4 KiB block on one core.
func BenchmarkSealBlock(b *testing.B) {
	f := testFile(b, 4096, "bench/file")
	plain := make([]byte, 4096)
	dst := make([]byte, 0, 4096+Overhead)
	b.SetBytes(4096)
	for i := 0; b.Loop(); i++ {
		dst = f.sealBlock(dst[:0], plain, int64(i), false)
	}
}

// BenchmarkOpenBlock opens one 4 KiB block on one core.
func BenchmarkOpenBlock(b *testing.B) {
	f := testFile(b, 4096, "bench/file")
	ct := f.sealBlock(nil, make([]byte, 4096), 3, false)
	dst := make([]byte, 0, 4096)
	b.SetBytes(4096)
	for b.Loop() {
		var err error
		if dst, err = f.OpenBlock(dst[:0], ct, 3, false); err != nil {
			b.Fatal(err)
		}
	}
}

const benchRange = 1 << 20

// BenchmarkEncryptAt encrypts a 1 MiB range of a 64 MiB file per call, as
// a large FUSE read would, on all cores.
func BenchmarkEncryptAt(b *testing.B) {
	for _, bs := range []int{4096, 65536} {
		b.Run(blockName(bs), func(b *testing.B) {
			f := testFile(b, bs, "bench/file")
			plain := make([]byte, 4*benchRange)
			src := bytes.NewReader(plain)
			const size = 64 << 20
			dst := make([]byte, benchRange)
			b.SetBytes(benchRange)
			for i := 0; b.Loop(); i++ {
				off := int64(i%3) * benchRange
				if _, err := f.EncryptAt(dst, off, size, repeatReader{src, int64(len(plain))}); err != nil && err != io.EOF {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecryptAt decrypts a 1 MiB range per call on all cores.
func BenchmarkDecryptAt(b *testing.B) {
	for _, bs := range []int{4096, 65536} {
		b.Run(blockName(bs), func(b *testing.B) {
			f := testFile(b, bs, "bench/file")
			ct := encryptAll(b, f, make([]byte, 4*benchRange), 4<<20)
			dst := make([]byte, benchRange)
			b.SetBytes(benchRange)
			for i := 0; b.Loop(); i++ {
				off := int64(i%3) * benchRange
				if _, err := f.DecryptAt(dst, off, int64(len(ct)), bytes.NewReader(ct)); err != nil && err != io.EOF {
					b.Fatal(err)
				}
			}
		})
	}
}

func blockName(bs int) string { return "bs" + strconv.Itoa(bs/1024) + "KiB" }

// repeatReader serves a large plaintext from a small buffer.
type repeatReader struct {
	r    *bytes.Reader
	size int64
}

func (r repeatReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.r.ReadAt(p[n:], (off+int64(n))%r.size)
		n += m
		if err != nil && err != io.EOF {
			return n, err
		}
	}
	return n, nil
}
