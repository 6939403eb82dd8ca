package content

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/hkdf"
)

// TestFileKeysMatchHKDF: the reused extract and hand-rolled expand give
// what a fresh HKDF gives, for paths of every length class (a path longer
// than the kept buffer too), from many goroutines at once.
func TestFileKeysMatchHKDF(t *testing.T) {
	contentKey := make([]byte, 64)
	rand.Read(contentKey)
	keys := NewFileKeys(contentKey)
	hdr := make([]byte, HeaderSize)
	rand.Read(hdr)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range []int{0, 1, 31, 64, 255, 4096, 9000} {
				path := strings.Repeat(string(rune('a'+g)), n)
				for _, label := range []string{fileKeyLabel, recordKeyLabel} {
					want := make([]byte, FileKeySize)
					info := append(append([]byte(label), hdr...), path...)
					if _, err := io.ReadFull(hkdf.New(sha256.New, contentKey, nil, info), want); err != nil {
						t.Error(err)
						return
					}
					if got := keys.derive(label, hdr, path); !bytes.Equal(got[:], want) {
						t.Errorf("label %q, path of %d bytes: key %x, HKDF says %x", label, n, got, want)
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestSmallFileAllocs pins what a small file read in one request costs in
// allocations once its FileKeys exists: the File, its first cipher (with
// crypto/aes's two key schedules) and the block loop's closure, nothing
// for the key derivation. Before FileKeys, 30 allocations a file.
func TestSmallFileAllocs(t *testing.T) {
	contentKey := make([]byte, 64)
	keys := NewFileKeys(contentKey)
	h, err := NewHeader([FileIDSize]byte{1}, 4096)
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte{7}, 6000)
	src := bytes.NewReader(plain)
	var s Scratch
	dst := make([]byte, 1<<16)
	allocs := testing.AllocsPerRun(200, func() {
		f, err := keys.NewFile(h, "dir/file")
		if err != nil {
			t.Fatal(err)
		}
		f.UseScratch(&s)
		if _, err := f.EncryptAt(dst, 0, int64(len(plain)), src); err != io.EOF && err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 7 {
		t.Errorf("a small file costs %.0f allocations, want at most 7", allocs)
	}
	hdr := h.Marshal()
	if allocs := testing.AllocsPerRun(100, func() { keys.derive(fileKeyLabel, hdr[:], "dir/file") }); allocs != 0 {
		t.Errorf("a file key's derivation allocates %.0f times, want 0", allocs)
	}
}
