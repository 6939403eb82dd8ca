package secret

import (
	"bytes"
	"runtime"
	"testing"
)

func TestNew(t *testing.T) {
	for _, n := range []int{0, 1, 32, 4096, 5000} {
		s := New(n)
		b := s.Bytes()
		if len(b) != n || !bytes.Equal(b, make([]byte, n)) {
			t.Fatalf("New(%d) gives %d bytes, not all zero", n, len(b))
		}
		for i := range b {
			b[i] = byte(i) | 1
		}
		if n > 0 && s.Bytes()[n-1] == 0 {
			t.Fatalf("New(%d): Bytes does not return the buffer itself", n)
		}
		if runtime.GOOS == "linux" && n > 0 && !s.mapped {
			t.Errorf("New(%d) fell back to heap memory on Linux", n)
		}
		s.Wipe()
		if s.Bytes() != nil {
			t.Fatalf("New(%d): Bytes after Wipe is not nil", n)
		}
		s.Wipe() // a second Wipe is harmless
	}
	var nilSecret *Secret
	nilSecret.Wipe()
	if nilSecret.Bytes() != nil {
		t.Fatal("Bytes of a nil Secret is not nil")
	}
}

// TestWipeZeroes checks the heap fallback, whose memory stays readable
// after Wipe (a mapping is unmapped, so reading it would fault).
func TestWipeZeroes(t *testing.T) {
	s := &Secret{b: bytes.Repeat([]byte{0xa5}, 64)}
	alias := s.b
	s.Wipe()
	if !bytes.Equal(alias, make([]byte, 64)) {
		t.Fatalf("Wipe left %x", alias)
	}
}
