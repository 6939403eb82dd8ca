//go:build unix

package treewrite

import (
	"testing"

	"github.com/efs-project/efs/internal/sys/unix"
)

// TestSameTimeAt: at microsecond precision (macOS) a time read back
// without its nanoseconds is the same; at nanosecond precision it is not,
// and another second or microsecond never is.
func TestSameTimeAt(t *testing.T) {
	set := unix.Timespec{Sec: 1700000000, Nsec: 123456789}
	read := unix.Timespec{Sec: 1700000000, Nsec: 123456000}
	if !sameTimeAt(read, set, 1000) {
		t.Error("µs precision: a time truncated to µs differs")
	}
	if sameTimeAt(read, set, 1) {
		t.Error("ns precision: a truncated time is the same")
	}
	for _, other := range []unix.Timespec{{Sec: 1700000001, Nsec: 123456789}, {Sec: 1700000000, Nsec: 123457000}} {
		if sameTimeAt(other, set, 1000) {
			t.Errorf("µs precision: %v is the same as %v", other, set)
		}
	}
	if !sameTime(set, set) {
		t.Error("sameTime of a time with itself is false")
	}
}
