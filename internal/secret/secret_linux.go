//go:build linux

package secret

import "golang.org/x/sys/unix"

func alloc(n int) *Secret {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return &Secret{b: make([]byte, n)}
	}
	_ = unix.Mlock(b)                       // best effort; the mapping is still private
	_ = unix.Madvise(b, unix.MADV_DONTDUMP) // keep keys out of core dumps
	return &Secret{b: b, mapped: true}
}

func unmap(b []byte) {
	_ = unix.Munlock(b)
	_ = unix.Munmap(b)
}
