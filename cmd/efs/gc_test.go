//go:build linux

package main

import (
	"runtime/debug"
	"testing"
)

// TestSetReverseGC: the reverse daemon collects at 50% growth unless the
// user's GOGC says otherwise.
func TestSetReverseGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	setReverseGC()
	if got := debug.SetGCPercent(100); got != reverseGCPercent {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, reverseGCPercent)
	}
	t.Setenv("GOGC", "200")
	setReverseGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=200: GC percent changed to %d", got)
	}
}
