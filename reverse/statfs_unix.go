//go:build unix

package reverse

import "syscall"

// statfs is the plaintext file system's statfs.
func (t *Tree) statfs(st *syscall.Statfs_t) error {
	return t.withRoot(func(fd int) error { return syscall.Fstatfs(fd, st) })
}
