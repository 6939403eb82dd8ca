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

// minBuf is the smallest buffer Copy uses; buffers come in powers of two
// from it up to ChunkSize, so a small file does not hold a whole chunk.
const minBuf = 64 << 10

// bufClasses is the number of buffer sizes, minBuf to ChunkSize.
const bufClasses = 7

// class is the index of the smallest buffer size that holds n bytes.
func class(n int64) int {
	i := 0
	for i < bufClasses-1 && minBuf<<i < n {
		i++
	}
	return i
}

// Copier moves bytes from a slow, CPU-bound io.ReaderAt (encryption or
// decryption) to a writer, producing the next chunk while the previous one
// is written. Its buffers are reused across files. Safe for concurrent use.
type Copier struct {
	// Window, if set, bounds the bytes in flight of all the copies
	// sharing it (Footprint each).
	Window *Window
	bufs   [bufClasses]sync.Pool
}

// get returns a buffer of at least n bytes (n ≤ ChunkSize).
func (c *Copier) get(n int64) []byte {
	i := class(n)
	if b, ok := c.bufs[i].Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, minBuf<<i)
}

func (c *Copier) put(b []byte) {
	b = b[:cap(b)]
	c.bufs[class(int64(len(b)))].Put(&b)
}

// Footprint is what Copy of size bytes counts against the Window: its own
// buffers (one for a file of one chunk, two for a larger one), and as much
// again as one buffer for the reader's own (a decrypting reader reads a
// chunk's ciphertext into one).
func Footprint(size int64) int64 {
	if size > ChunkSize {
		return 3 * ChunkSize
	}
	return 2 * (minBuf << class(size))
}

// Copy writes the size bytes of r to w. progress, if set, gets the bytes
// of each chunk as it is read. r may return io.EOF with its last bytes. A
// reader that ends early is io.ErrUnexpectedEOF. ctx stops the copy
// between chunks. An empty r is still read once at offset 0, so a
// decrypting reader authenticates the empty file's final block.
func (c *Copier) Copy(ctx context.Context, w io.Writer, r io.ReaderAt, size int64, progress func(int64)) error {
	if c.Window != nil {
		units, err := c.Window.acquire(ctx, Footprint(size))
		if err != nil {
			return err
		}
		defer c.Window.release(units)
	}
	if size == 0 {
		b := c.get(0)
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
		b := c.get(size)
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
	free <- c.get(ChunkSize)
	free <- c.get(ChunkSize)
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
