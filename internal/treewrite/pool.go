package treewrite

import (
	"context"
	"sync"
	"sync/atomic"
)

// Pool bounds how many files export writes at once: it hands each file to
// the pool and goes on walking. (Restore and fsck schedule their own work:
// forward/parallel.go.)
type Pool struct {
	sem chan struct{}
}

// NewPool returns a pool of n workers (at least one).
func NewPool(n int) *Pool { return &Pool{sem: make(chan struct{}, max(n, 1))} }

// Go runs f once a worker is free, counted in g, and reports whether it
// did. Once ctx is cancelled it returns false without running f.
func (p *Pool) Go(ctx context.Context, f func(), g *sync.WaitGroup) bool {
	if ctx.Err() != nil {
		return false // select would pick a free worker as often as ctx.Done
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	g.Add(1)
	go func() {
		defer func() {
			<-p.sem
			g.Done()
		}()
		f()
	}()
	return true
}

// Pending is a directory whose entries are still being written, plus one
// for its own listing. The last of them to finish runs done (the
// directory's metadata, then closing it) and then counts the directory
// finished in its parent: a directory's metadata is set only once
// everything below it is in place, while the walk goes on to the next
// directory instead of waiting.
type Pending struct {
	n      atomic.Int64
	parent *Pending
	done   func()
}

// NewPending returns a directory waiting for n entries, inside parent
// (nil at the top of a walk).
func NewPending(parent *Pending, n int64, done func()) *Pending {
	p := &Pending{parent: parent, done: done}
	p.n.Store(n)
	return p
}

// Add counts n more entries to wait for. Only while p is not finished
// (the caller holds one of its counts, such as the listing's).
func (p *Pending) Add(n int64) { p.n.Add(n) }

// Finish counts one entry (or the listing) of p finished. A nil p counts
// nothing.
func (p *Pending) Finish() {
	for ; p != nil; p = p.parent {
		if p.n.Add(-1) != 0 {
			return
		}
		if p.done != nil {
			p.done()
		}
	}
}
