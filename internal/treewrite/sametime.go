package treewrite

import "github.com/efs-project/efs/internal/sys/unix"

// sameTime reports whether a file time read back is t as it was set, to
// the precision this system sets times with (timePrecision).
func sameTime(read, t unix.Timespec) bool { return sameTimeAt(read, t, timePrecision) }

// sameTimeAt compares two times to prec nanoseconds: where times are set
// more coarsely than records keep them, a file restored or exported
// before reads back truncated, and an exact comparison would call it
// changed and rewrite it on every run.
func sameTimeAt(read, t unix.Timespec, prec int64) bool {
	return read.Sec == t.Sec && read.Nsec/prec == t.Nsec/prec
}
