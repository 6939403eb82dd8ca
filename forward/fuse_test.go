//go:build linux

package forward

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/internal/testenv"
)

func TestMountReadsAndFailsClosed(t *testing.T) {
	testenv.RequireFUSE(t)
	b, cipher, files := setup(t, config.Defaults())
	crel, _ := b.EncryptPath("sizes/f-4097")
	p := filepath.Join(cipher, crel)
	data, _ := os.ReadFile(p)
	data[content.HeaderSize+4096+16+5] ^= 0x80 // second block
	os.WriteFile(p, data, 0o644)

	mnt := t.TempDir()
	server, err := Mount(b, mnt, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Unmount() })
	for rel, want := range files {
		got, err := os.ReadFile(filepath.Join(mnt, rel))
		if rel == "sizes/f-4097" {
			if !errors.Is(err, syscall.EIO) {
				t.Errorf("tampered file read: %d bytes, %v; want EIO", len(got), err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%q: %d bytes, %v", rel, len(got), err)
		}
		st, err := os.Stat(filepath.Join(mnt, rel))
		if err != nil || st.Size() != int64(len(want)) || st.Mode().Perm() != 0o640 {
			t.Errorf("%q: stat %v, %v", rel, st, err)
		}
	}
	// The mount stays up after the failure.
	if got, err := os.ReadFile(filepath.Join(mnt, "sizes/f-4096")); err != nil || !bytes.Equal(got, files["sizes/f-4096"]) {
		t.Errorf("reading after a failed read: %d bytes, %v", len(got), err)
	}
	if target, err := os.Readlink(filepath.Join(mnt, "link")); err != nil || target != "sizes/../non-utf8-\xff\xfe" {
		t.Errorf("readlink: %q, %v", target, err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "new"), nil, 0o644); err == nil {
		t.Error("writing into the read-only view succeeded")
	}
	var cst, mst syscall.Stat_t
	syscall.Lstat(filepath.Join(cipher, crel), &cst)
	syscall.Lstat(filepath.Join(mnt, "sizes/f-4097"), &mst)
	if cst.Ino != mst.Ino {
		t.Errorf("inode %d in the view, %d in the backup", mst.Ino, cst.Ino)
	}
}

// TestMountParallelReads reads one file from several goroutines at
// different offsets (run under -race by make test).
func TestMountParallelReads(t *testing.T) {
	testenv.RequireFUSE(t)
	b, _, files := setup(t, config.Defaults())
	mnt := t.TempDir()
	server, err := Mount(b, mnt, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Unmount() })
	want := files["sizes/f-300000"]
	f, err := os.Open(filepath.Join(mnt, "sizes/f-300000"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func(g int) {
			buf := make([]byte, 70000)
			for off := int64(g * 3001); off < int64(len(want)); off += 70000 {
				n, err := f.ReadAt(buf, off)
				if err != nil && n != len(want)-int(off) {
					errs <- err
					return
				}
				if !bytes.Equal(buf[:n], want[off:off+int64(n)]) {
					errs <- errors.New("parallel read returned wrong bytes")
					return
				}
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestMountListedDamagedSize: READDIRPLUS answers from the listing, but a
// file whose stored size no plaintext has is still EIO to a stat after the
// directory was listed, as it is to one without a listing, and the other
// entries show the listing's sizes.
func TestMountListedDamagedSize(t *testing.T) {
	testenv.RequireFUSE(t)
	b, cipher, files := setup(t, config.Defaults())
	crel, _ := b.EncryptPath("sizes/f-4097")
	if err := os.Truncate(filepath.Join(cipher, crel), content.HeaderSize+2); err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	server, err := Mount(b, mnt, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Unmount() })
	ents, err := os.ReadDir(filepath.Join(mnt, "sizes"))
	if err != nil {
		t.Fatal(err)
	}
	listed := false
	for _, e := range ents {
		rel := "sizes/" + e.Name()
		st, err := os.Lstat(filepath.Join(mnt, rel))
		if rel == "sizes/f-4097" {
			listed = true
			if !errors.Is(err, syscall.EIO) {
				t.Errorf("stat of the damaged file after a listing: %v, %v; want EIO", st, err)
			}
			continue
		}
		if want, ok := files[rel]; ok && (err != nil || st.Size() != int64(len(want))) {
			t.Errorf("%q: stat %v, %v; want %d bytes", rel, st, err, len(want))
		}
	}
	if !listed {
		t.Error("the damaged file is not listed")
	}
}

// TestDirHandleOffsets: the offsets Readdirent hands out are what Seekdir
// takes back (the kernel resumes a listing at them), 0 starts over, and an
// offset past the end is refused.
func TestDirHandleOffsets(t *testing.T) {
	b, _, _ := setup(t, config.Defaults())
	v := &view{b: b, log: slog.New(slog.DiscardHandler), v2: b.Format() >= 2}
	e, err := b.Resolve("sizes")
	if err != nil {
		t.Fatal(err)
	}
	h := &dirHandle{dir: v.node(e)}
	ctx := t.Context()
	var names []string
	for {
		de, errno := h.Readdirent(ctx)
		if errno != 0 {
			t.Fatal(errno)
		}
		if de == nil {
			break
		}
		if de.Off != uint64(len(names)+1) {
			t.Errorf("%d: offset %d", len(names), de.Off)
		}
		names = append(names, de.Name)
	}
	if len(names) < 3 {
		t.Fatalf("listed %q", names)
	}
	for _, off := range []uint64{2, 0, uint64(len(names))} {
		if errno := h.Seekdir(ctx, off); errno != 0 {
			t.Fatalf("seekdir %d: %v", off, errno)
		}
		de, _ := h.Readdirent(ctx)
		switch {
		case off == uint64(len(names)) && de != nil:
			t.Errorf("seekdir to the end, then %q", de.Name)
		case off < uint64(len(names)) && (de == nil || de.Name != names[off]):
			t.Errorf("seekdir %d: %v, want %q", off, de, names[off])
		}
	}
	if errno := h.Seekdir(ctx, uint64(len(names)+1)); errno != syscall.EINVAL {
		t.Errorf("seekdir past the end: %v, want EINVAL", errno)
	}
}
