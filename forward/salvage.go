package forward

// Salvage: what can still be read of a damaged file. Restore normally
// drops a file whose any block fails; with --salvage it also writes, under
// a name that says so, every block that does authenticate, so a torn upload
// (a file that grew while a sync tool copied it) or one flipped block costs
// only the bytes it really lost.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/efs-project/efs/content"
)

// SalvageSuffix ends the name of a salvaged file beside the damaged one's.
const SalvageSuffix = ".efs-salvaged"

// Salvaged says what Salvage got back.
type Salvaged struct {
	Blocks, Lost int64 // blocks in the stored file, and those that failed
	Bytes        int64 // plaintext bytes written (lost blocks as zeros)
	// Grew is set when the last block authenticates only as a middle
	// block: the file went on beyond what the storage holds (it grew
	// while it was copied, or the storage cut it at a block boundary).
	Grew bool
}

// Salvage writes to w every block of the ciphertext file at (rel, crel)
// that authenticates, in place, with zeros for the blocks that do not. It
// needs an intact header (the file key depends on it); a size that ends
// inside a block loses that last partial block.
func (b *Backup) Salvage(ctx context.Context, rel, crel string, w io.Writer) (s Salvaged, err error) {
	fd, err := openStored(b.cpath(crel))
	if err != nil {
		return s, fmt.Errorf("opening %s: %w", crel, err)
	}
	f := os.NewFile(uintptr(fd), crel)
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return s, fmt.Errorf("%s: %w: not a readable regular file", crel, ErrDamaged)
	}
	var hb [content.HeaderSize]byte
	if _, err := f.ReadAt(hb[:], 0); err != nil {
		return s, fmt.Errorf("%s: %w: no header to salvage from", crel, ErrDamaged)
	}
	h, err := content.ParseHeader(hb[:])
	if err != nil || h.BlockSize() != b.settings.BlockSize {
		return s, fmt.Errorf("%s: %w: the header is damaged, nothing can be salvaged", crel, ErrDamaged)
	}
	enc, err := b.fileKeys.NewFile(h, rel)
	if errors.Is(err, content.ErrHeader) {
		return s, fmt.Errorf("%s: %w: a directory record's header, nothing can be salvaged", crel, ErrDamaged)
	}
	if err != nil {
		return s, err
	}
	defer enc.Wipe()
	if n := b.salvageSize(enc, f); n >= 0 {
		w = &limitWriter{w: w, n: n}
		defer func() { s.Bytes = min(s.Bytes, n) }()
	}
	bs := int64(b.settings.BlockSize)
	cbs := bs + content.Overhead
	body := st.Size() - content.HeaderSize
	s.Blocks = body / cbs
	if rem := body % cbs; rem > content.Overhead {
		s.Blocks++ // a shorter last block
	}
	ct := make([]byte, cbs)
	pt := make([]byte, 0, bs)
	zeros := make([]byte, bs)
	for i := range s.Blocks {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		n, err := f.ReadAt(ct, content.HeaderSize+i*cbs)
		if err != nil && !errors.Is(err, io.EOF) {
			return s, fmt.Errorf("%s: reading: %w", crel, err)
		}
		last := i == s.Blocks-1
		out, err := enc.OpenBlock(pt[:0], ct[:n], i, last)
		if err != nil && last {
			// Authentic as a middle block: the file continued.
			if out, err = enc.OpenBlock(pt[:0], ct[:n], i, false); err == nil {
				s.Grew = true
			}
		}
		if err != nil {
			s.Lost++
			out = zeros[:max(n-content.Overhead, 0)]
		}
		if _, err := w.Write(out); err != nil {
			return s, fmt.Errorf("writing: %w", err)
		}
		s.Bytes += int64(len(out))
	}
	return s, nil
}

// String words a salvage for the failure list, without any name.
func (s Salvaged) String() string {
	msg := fmt.Sprintf("salvaged %d of %d blocks (%d bytes; lost blocks are zeros)", s.Blocks-s.Lost, s.Blocks, s.Bytes)
	if s.Grew {
		msg += "; the stored copy ends at a block boundary before the file did (it grew while it was copied, or was cut), so its end is missing"
	}
	return msg
}
