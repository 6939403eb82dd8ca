package treewrite

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// ChunkSize is how much is produced per ReadAt call of Copy: large, so an
// encrypting or decrypting reader spreads its blocks over every core.
const ChunkSize = 4 << 20

// Copier moves bytes from a slow, CPU-bound io.ReaderAt (encryption or
// decryption) to a writer, producing the next chunk while the previous one
// is written. Its buffers are reused across files. Safe for concurrent use.
type Copier struct {
	bufs sync.Pool
}

func (c *Copier) get() []byte {
	if b, ok := c.bufs.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, ChunkSize)
}

func (c *Copier) put(b []byte) { c.bufs.Put(&b) }

// Copy writes the size bytes of r to w. progress, if set, gets the bytes
// of each chunk as it is read. r may return io.EOF with its last bytes. A
// reader that ends early is io.ErrUnexpectedEOF. ctx stops the copy
// between chunks. An empty r is still read once at offset 0, so a
// decrypting reader authenticates the empty file's final block.
func (c *Copier) Copy(ctx context.Context, w io.Writer, r io.ReaderAt, size int64, progress func(int64)) error {
	if size == 0 {
		b := c.get()
		defer c.put(b)
		n, err := r.ReadAt(b, 0)
		if err != nil && err != io.EOF {
			return err
		}
		if n != 0 {
			return fmt.Errorf("reader is longer than its size")
		}
		return nil
	}
	if size <= ChunkSize {
		// One chunk: nothing to overlap.
		b := c.get()
		defer c.put(b)
		n, err := readChunk(r, b[:size], 0)
		if err != nil {
			return err
		}
		if progress != nil {
			progress(int64(n))
		}
		if _, err := w.Write(b[:n]); err != nil {
			return fmt.Errorf("writing: %w", err)
		}
		return nil
	}
	free := make(chan []byte, 2)
	free <- c.get()
	free <- c.get()
	full := make(chan []byte, 2) // never blocks: there are two buffers
	werr := make(chan error, 1)
	var failed atomic.Bool // set by the writer, so the reader stops early
	go func() {
		var err error
		for b := range full {
			if err == nil {
				if _, e := w.Write(b); e != nil {
					err = fmt.Errorf("writing: %w", e)
					failed.Store(true)
				}
			}
			free <- b[:cap(b)]
		}
		werr <- err
	}()
	var rerr error
	for off := int64(0); off < size && !failed.Load(); {
		if rerr = ctx.Err(); rerr != nil {
			break
		}
		var b []byte
		select {
		case b = <-free:
		case <-ctx.Done():
			rerr = ctx.Err()
		}
		if rerr != nil {
			break
		}
		n, err := readChunk(r, b[:min(int64(len(b)), size-off)], off)
		if err != nil {
			free <- b
			rerr = err
			break
		}
		if progress != nil {
			progress(int64(n))
		}
		full <- b[:n]
		off += int64(n)
	}
	close(full)
	err := <-werr
	for range 2 {
		c.put(<-free)
	}
	if rerr != nil {
		return rerr
	}
	return err
}

// readChunk fills b from r at off; io.EOF with a full b is success.
func readChunk(r io.ReaderAt, b []byte, off int64) (int, error) {
	n, err := r.ReadAt(b, off)
	if n == len(b) && (err == nil || err == io.EOF) {
		return n, nil
	}
	if err == nil || err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}
