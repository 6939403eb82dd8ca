package treewrite

import (
	"context"
	"sync"
)

// Pool bounds how many files a walk writes or reads at once: export and
// restore hand each file to it and go on walking.
type Pool struct {
	sem chan struct{}
}

// NewPool returns a pool of n workers (at least one).
func NewPool(n int) *Pool { return &Pool{sem: make(chan struct{}, max(n, 1))} }

// Go runs f once a worker is free, counted in every group given (a
// directory's files, the whole walk). Once ctx is cancelled it returns
// without running f.
func (p *Pool) Go(ctx context.Context, f func(), groups ...*sync.WaitGroup) {
	if ctx.Err() != nil {
		return // select would pick a free worker as often as ctx.Done
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	for _, g := range groups {
		g.Add(1)
	}
	go func() {
		defer func() {
			<-p.sem
			for _, g := range groups {
				g.Done()
			}
		}()
		f()
	}()
}
