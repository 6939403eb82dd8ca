//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/efs-project/efs/content"
	"golang.org/x/sys/unix"
)

const (
	readBuf      = 1 << 20 // dd-like reads, as large as a FUSE read gets
	randReads    = 20000
	randReadSize = 4096
	sealBufSize  = 256 << 20
	sealBlock    = 4096 // efs init's default block size
)

// mountRev mounts t's reverse view of root on a fresh mount point and
// remembers it for cleanup.
func (b *bench) mountRev(t *tool, root string) (*mount, error) {
	mnt := filepath.Join(b.tmp, "mnt-"+t.name)
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return nil, err
	}
	m, err := t.reverse(root, mnt)
	if err != nil {
		return nil, err
	}
	b.live[m] = struct{}{}
	return m, nil
}

func (b *bench) mountFwd(t *tool, root, copyDir string) (*mount, error) {
	mnt := filepath.Join(b.tmp, "fwd-"+t.name)
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return nil, err
	}
	m, err := t.forward(root, copyDir, mnt)
	if err != nil {
		return nil, err
	}
	b.live[m] = struct{}{}
	return m, nil
}

func (b *bench) unmount(m *mount) error {
	delete(b.live, m)
	return m.unmount()
}

// withMount runs fn on a fresh reverse mount and always unmounts it.
func (b *bench) withMount(t *tool, root string, fn func(m *mount) error) error {
	m, err := b.mountRev(t, root)
	if err != nil {
		return err
	}
	err = fn(m)
	return errors.Join(err, b.unmount(m))
}

// largestFile finds the view of the big file: the largest regular file in
// the view's root (the others are configs and IV files).
func largestFile(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	best, bestSize := "", int64(-1)
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return "", err
		}
		if info.Size() > bestSize {
			best, bestSize = filepath.Join(dir, e.Name()), info.Size()
		}
	}
	if best == "" {
		return "", fmt.Errorf("no file in view %s", dir)
	}
	return best, nil
}

// readSeq reads a file front to back with 1 MiB reads and returns the bytes
// read and the time taken.
func readSeq(ctx context.Context, path string) (int64, time.Duration, error) {
	buf := make([]byte, readBuf)
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var total int64
	for {
		if total%(64<<20) == 0 && ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		n, err := f.Read(buf)
		total += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	return total, time.Since(start), nil
}

// seqRead measures a front-to-back read of the big file's view in MB/s of
// view bytes. The view is always cold (fresh mount); cold also evicts the
// plaintext from the page cache first.
func (b *bench) seqRead(ctx context.Context, t *tool, cold bool) (rate, cpuPerGB float64, err error) {
	plain := filepath.Join(b.bigRoot, bigName)
	if cold {
		err = dropCache(plain)
	} else {
		err = warmCache(plain)
	}
	if err != nil {
		return 0, 0, err
	}
	err = b.withMount(t, b.bigRoot, func(m *mount) error {
		view, err := largestFile(m.dir)
		if err != nil {
			return err
		}
		cpu0, err := m.cpuTime()
		if err != nil {
			return err
		}
		n, d, err := readSeq(ctx, view)
		if err != nil {
			return err
		}
		if n < b.o.size {
			return fmt.Errorf("view of the big file has %d bytes, plaintext %d", n, b.o.size)
		}
		cpu1, err := m.cpuTime()
		if err != nil {
			return err
		}
		rate = float64(n) / d.Seconds() / 1e6
		cpuPerGB = (cpu1 - cpu0).Seconds() / (float64(n) / 1e9)
		return nil
	})
	if err == nil && !cold {
		b.checkWarm(t, "warm seq read")
	}
	return rate, cpuPerGB, err
}

// randRead measures 4 KiB preads at page-aligned random offsets (fixed
// seed) of the big file's view, opened once on a fresh mount, plaintext warm.
func (b *bench) randRead(ctx context.Context, t *tool) (float64, error) {
	if err := warmCache(filepath.Join(b.bigRoot, bigName)); err != nil {
		return 0, err
	}
	var rate float64
	err := b.withMount(t, b.bigRoot, func(m *mount) error {
		view, err := largestFile(m.dir)
		if err != nil {
			return err
		}
		f, err := os.Open(view)
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		pages := info.Size() / randReadSize
		rng := mrand.New(mrand.NewPCG(42, 42))
		buf := make([]byte, randReadSize)
		start := time.Now()
		for i := 0; i < randReads; i++ {
			if i%1000 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			off := rng.Int64N(pages) * randReadSize
			if n, err := f.ReadAt(buf, off); n != randReadSize {
				return fmt.Errorf("pread %d at %d: %d bytes, %w", randReadSize, off, n, err)
			}
		}
		rate = randReads / time.Since(start).Seconds()
		return nil
	})
	if err == nil {
		b.checkWarm(t, "random reads")
	}
	return rate, err
}

// checkWarm notes a warm-plaintext run whose plaintext did not stay in the
// page cache, so the report says which numbers include disk reads.
func (b *bench) checkWarm(t *tool, what string) {
	r, err := residency(filepath.Join(b.bigRoot, bigName))
	if err != nil {
		b.log.Warn("cannot check page-cache residency", "err", err)
		return
	}
	if r < 0.95 {
		note := fmt.Sprintf("%s, %s: only %.0f%% of the plaintext was still in the page cache afterwards (evicted from outside the bench)", what, t.name, 100*r)
		b.log.Warn(note)
		b.notes = append(b.notes, note)
	}
}

// lineCounter counts newlines written to it.
type lineCounter int

func (c *lineCounter) Write(p []byte) (int, error) {
	*c += lineCounter(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// find times `find VIEW -ls` over the tree on a fresh mount.
func (b *bench) find(ctx context.Context, t *tool) (float64, error) {
	var secs float64
	err := b.withMount(t, b.treeRoot, func(m *mount) error {
		var lines lineCounter
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "find", m.dir, "-ls")
		cmd.Stdout, cmd.Stderr = &lines, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("find: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		secs = time.Since(start).Seconds()
		if int(lines) < b.o.files+treeDirs {
			return fmt.Errorf("find listed %d entries, the tree has %d", lines, b.o.files+treeDirs)
		}
		return nil
	})
	return secs, err
}

// rsyncStats is what the bench takes from `rsync --stats`.
type rsyncStats struct {
	filesTransferred int64
	bytesSent        int64
}

// parseRsyncStats reads rsync's --stats summary. Numbers may carry
// thousands separators ("1,234").
func parseRsyncStats(out string) (rsyncStats, error) {
	var st rsyncStats
	found := 0
	s := bufio.NewScanner(strings.NewReader(out))
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		field, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		n, err := strconv.ParseInt(strings.ReplaceAll(field, ",", ""), 10, 64)
		switch strings.TrimSpace(k) {
		case "Number of regular files transferred":
			if err != nil {
				return st, fmt.Errorf("rsync stats: %q: %w", s.Text(), err)
			}
			st.filesTransferred = n
			found++
		case "Total bytes sent":
			if err != nil {
				return st, fmt.Errorf("rsync stats: %q: %w", s.Text(), err)
			}
			st.bytesSent = n
			found++
		}
	}
	if found != 2 {
		return st, errors.New("rsync --stats output lacks the transferred-files or bytes-sent line")
	}
	return st, nil
}

// rsync copies the tree's view into dest on a fresh mount, with --stats.
// It returns the time taken, the stats, the daemon's CPU time during the
// copy and its peak RSS after it (the copy lists, stats and reads every
// entry, as a backup does).
func (b *bench) rsync(ctx context.Context, t *tool, dest string) (secs float64, st rsyncStats, cpu time.Duration, rss int64, err error) {
	err = b.withMount(t, b.treeRoot, func(m *mount) error {
		cpu0, err := m.cpuTime()
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, "rsync", "-a", "--stats", m.dir+"/", dest+"/")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("rsync: %w: %s", err, tailString(string(out)))
		}
		secs = time.Since(start).Seconds()
		if st, err = parseRsyncStats(string(out)); err != nil {
			return err
		}
		cpu1, err := m.cpuTime()
		if err != nil {
			return err
		}
		cpu = cpu1 - cpu0
		rss, err = m.peakRSS()
		return err
	})
	return secs, st, cpu, rss, err
}

func tailString(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 400 {
		return "…" + s[len(s)-400:]
	}
	return s
}

// upload copies t's view of the big-file root to a directory, as a sync
// tool would, for the forward-mount test.
func (b *bench) upload(ctx context.Context, t *tool) (string, error) {
	dest := filepath.Join(b.tmp, "upload-"+t.name)
	if err := os.RemoveAll(dest); err != nil {
		return "", err
	}
	err := b.withMount(t, b.bigRoot, func(m *mount) error {
		return run(ctx, []string{"rsync", "-a", m.dir + "/", dest + "/"}, nil, "")
	})
	return dest, err
}

// forwardRead measures reading the big file back through t's forward
// mount of its upload (ciphertext in the page cache, fresh mount), and spot
// checks the plaintext it returned against the original.
func (b *bench) forwardRead(ctx context.Context, t *tool, upload string) (float64, error) {
	cipherFile, err := largestFile(upload)
	if err != nil {
		return 0, err
	}
	if err := warmCache(cipherFile); err != nil {
		return 0, err
	}
	m, err := b.mountFwd(t, b.bigRoot, upload)
	if err != nil {
		return 0, err
	}
	var rate float64
	err = func() error {
		got := filepath.Join(m.dir, bigName)
		n, d, err := readSeq(ctx, got)
		if err != nil {
			return err
		}
		if n != b.o.size {
			return fmt.Errorf("forward view of the big file has %d bytes, want %d", n, b.o.size)
		}
		rate = float64(n) / d.Seconds() / 1e6
		return spotCheck(got, filepath.Join(b.bigRoot, bigName), n)
	}()
	return rate, errors.Join(err, b.unmount(m))
}

// spotCheck compares eight 1 MiB ranges (first, last and random) of two
// files, so a forward mount that returned wrong bytes cannot post a number.
func spotCheck(a, b string, size int64) error {
	fa, err := os.Open(a)
	if err != nil {
		return err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return err
	}
	defer fb.Close()
	ba, bb := make([]byte, readBuf), make([]byte, readBuf)
	rng := mrand.New(mrand.NewPCG(3, 4))
	offs := []int64{0, max(size-readBuf, 0)}
	for len(offs) < 8 {
		offs = append(offs, rng.Int64N(max(size-readBuf, 1)))
	}
	for _, off := range offs {
		na, _ := fa.ReadAt(ba, off)
		nb, _ := fb.ReadAt(bb, off)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return fmt.Errorf("forward mount returned wrong plaintext at offset %d", off)
		}
	}
	return nil
}

// repeatReader serves a large plaintext from a smaller buffer.
type repeatReader []byte

func (r repeatReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		pos := (off + int64(n)) % int64(len(r))
		n += copy(p[n:], r[pos:])
	}
	return n, nil
}

// sealRate is efs's in-process limit: content.File.EncryptAt over a file of
// the big file's size, served from a 256 MiB random buffer, in 1 MiB
// requests, as the FUSE reads arrive. The kernel keeps several readahead
// requests in flight, so one caller per core takes the next request (each
// EncryptAt also spreads its blocks over the cores). MB/s of ciphertext,
// like the view columns.
// It also returns the CPU time spent per GB (this process's rusage), to set
// against the daemons' CPU per GB.
func sealRate(ctx context.Context, size int64, buf []byte, padded bool) (rate, cpuPerGB float64, err error) {
	key := make([]byte, 32)
	var id [content.FileIDSize]byte
	if _, err := rand.Read(key); err != nil {
		return 0, 0, err
	}
	if _, err := rand.Read(id[:]); err != nil {
		return 0, 0, err
	}
	h, err := content.NewHeader(id, sealBlock)
	if err != nil {
		return 0, 0, err
	}
	if padded {
		h.Flags = content.FlagPadded
	}
	f, err := content.NewFile(key, h, "bench/"+bigName)
	if err != nil {
		return 0, 0, err
	}
	defer f.Wipe()
	csize := f.CipherSize(size)
	cpu0, err := selfCPU()
	if err != nil {
		return 0, 0, err
	}
	var (
		next  atomic.Int64 // next request offset
		total atomic.Int64
		wg    sync.WaitGroup
		errs  = make([]error, runtime.NumCPU())
	)
	start := time.Now()
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := make([]byte, readBuf)
			for ctx.Err() == nil {
				off := next.Add(readBuf) - readBuf
				if off >= csize {
					return
				}
				n, err := f.EncryptAt(dst, off, size, repeatReader(buf))
				if err != nil && err != io.EOF {
					errs[w] = fmt.Errorf("sealing: %w", err)
					return
				}
				total.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return 0, 0, err
	}
	if total.Load() != csize {
		return 0, 0, fmt.Errorf("sealed %d bytes, want %d", total.Load(), csize)
	}
	cpu1, err := selfCPU()
	if err != nil {
		return 0, 0, err
	}
	return float64(csize) / secs / 1e6, (cpu1 - cpu0).Seconds() / (float64(csize) / 1e9), nil
}

// selfCPU is this process's user+system CPU time so far.
func selfCPU() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// sealBuffer returns min(size, 256 MiB) random bytes for sealRate.
func sealBuffer(size int64) ([]byte, error) {
	s, err := randStream()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, min(size, sealBufSize))
	s.XORKeyStream(buf, buf)
	return buf, nil
}
