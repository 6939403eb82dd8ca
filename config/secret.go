package config

import (
	"golang.org/x/sys/unix"
)

// secret is key material kept outside the Go heap: an anonymous mapping
// that is mlock'ed (so it is never swapped out) and zeroed by wipe. When
// mmap or mlock is refused (a container without the privilege, a low
// RLIMIT_MEMLOCK) it falls back to ordinary memory, still zeroed on wipe.
type secret struct {
	b      []byte
	mapped bool
}

func newSecret(n int) *secret {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return &secret{b: make([]byte, n)}
	}
	_ = unix.Mlock(b)                       // best effort; the mapping is still private
	_ = unix.Madvise(b, unix.MADV_DONTDUMP) // keep keys out of core dumps
	return &secret{b: b, mapped: true}
}

func (s *secret) wipe() {
	if s == nil || s.b == nil {
		return
	}
	clear(s.b)
	if s.mapped {
		_ = unix.Munlock(s.b)
		_ = unix.Munmap(s.b)
	}
	s.b = nil
}
