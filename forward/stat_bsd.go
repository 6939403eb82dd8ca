//go:build darwin || freebsd

package forward

import "syscall"

// Atim, Mtim and Ctim are the times of an lstat such as Entry.Stat,
// whose fields each system names its own way.
func Atim(st *syscall.Stat_t) syscall.Timespec { return st.Atimespec }
func Mtim(st *syscall.Stat_t) syscall.Timespec { return st.Mtimespec }
func Ctim(st *syscall.Stat_t) syscall.Timespec { return st.Ctimespec }
