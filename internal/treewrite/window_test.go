//go:build unix

package treewrite

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"
)

// countingReader is a reader that notes how many copies read at once.
type countingReader struct {
	size    int64
	mu      *sync.Mutex
	reading *int
	peak    *int
}

func (r *countingReader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	*r.reading++
	*r.peak = max(*r.peak, *r.reading)
	r.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	r.mu.Lock()
	*r.reading--
	r.mu.Unlock()
	n := int(min(int64(len(p)), r.size-off))
	clear(p[:n])
	if off+int64(n) >= r.size {
		return n, io.EOF
	}
	return n, nil
}

// TestWindowBoundsCopies: copies sharing a window hold no more than it at
// once, whatever the number of goroutines: one large file at a time in a
// window of one Footprint, many small files in the same window.
func TestWindowBoundsCopies(t *testing.T) {
	for _, tc := range []struct {
		size     int64
		min, max int
	}{
		{2*ChunkSize + 1, 1, 1},
		{1000, 2, 16}, // 128 KiB each: many fit
	} {
		cp := Copier{Window: NewWindow(Footprint(2*ChunkSize + 1))}
		var mu sync.Mutex
		var reading, peak int
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				r := &countingReader{size: tc.size, mu: &mu, reading: &reading, peak: &peak}
				if err := cp.Copy(context.Background(), io.Discard, r, tc.size, nil); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if peak < tc.min || peak > tc.max {
			t.Errorf("files of %d bytes: %d copies read at once, want %d to %d", tc.size, peak, tc.min, tc.max)
		}
		if n := len(cp.Window.tokens); n != 0 {
			t.Errorf("files of %d bytes: %d units still taken after every copy", tc.size, n)
		}
	}
}

// TestWindowCancelled: a copy waiting for the window returns ctx's error
// once cancelled and takes nothing.
func TestWindowCancelled(t *testing.T) {
	w := NewWindow(Footprint(ChunkSize + 1))
	held, err := w.acquire(context.Background(), Footprint(ChunkSize+1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	cp := Copier{Window: w}
	err = cp.Copy(ctx, io.Discard, &slowReader{size: 10}, 10, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("copy waiting for a full window: %v", err)
	}
	w.release(held)
	if n := len(w.tokens); n != 0 {
		t.Errorf("%d units taken after the cancelled copy", n)
	}
	if err := cp.Copy(context.Background(), io.Discard, &slowReader{size: 10}, 10, nil); err != nil {
		t.Errorf("copy after the window freed: %v", err)
	}
}

// TestBufferClasses: a small file gets a small buffer, a large one whole
// chunks.
func TestBufferClasses(t *testing.T) {
	var cp Copier
	for _, tc := range []struct{ n, want int64 }{{0, minBuf}, {1, minBuf}, {minBuf, minBuf}, {minBuf + 1, 2 * minBuf}, {ChunkSize - 1, ChunkSize}, {ChunkSize, ChunkSize}} {
		if got := int64(cap(cp.get(tc.n))); got != tc.want {
			t.Errorf("buffer for %d bytes: %d, want %d", tc.n, got, tc.want)
		}
	}
}
