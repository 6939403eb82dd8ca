package treewrite

import (
	"context"
	"sync"
)

// Pool bounds how many files export writes at once: it hands each file to
// the pool and goes on walking. (Restore and fsck schedule their own work:
// forward/parallel.go.)
type Pool struct {
	sem chan struct{}
}

// NewPool returns a pool of n workers (at least one).
func NewPool(n int) *Pool { return &Pool{sem: make(chan struct{}, max(n, 1))} }

// Go runs f once a worker is free, counted in g (a directory's files).
// Once ctx is cancelled it returns without running f.
func (p *Pool) Go(ctx context.Context, f func(), g *sync.WaitGroup) {
	if ctx.Err() != nil {
		return // select would pick a free worker as often as ctx.Done
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	g.Add(1)
	go func() {
		defer func() {
			<-p.sem
			g.Done()
		}()
		f()
	}()
}
