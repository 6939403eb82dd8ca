package content

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync"
	"testing"
)

// encryptAll returns the whole ciphertext of plain via EncryptAt in chunks of step.
func encryptAll(t testing.TB, f *File, plain []byte, step int) []byte {
	size := f.CipherSize(int64(len(plain)))
	out := make([]byte, 0, size)
	buf := make([]byte, step)
	for off := int64(0); ; {
		n, err := f.EncryptAt(buf, off, int64(len(plain)), bytes.NewReader(plain))
		out = append(out, buf[:n]...)
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("EncryptAt(%d): %v", off, err)
		}
	}
	if int64(len(out)) != size {
		t.Fatalf("ciphertext %d bytes, size mapping says %d", len(out), size)
	}
	return out
}

func testFile(t testing.TB, bs int, path string) *File {
	key := make([]byte, 32)
	h, err := NewHeader([16]byte{1, 2, 3}, bs)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFile(key, h, path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRoundTripRandomRanges(t *testing.T) {
	for _, bs := range []int{4096, 8192} {
		f := testFile(t, bs, "dir/file")
		for _, n := range []int{0, 1, bs - 1, bs, bs + 1, 2*bs + 500, 3*bs + 1, 40 * bs} {
			plain := make([]byte, n)
			rand.Read(plain)
			whole := encryptAll(t, f, plain, 1<<20)
			for _, step := range []int{1000, bs + Overhead, 128 << 10} {
				if got := encryptAll(t, f, plain, step); !bytes.Equal(got, whole) {
					t.Fatalf("bs %d n %d step %d: chunked encryption differs", bs, n, step)
				}
			}
			for i := 0; i < 50; i++ {
				off := int64(0)
				if n > 0 {
					off = mrand.Int64N(int64(n))
				}
				ln := mrand.IntN(3*bs) + 1
				dst := make([]byte, ln)
				got, err := f.DecryptAt(dst, off, int64(len(whole)), bytes.NewReader(whole))
				if err != nil && err != io.EOF {
					t.Fatalf("DecryptAt: %v", err)
				}
				want := plain[min(int(off), n):min(int(off)+ln, n)]
				if !bytes.Equal(dst[:got], want) {
					t.Fatalf("bs %d n %d off %d len %d: wrong plaintext", bs, n, off, ln)
				}
			}
			if n == 0 {
				if _, err := f.DecryptAt(make([]byte, 10), 0, int64(len(whole)), bytes.NewReader(whole)); err != io.EOF {
					t.Fatalf("empty file: %v", err)
				}
			}
		}
	}
}

func TestTamperedByteFails(t *testing.T) {
	f := testFile(t, 4096, "a")
	plain := make([]byte, 10000)
	whole := encryptAll(t, f, plain, 1<<20)
	for _, i := range []int{HeaderSize, HeaderSize + 100, len(whole) - 1} {
		bad := bytes.Clone(whole)
		bad[i] ^= 1
		_, err := f.DecryptAt(make([]byte, len(plain)), 0, int64(len(bad)), bytes.NewReader(bad))
		if !errors.Is(err, ErrNotAuthentic) {
			t.Fatalf("flip at %d: got %v", i, err)
		}
	}
}

// TestSharedScratch: Files sharing one Scratch, in turn and at once,
// give the ciphertext and plaintext they give alone, whatever sizes the
// shared buffers were left at.
func TestSharedScratch(t *testing.T) {
	var s Scratch
	sizes := []int{0, 1, 4095, 4096, 70000, 10, 300000, 5}
	plains, wants := make([][]byte, len(sizes)), make([][]byte, len(sizes))
	for i, n := range sizes {
		plains[i] = make([]byte, n)
		rand.Read(plains[i])
		wants[i] = encryptAll(t, testFile(t, 4096, "alone"), plains[i], 1<<20)
	}
	check := func(i int) error {
		f := testFile(t, 4096, "alone")
		f.UseScratch(&s)
		for _, step := range []int{1 << 20, 4096 + Overhead, 777} {
			var got []byte
			for off := int64(0); ; {
				buf := make([]byte, step)
				n, err := f.EncryptAt(buf, off, int64(len(plains[i])), bytes.NewReader(plains[i]))
				got, off = append(got, buf[:n]...), off+int64(n)
				if err == io.EOF {
					break
				} else if err != nil {
					return err
				}
			}
			if !bytes.Equal(got, wants[i]) {
				return fmt.Errorf("%d bytes, step %d: ciphertext differs with a shared scratch", sizes[i], step)
			}
		}
		back := make([]byte, sizes[i]+1)
		m, err := f.DecryptAt(back, 0, int64(len(wants[i])), bytes.NewReader(wants[i]))
		if err != nil && err != io.EOF || !bytes.Equal(back[:m], plains[i]) {
			return fmt.Errorf("%d bytes: plaintext differs with a shared scratch (%v)", sizes[i], err)
		}
		return nil
	}
	for i := range sizes {
		if err := check(i); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range sizes {
		wg.Go(func() {
			if err := check(i); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
