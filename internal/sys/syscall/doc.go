// Package syscall is the part of the standard syscall package that efs's
// backup reader (forward) uses, also on Windows: on unix systems the
// standard package's own names, on Windows the emulation of
// internal/sys/unix (a stat of a path or handle, an open that does not
// follow a symlink).
package syscall
