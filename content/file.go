package content

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/efs-project/efs/internal/siv"
)

// ErrChanged means the plaintext file became shorter while it was being
// encrypted; the caller should report EIO or a short read, never guess.
var ErrChanged = errors.New("plaintext file changed while it was read")

// minParallelBlocks is the smallest request split across cores: below it the
// goroutine hand-off costs more than it saves.
const minParallelBlocks = 8

// File holds the crypto state of one file: its header and an AES-SIV key
// derived from the header and the path. It is safe for concurrent use; each
// goroutine borrows its own cipher from a pool.
type File struct {
	header    [HeaderSize]byte
	blockSize int
	padded    bool // header flag FlagPadded: the stream is padded (padme.go)
	key       [FileKeySize]byte
	ciphers   sync.Pool                  // *siv.Cipher
	first     atomic.Pointer[siv.Cipher] // the cipher newFile made, until borrowed
	plainBufs sync.Pool                  // *[]byte scratch for plaintext/ciphertext runs
	shared    *Scratch                   // if set, the pool to use instead of plainBufs
}

// NewFile prepares the crypto state for the file at path (plaintext,
// relative to the root) with header h, whose flags may only say that the
// stream is padded. A caller that opens many files keeps one FileKeys and
// calls its NewFile.
func NewFile(contentKey []byte, h Header, path string) (*File, error) {
	return NewFileKeys(contentKey).NewFile(h, path)
}

// NewRecord prepares the crypto state for the directory record of the
// directory at dirPath (format v2), as FileKeys.NewRecord does.
func NewRecord(contentKey []byte, h Header, dirPath string) (*File, error) {
	return NewFileKeys(contentKey).NewRecord(h, dirPath)
}

// NewFile prepares the crypto state for the file at path (plaintext,
// relative to the root) with header h, whose flags may only say that the
// stream is padded.
func (k *FileKeys) NewFile(h Header, path string) (*File, error) {
	if h.Flags&^FlagPadded != 0 {
		return nil, fmt.Errorf("%w: a directory record where a file belongs", ErrHeader)
	}
	return k.newFile(fileKeyLabel, h, path)
}

// NewRecord prepares the crypto state for the directory record of the
// directory at dirPath (format v2). Its key is derived under a label of
// its own, so a record never opens as a file nor a file as a record.
func (k *FileKeys) NewRecord(h Header, dirPath string) (*File, error) {
	if h.Flags&^FlagPadded != FlagRecord {
		return nil, fmt.Errorf("%w: a file where a directory record belongs", ErrHeader)
	}
	return k.newFile(recordKeyLabel, h, dirPath)
}

func (k *FileKeys) newFile(label string, h Header, path string) (*File, error) {
	f := &File{header: h.Marshal(), blockSize: h.BlockSize(), padded: h.Flags&FlagPadded != 0}
	f.key = k.derive(label, f.header[:], path)
	// The key's check expands the first cipher: kept for the first
	// borrower, so that a small file, read in one request, expands its
	// key once, not twice.
	c, err := siv.New(f.key[:])
	if err != nil {
		return nil, fmt.Errorf("file key: %w", err)
	}
	f.first.Store(c)
	return f, nil
}

// BlockSize is the plaintext block size.
func (f *File) BlockSize() int { return f.blockSize }

// Padded tells whether the file's stream is padded (header flag FlagPadded).
func (f *File) Padded() bool { return f.padded }

// CipherSize is the ciphertext size of this file with a plaintext of
// plainSize bytes, padded or not as its header says.
func (f *File) CipherSize(plainSize int64) int64 {
	return CipherSize(f.streamSize(plainSize), f.blockSize)
}

// streamSize is the length of the stream that is cut into blocks: the
// plaintext's, or for a padded file its padded length.
func (f *File) streamSize(plainSize int64) int64 {
	if f.padded {
		return PaddedSize(plainSize)
	}
	return plainSize
}

// Wipe zeroes the file key. Ciphers already expanded from it live on in the
// pool until the garbage collector takes them; Go gives no way to reach them.
func (f *File) Wipe() { clear(f.key[:]) }

// blockAD is the associated data of block index: uint64be(index) || final.
func blockAD(ad *[9]byte, index int64, final bool) []byte {
	binary.BigEndian.PutUint64(ad[:8], uint64(index))
	ad[8] = 0
	if final {
		ad[8] = 1
	}
	return ad[:]
}

// sealBlock appends the ciphertext of one plaintext block to dst (the
// tests' single-block counterpart of OpenBlock).
func (f *File) sealBlock(dst, plain []byte, index int64, final bool) []byte {
	c := f.cipher()
	defer f.release(c)
	return f.seal(c, dst, plain, index, final)
}

func (f *File) seal(c *siv.Cipher, dst, plain []byte, index int64, final bool) []byte {
	var ad [9]byte
	return c.Seal(dst, plain, blockAD(&ad, index, final))
}

// OpenBlock appends the plaintext of one ciphertext block to dst, or
// returns ErrNotAuthentic.
func (f *File) OpenBlock(dst, ct []byte, index int64, final bool) ([]byte, error) {
	c := f.cipher()
	defer f.release(c)
	return f.open(c, dst, ct, index, final)
}

func (f *File) open(c *siv.Cipher, dst, ct []byte, index int64, final bool) ([]byte, error) {
	var ad [9]byte
	out, err := c.Open(dst, ct, blockAD(&ad, index, final))
	if err != nil {
		return nil, fmt.Errorf("%w (block %d)", ErrNotAuthentic, index)
	}
	return out, nil
}

// cipher borrows a cipher of the file key; give it back with release.
func (f *File) cipher() *siv.Cipher {
	if c := f.first.Swap(nil); c != nil {
		return c
	}
	if c, ok := f.ciphers.Get().(*siv.Cipher); ok {
		return c
	}
	c, _ := siv.New(f.key[:]) // key size checked by newFile
	return c
}

// release gives back a cipher borrowed with cipher. One borrower at a
// time, as a file read in one request has, never reaches the pool: a
// sync.Pool's first Put allocates its per-core lists and registers the
// pool with the runtime, for every small file anew.
func (f *File) release(c *siv.Cipher) {
	if !f.first.CompareAndSwap(nil, c) {
		f.ciphers.Put(c)
	}
}

// Scratch is a pool of the buffers Files borrow while they encrypt or
// decrypt, for Files that share one (UseScratch): a File's own pool dies
// with it, so a file opened, read once and closed, as a sync tool does
// with every small file, allocated its whole plaintext's worth anew (a
// quarter of the bytes the reverse view allocated in a full rsync of
// 20,000 small files). Safe for concurrent use.
type Scratch struct {
	pool sync.Pool // *[]byte
}

// UseScratch makes f borrow its buffers from s. Call it before f is used.
func (f *File) UseScratch(s *Scratch) { f.shared = s }

// bufs is the pool f borrows its buffers from.
func (f *File) bufs() *sync.Pool {
	if f.shared != nil {
		return &f.shared.pool
	}
	return &f.plainBufs
}

func (f *File) scratch(n int) *[]byte {
	if p, ok := f.bufs().Get().(*[]byte); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n)
	return &b
}

// parallel runs fn over the block range [first, last] split into contiguous
// chunks, one goroutine per core, each with its own cipher. It returns the
// first error by block order.
func (f *File) parallel(first, last int64, fn func(c *siv.Cipher, lo, hi int64) error) error {
	n := last - first + 1
	workers := int64(runtime.GOMAXPROCS(0))
	if n < minParallelBlocks || workers < 2 {
		c := f.cipher()
		defer f.release(c)
		return fn(c, first, last)
	}
	if workers > n/(minParallelBlocks/2) {
		workers = n / (minParallelBlocks / 2)
	}
	per := (n + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := int64(0); w < workers; w++ {
		lo := first + w*per
		hi := min(lo+per-1, last)
		if lo > hi {
			break
		}
		wg.Add(1)
		go func(w, lo, hi int64) {
			defer wg.Done()
			c := f.cipher()
			defer f.release(c)
			errs[w] = fn(c, lo, hi)
		}(w, lo, hi)
	}
	wg.Wait()
	return firstNonNil(errs)
}

func firstNonNil(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// EncryptAt fills dst with the ciphertext bytes at offset off of the file
// whose plaintext (plainSize bytes, as stat saw it) is read from src. Only
// the plaintext blocks under the requested range are read, and never a
// byte past plainSize (a padded file's padding is made, not read). It
// returns the number of bytes written and io.EOF when the range ends at or
// past the end of the ciphertext. If src yields fewer bytes than plainSize
// promised, it returns ErrChanged and no ciphertext.
func (f *File) EncryptAt(dst []byte, off int64, plainSize int64, src io.ReaderAt) (int, error) {
	if f.padded {
		p := PaddedSize(plainSize)
		src, plainSize = padSource{src: src, n: plainSize, p: p}, p
	}
	csize := CipherSize(plainSize, f.blockSize)
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	if off >= csize || len(dst) == 0 {
		return 0, io.EOF
	}
	end := min(off+int64(len(dst)), csize)
	dst = dst[:end-off]
	n := 0
	if off < HeaderSize {
		n = copy(dst, f.header[off:])
	}
	if end > HeaderSize {
		if err := f.encryptBlocks(dst, off, end, plainSize, src); err != nil {
			return 0, err
		}
		n = len(dst)
	}
	if end == csize {
		return n, io.EOF
	}
	return n, nil
}

func (f *File) encryptBlocks(dst []byte, off, end, plainSize int64, src io.ReaderAt) error {
	bs := int64(f.blockSize)
	cbs := bs + Overhead
	nblocks := NumBlocks(plainSize, f.blockSize)
	first := (max(off, HeaderSize) - HeaderSize) / cbs
	last := (end - 1 - HeaderSize) / cbs
	pstart := first * bs
	pend := min((last+1)*bs, plainSize)
	pbuf := f.scratch(int(pend - pstart))
	defer f.bufs().Put(pbuf)
	plain := *pbuf
	// Each worker reads its own share of the plaintext, so the copies out
	// of the page cache run on all cores and overlap with sealing.
	return f.parallel(first, last, func(c *siv.Cipher, lo, hi int64) error {
		if err := readShare(src, plain, pstart, (lo-first)*bs, min((hi-first+1)*bs, int64(len(plain))), ErrChanged); err != nil {
			return fmt.Errorf("reading plaintext: %w", err)
		}
		var g group
		for i := lo; i <= hi; i++ {
			p := plain[(i-first)*bs : min((i-first+1)*bs, int64(len(plain)))]
			cs := HeaderSize + i*cbs // block's ciphertext offset in the file
			ce := cs + int64(len(p)) + Overhead
			var out []byte
			if cs >= off && ce <= end {
				out = dst[cs-off : ce-off]
			} else {
				out = g.partial(int(ce-cs), func(sealed []byte) {
					lo, hi := max(cs, off), min(ce, end)
					copy(dst[lo-off:hi-off], sealed[lo-cs:hi-cs])
				})
			}
			g.add(out, p, i, i == nblocks-1)
			if g.full() {
				g.seal(c)
			}
		}
		g.seal(c)
		return nil
	})
}

// readShare fills buf[from:to] from src at base+from; a short read is
// reported as short (ErrChanged for plaintext that shrank, or
// io.ErrUnexpectedEOF for ciphertext).
func readShare(src io.ReaderAt, buf []byte, base, from, to int64, short error) error {
	if from >= to {
		return nil
	}
	got, err := src.ReadAt(buf[from:to], base+from)
	if int64(got) < to-from {
		if err == nil || err == io.EOF {
			err = short
		}
		return err
	}
	return nil
}

// DecryptAt fills dst with the plaintext bytes at offset off of the file
// whose ciphertext (cipherSize bytes, header included) is read from src.
// Every block under the range is authenticated; the first one that fails
// makes the whole call fail with ErrNotAuthentic and no plaintext is
// returned. Reading offset 0 of an empty file authenticates its empty final
// block. io.EOF is returned when the range reaches the end of the file.
// A padded file's size is in its trailer, which DecryptAt reads on every
// call: a reader of many ranges uses Open, which reads it once.
func (f *File) DecryptAt(dst []byte, off int64, cipherSize int64, src io.ReaderAt) (int, error) {
	plainSize, err := f.PlainSize(cipherSize, src)
	if err != nil {
		return 0, err
	}
	return f.decryptAt(dst, off, plainSize, cipherSize, src)
}

// Reader reads the plaintext of one stored file at any offset. It is safe
// for concurrent use.
type Reader struct {
	f     *File
	src   io.ReaderAt
	csize int64
	n     int64
}

// Open checks the size of the stored file (cipherSize bytes read from src)
// and returns a reader of its plaintext. For a padded file it reads and
// authenticates the trailer (PlainSize).
func (f *File) Open(cipherSize int64, src io.ReaderAt) (*Reader, error) {
	n, err := f.PlainSize(cipherSize, src)
	if err != nil {
		return nil, err
	}
	return &Reader{f: f, src: src, csize: cipherSize, n: n}, nil
}

// Size is the plaintext size.
func (r *Reader) Size() int64 { return r.n }

// ReadAt is DecryptAt of the opened file.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	return r.f.decryptAt(p, off, r.n, r.csize, r.src)
}

// CheckPadding authenticates and checks the padding of a padded file
// (File.CheckPadding): a reader of the whole file calls it at the end.
func (r *Reader) CheckPadding() error { return r.f.CheckPadding(r.n, r.csize, r.src) }

// decryptAt is DecryptAt of a file of plainSize bytes; a padded stream's
// blocks after plainSize are not read.
func (f *File) decryptAt(dst []byte, off, plainSize, cipherSize int64, src io.ReaderAt) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	if plainSize == 0 && off == 0 && !f.padded {
		// Authenticate the lone empty final block, which proves the file
		// was not truncated to its header or emptied.
		var ct [Overhead]byte
		if _, err := src.ReadAt(ct[:], HeaderSize); err != nil {
			return 0, fmt.Errorf("reading ciphertext: %w", err)
		}
		if _, err := f.OpenBlock(nil, ct[:], 0, true); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if off >= plainSize || len(dst) == 0 {
		return 0, io.EOF
	}
	end := min(off+int64(len(dst)), plainSize)
	dst = dst[:end-off]
	bs := int64(f.blockSize)
	cbs := bs + Overhead
	nblocks := NumBlocks(f.streamSize(plainSize), f.blockSize)
	first, last := off/bs, (end-1)/bs
	cstart := HeaderSize + first*cbs
	cend := min(HeaderSize+(last+1)*cbs, cipherSize)
	cbuf := f.scratch(int(cend - cstart))
	defer f.bufs().Put(cbuf)
	ct := *cbuf
	err := f.parallel(first, last, func(c *siv.Cipher, lo, hi int64) error {
		if err := readShare(src, ct, cstart, (lo-first)*cbs, min((hi-first+1)*cbs, int64(len(ct))), io.ErrUnexpectedEOF); err != nil {
			return fmt.Errorf("reading ciphertext: %w", err)
		}
		var g group
		for i := lo; i <= hi; i++ {
			b := ct[(i-first)*cbs : min((i-first+1)*cbs, int64(len(ct)))]
			ps := i * bs
			pe := ps + int64(len(b)) - Overhead
			var out []byte
			if ps >= off && pe <= end {
				out = dst[ps-off : pe-off]
			} else {
				out = g.partial(int(pe-ps), func(p []byte) {
					lo, hi := max(ps, off), min(pe, end)
					copy(dst[lo-off:hi-off], p[lo-ps:hi-ps])
				})
			}
			g.add(out, b, i, i == nblocks-1)
			if g.full() {
				if err := g.open(c); err != nil {
					return err
				}
			}
		}
		return g.open(c)
	})
	if err != nil {
		clear(dst)
		return 0, err
	}
	if end == plainSize {
		return len(dst), io.EOF
	}
	return len(dst), nil
}

// groupSize is how many blocks are handed to the cipher at once, so that
// it can interleave their MAC chains.
const groupSize = 16

// group collects blocks for one SealBlocks/OpenBlocks call. Blocks that only
// partly overlap the requested range go through scratch buffers and are
// copied out by their done callback.
type group struct {
	n       int
	outs    [groupSize][]byte
	ins     [groupSize][]byte
	ads     [groupSize][]byte
	adBuf   [groupSize][9]byte
	index   [groupSize]int64
	done    [groupSize]func([]byte)
	scratch [2][]byte // at most two partial blocks per request: first and last
	used    int
}

func (g *group) partial(n int, done func([]byte)) []byte {
	s := &g.scratch[g.used%2]
	g.used++
	if cap(*s) < n {
		*s = make([]byte, n)
	}
	g.done[g.n] = done
	return (*s)[:n]
}

func (g *group) add(out, in []byte, index int64, final bool) {
	g.outs[g.n], g.ins[g.n], g.index[g.n] = out, in, index
	g.ads[g.n] = blockAD(&g.adBuf[g.n], index, final)
	g.n++
}

func (g *group) full() bool { return g.n == groupSize }

func (g *group) finish() {
	for k := 0; k < g.n; k++ {
		if g.done[k] != nil {
			g.done[k](g.outs[k])
			g.done[k] = nil
		}
	}
	g.n = 0
}

func (g *group) seal(c *siv.Cipher) {
	c.SealBlocks(g.outs[:g.n], g.ins[:g.n], g.ads[:g.n])
	g.finish()
}

func (g *group) open(c *siv.Cipher) error {
	if bad := c.OpenBlocks(g.outs[:g.n], g.ins[:g.n], g.ads[:g.n]); bad >= 0 {
		idx := g.index[bad]
		g.n = 0
		return fmt.Errorf("%w (block %d)", ErrNotAuthentic, idx)
	}
	g.finish()
	return nil
}
