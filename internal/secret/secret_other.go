//go:build !linux && !windows

package secret

// Without the Linux calls a Secret is ordinary memory, still zeroed by
// Wipe.

func alloc(n int) *Secret { return &Secret{b: make([]byte, n)} }

func unmap([]byte) {}
