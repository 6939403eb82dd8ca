//go:build linux

package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestKeepReverseGC: the reverse daemon keeps its heap goal unless the
// user's GOGC says otherwise.
func TestKeepReverseGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	stop := keepReverseGC()
	runtime.GC()
	// This test's heap is far below the headroom: the cap decides.
	if got := debug.SetGCPercent(100); got != reverseGC().MaxPercent {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, reverseGC().MaxPercent)
	}
	stop()
	t.Setenv("GOGC", "200")
	debug.SetGCPercent(100)
	stop = keepReverseGC()
	runtime.GC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=200: GC percent changed to %d", got)
	}
	stop()
}
