// Package secret holds key material outside the Go heap, so that the
// garbage collector never copies it and a swap file or core dump does not
// keep it. On Linux a Secret is an anonymous private mapping, mlock'ed and
// excluded from core dumps; elsewhere, and whenever the kernel refuses the
// mapping or the lock (a container without the privilege, a low
// RLIMIT_MEMLOCK), it is ordinary memory. Either way Wipe zeroes it.
package secret

// Secret is a fixed-size buffer for key material. Call Wipe when done.
type Secret struct {
	b      []byte
	mapped bool // b is a mapping of its own, released by unmap
}

// New returns n zero bytes of locked memory (best effort, see the package
// doc).
func New(n int) *Secret { return alloc(n) }

// Bytes returns the buffer itself, to fill or to read; it is nil after
// Wipe, and a slice kept from before Wipe must not be used.
func (s *Secret) Bytes() []byte {
	if s == nil {
		return nil
	}
	return s.b
}

// Wipe zeroes and releases the buffer. It is safe to call more than once
// and on nil.
func (s *Secret) Wipe() {
	if s == nil || s.b == nil {
		return
	}
	clear(s.b)
	if s.mapped {
		unmap(s.b)
	}
	s.b = nil
}
