//go:build linux

package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	bigName  = "big.bin"
	treeDirs = 100
)

// randStream returns an AES-CTR keystream under a fresh random key: it is
// incompressible, and at several GB/s much faster than crypto/rand.
func randStream() (cipher.Stream, error) {
	var key [32]byte
	var iv [aes.BlockSize]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewCTR(block, iv[:]), nil
}

// writeBig writes size random bytes to path.
func writeBig(ctx context.Context, path string, size int64) error {
	s, err := randStream()
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 4<<20)
	for left := size; left > 0; {
		if err := ctx.Err(); err != nil {
			f.Close()
			return err
		}
		n := int(min(left, int64(len(buf))))
		clear(buf[:n])
		s.XORKeyStream(buf[:n], buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return fmt.Errorf("writing test data: %w", err)
		}
		left -= int64(n)
	}
	return f.Close()
}

// treeFile is the path of file i of the small-file tree.
func treeFile(root string, i int) string {
	return filepath.Join(root, fmt.Sprintf("dir-%03d", i%treeDirs), fmt.Sprintf("document-%05d.dat", i))
}

// treeFileSize draws a file size: most files are 0..8 KiB, one in fifty is
// 16..256 KiB, roughly the shape of a home directory's small files.
func treeFileSize(rng *mrand.Rand) int {
	if rng.IntN(50) == 0 {
		return 16<<10 + rng.IntN(240<<10)
	}
	return rng.IntN(8 << 10)
}

// writeTree creates files random files spread over treeDirs directories.
// Sizes come from a fixed seed so every run has the same tree shape.
func writeTree(ctx context.Context, root string, files int) (int64, error) {
	for d := 0; d < treeDirs; d++ {
		if err := os.MkdirAll(filepath.Join(root, fmt.Sprintf("dir-%03d", d)), 0o755); err != nil {
			return 0, err
		}
	}
	s, err := randStream()
	if err != nil {
		return 0, err
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	buf := make([]byte, 256<<10)
	var total int64
	for i := 0; i < files; i++ {
		if i%1000 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
		n := treeFileSize(rng)
		clear(buf[:n])
		s.XORKeyStream(buf[:n], buf[:n])
		if err := os.WriteFile(treeFile(root, i), buf[:n], 0o644); err != nil {
			return 0, fmt.Errorf("writing test tree: %w", err)
		}
		total += int64(n)
	}
	return total, nil
}

// changeTree rewrites 1% of the tree's files in place (same inode, same
// size, new random bytes) and moves their mtime forward, as a day of edits
// would. It returns how many files changed.
func changeTree(root string, files, rep int) (changed, dirs int, err error) {
	s, err := randStream()
	if err != nil {
		return 0, 0, err
	}
	rng := mrand.New(mrand.NewPCG(uint64(rep)+100, 7))
	n := max(files/100, 1)
	mtime := time.Now().Add(time.Duration(rep+1) * time.Hour).Truncate(time.Second)
	seen := map[string]bool{}
	for _, i := range rng.Perm(files)[:n] {
		p := treeFile(root, i)
		seen[filepath.Dir(p)] = true
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return 0, 0, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return 0, 0, err
		}
		buf := make([]byte, st.Size())
		s.XORKeyStream(buf, buf)
		if _, err := f.WriteAt(buf, 0); err != nil {
			f.Close()
			return 0, 0, err
		}
		if err := f.Close(); err != nil {
			return 0, 0, err
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			return 0, 0, err
		}
	}
	return n, len(seen), nil
}

// dropCache evicts a file's pages from the page cache. Used for the cold
// plaintext runs.
func dropCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// DONTNEED skips dirty pages: write a freshly made file back first.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("fadvise DONTNEED %s: %w", path, err)
	}
	return nil
}

// residency is the fraction of a file's pages in the page cache. The bench
// checks it after each warm-plaintext run: something outside the bench
// (another process, a host balloon) may evict pages mid-run.
func residency(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.Size() == 0 {
		return 1, err
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(info.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0, fmt.Errorf("mmap for mincore: %w", err)
	}
	defer unix.Munmap(mem)
	page := os.Getpagesize()
	vec := make([]byte, (len(mem)+page-1)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return 0, fmt.Errorf("mincore: %w", e)
	}
	in := 0
	for _, v := range vec {
		in += int(v & 1)
	}
	return float64(in) / float64(len(vec)), nil
}

// warmCache reads a file once so its pages sit in the page cache.
func warmCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyBuffer(io.Discard, f, make([]byte, 1<<20))
	return err
}

// writeFlatDir creates n small files (0..511 bytes, fixed seed) directly in
// dir, for the ls -l of one large directory.
func writeFlatDir(ctx context.Context, dir string, n int) error {
	s, err := randStream()
	if err != nil {
		return err
	}
	rng := mrand.New(mrand.NewPCG(5, 6))
	buf := make([]byte, 512)
	for i := 0; i < n; i++ {
		if i%1000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		size := rng.IntN(len(buf))
		s.XORKeyStream(buf[:size], buf[:size])
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("entry-%07d.txt", i)), buf[:size], 0o644); err != nil {
			return fmt.Errorf("writing the large directory: %w", err)
		}
	}
	return nil
}

// countTree counts the regular files under dir and their bytes, to check
// that a restore put back the whole tree.
func countTree(dir string) (files int, bytes int64, err error) {
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files++
		bytes += info.Size()
		return nil
	})
	return files, bytes, err
}
