//go:build unix

package treewrite

import "github.com/efs-project/efs/internal/sys/unix"

// sameTime reports whether a file time read back is t as it was set.
func sameTime(read, t unix.Timespec) bool { return read == t }
