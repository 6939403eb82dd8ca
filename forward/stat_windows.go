package forward

import "github.com/efs-project/efs/internal/sys/syscall"

// Atim, Mtim and Ctim are the times of an lstat such as Entry.Stat,
// whose fields each system names its own way.
func Atim(st *syscall.Stat_t) syscall.Timespec { return st.Atim }
func Mtim(st *syscall.Stat_t) syscall.Timespec { return st.Mtim }
func Ctim(st *syscall.Stat_t) syscall.Timespec { return st.Ctim }
