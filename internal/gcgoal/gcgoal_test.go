package gcgoal

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestPercent(t *testing.T) {
	g := Goal{Percent: 50, Headroom: 24 << 20, MaxPercent: 400}
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 400},              // before the first collection
		{1 << 20, 400},        // 2400% wanted, capped
		{8 << 20, 300},        // 24 MiB over 8 MiB
		{25 << 20, 100},       // 96% rounded up
		{48 << 20, 50},        // the percentage and the headroom agree
		{100 << 20, 50},       // a large heap: the percentage
		{1 << 40, 50},         //
		{(24 << 20) / 7, 400}, // rounding does not pass the cap
	} {
		if got := g.percent(c.live); got != c.want {
			t.Errorf("live %d MiB: GOGC %d, want %d", c.live>>20, got, c.want)
		}
	}
}

// gcPercent reads GOGC without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestKeep: after a collection the GOGC follows the live heap, and stop
// puts the old one back.
func TestKeep(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	g := Goal{Percent: 50, Headroom: 64 << 20, MaxPercent: 1000}
	stop := Keep(g)
	runtime.GC()
	// A small live heap: the headroom decides, far above 50%.
	if got := waitFor(func() bool { return gcPercent() > 200 }); !got {
		t.Fatalf("small heap: GOGC %d, want the headroom's (> 200)", gcPercent())
	}
	// Half a GiB live: the percentage decides.
	big := make([][]byte, 512)
	for i := range big {
		big[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	if got := waitFor(func() bool { return gcPercent() == 50 }); !got {
		t.Fatalf("large heap: GOGC %d, want 50", gcPercent())
	}
	runtime.KeepAlive(big)
	stop()
	if got := gcPercent(); got != 100 {
		t.Errorf("after stop: GOGC %d, want the 100 there was", got)
	}
	big = nil
	runtime.GC()
	runtime.GC()
	if got := gcPercent(); got != 100 {
		t.Errorf("a collection after stop set GOGC %d", got)
	}
}

// waitFor polls cond for a while: cleanups run on their own goroutine
// after the collection returns.
func waitFor(cond func() bool) bool {
	for range 200 {
		if cond() {
			return true
		}
		runtime.Gosched()
		runtime.GC()
	}
	return cond()
}
