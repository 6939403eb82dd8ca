package treewrite

import "context"

// DefaultWindow is the file data a walk keeps in memory at once by
// default: a few large files' chunks, or hundreds of small files, whatever
// the number of workers.
const DefaultWindow = 64 << 20

// windowUnit is what one token of a Window stands for.
const windowUnit = minBuf

// Window bounds the bytes of file data in flight across the copies that
// share it, so that more workers (for a source with latency) do not mean
// a buffer per worker: a copy waits for its whole share before it starts,
// in the order they asked. Safe for concurrent use.
type Window struct {
	turn   chan struct{} // held by the one copy taking tokens
	tokens chan struct{} // one per windowUnit in use
}

// NewWindow returns a window of size bytes (at least one unit).
func NewWindow(size int64) *Window {
	return &Window{turn: make(chan struct{}, 1), tokens: make(chan struct{}, max(size/windowUnit, 1))}
}

// acquire waits until n bytes (rounded up to whole units, at most the
// whole window) are free and takes them, or returns ctx's error. Taking
// the tokens one at a time is safe from deadlock because only the holder
// of turn takes any: two copies never each hold half of what they need.
func (w *Window) acquire(ctx context.Context, n int64) (units int, err error) {
	units = min(int((n+windowUnit-1)/windowUnit), cap(w.tokens))
	select {
	case w.turn <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-w.turn }()
	for i := range units {
		select {
		case w.tokens <- struct{}{}:
		case <-ctx.Done():
			w.release(i)
			return 0, ctx.Err()
		}
	}
	return units, nil
}

// release gives back units taken by acquire.
func (w *Window) release(units int) {
	for range units {
		<-w.tokens
	}
}
