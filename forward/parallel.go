package forward

// The scheduling of Check and Restore. From storage a round trip away (an
// rclone mount of a remote) every directory listing and every file open
// waits for the network, so a walk that lists directories one after
// another is bound by latency, however many files it has in flight. Here
// directories, files and symlinks alike are tasks that a fixed number of
// workers take from one queue: a worker that lists a directory queues its
// entries and takes the next task.
//
// What must stay in order does so without the workers' help: a directory
// gets its metadata from the last of its entries to finish
// (treewrite.Pending, as in export), the report is sorted when the walk
// ends, hard links are relinked after every file, and the bytes of file
// data in flight are bounded by the Copier's window, not by the number of
// workers.

import "sync"

// sched runs the tasks of a walk on a fixed number of workers. Tasks queue
// without bound, but each is an entry of a listing already in memory; they
// run last in, first out, so the walk goes depth first: few directories
// are open at once, and each gets its metadata soon after its entries are
// in place.
type sched struct {
	workers int

	mu    sync.Mutex
	cond  sync.Cond // queue grew, or busy reached zero
	queue []func()
	busy  int // tasks queued or running
}

func newSched(workers int) *sched {
	s := &sched{workers: max(workers, 1)}
	s.cond.L = &s.mu
	return s
}

// push queues f. Called from a running task (or from run), so the walk
// cannot end before f has run.
func (s *sched) push(f func()) {
	s.mu.Lock()
	s.queue = append(s.queue, f)
	s.busy++
	s.mu.Unlock()
	s.cond.Signal()
}

// run runs f, and every task f and its tasks push, on the workers, and
// returns once all have finished. One run at a time.
func (s *sched) run(f func()) {
	s.push(f)
	var wg sync.WaitGroup
	for range s.workers {
		wg.Go(s.work)
	}
	wg.Wait()
}

// work runs queued tasks until none is queued or running.
func (s *sched) work() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for len(s.queue) == 0 && s.busy > 0 {
			s.cond.Wait()
		}
		if s.busy == 0 {
			return
		}
		last := len(s.queue) - 1
		f := s.queue[last]
		s.queue[last] = nil
		s.queue = s.queue[:last]
		s.mu.Unlock()
		f()
		s.mu.Lock()
		if s.busy--; s.busy == 0 {
			s.cond.Broadcast() // the idle workers return
		}
	}
}
