// Package gcgoal keeps the garbage collector's heap goal at the larger of
// a growth percentage over the live heap (GOGC) and a fixed headroom over
// it.
//
// A fixed GOGC makes a small heap collect often: at 50% a daemon with
// 25 MiB live collects every 12 MiB allocated, and a FUSE daemon
// allocates a few KiB per request, mostly in go-fuse. A large heap is
// where the percentage matters for memory; there it stays in charge.
package gcgoal

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// liveMetric is the heap the last collection marked live.
const liveMetric = "/gc/heap/live:bytes"

// Goal is the heap goal to keep: live×(1+Percent/100), or live+Headroom
// when that is more, with GOGC never set above MaxPercent (an almost
// empty heap would otherwise ask for an unbounded percentage).
type Goal struct {
	Percent    int
	Headroom   uint64
	MaxPercent int
}

// percent is the GOGC that gives the goal for a live heap of live bytes:
// the larger of Percent and Headroom in percent of live, rounded up to a
// multiple of 10 so that small changes of the live heap do not reset it
// at every collection, and at most MaxPercent.
func (g Goal) percent(live uint64) int {
	p := uint64(g.MaxPercent)
	if live > 0 {
		p = min(p, ((g.Headroom*100+live-1)/live+9)/10*10)
	}
	return max(int(p), g.Percent)
}

// keeper re-applies the goal after each collection: a cleanup on an
// object nothing references runs once the collection that found it
// unreachable is over, and arms the next one.
type keeper struct {
	g       Goal
	mu      sync.Mutex
	stopped bool
	set     int // the GOGC last set
	sample  []metrics.Sample
}

// sentinel is what a collection finds unreachable. Its pointer field
// keeps it out of the tiny allocator, whose blocks are freed together
// and may never run a cleanup.
type sentinel struct{ _ *keeper }

// Keep applies g now and after every collection, until stop is called;
// stop restores the GOGC there was before.
func Keep(g Goal) (stop func()) {
	k := &keeper{g: g, sample: []metrics.Sample{{Name: liveMetric}}}
	k.set = g.percent(k.live())
	prev := debug.SetGCPercent(k.set)
	k.arm()
	return func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.stopped = true
		debug.SetGCPercent(prev)
	}
}

func (k *keeper) arm() {
	runtime.AddCleanup(&sentinel{}, (*keeper).collected, k)
}

// collected runs after a collection.
func (k *keeper) collected() {
	if k.tune() {
		k.arm()
	}
}

// tune sets the GOGC for the live heap the last collection left, and
// reports whether the keeper still runs.
func (k *keeper) tune() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return false
	}
	if p := k.g.percent(k.live()); p != k.set {
		debug.SetGCPercent(p)
		k.set = p
	}
	return true
}

// live is the heap the last collection marked live (0 before the first).
func (k *keeper) live() uint64 {
	metrics.Read(k.sample)
	if k.sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return k.sample[0].Value.Uint64()
}
