package secret

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// alloc takes pages of their own from VirtualAlloc, locked into memory
// with VirtualLock (best effort: the process's small working-set minimum
// may refuse), so keys are kept out of the page file.
func alloc(n int) *Secret {
	if n == 0 {
		return &Secret{b: make([]byte, 0)}
	}
	p, err := windows.VirtualAlloc(0, uintptr(n), windows.MEM_COMMIT|windows.MEM_RESERVE, windows.PAGE_READWRITE)
	if err != nil {
		return &Secret{b: make([]byte, n)}
	}
	_ = windows.VirtualLock(p, uintptr(n))
	// p is memory Go does not manage, so the conversion is safe; going
	// through a pointer keeps vet from taking it for a Go pointer's address.
	b := unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&p))), n)
	return &Secret{b: b, mapped: true}
}

func unmap(b []byte) {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	_ = windows.VirtualUnlock(p, uintptr(len(b)))
	_ = windows.VirtualFree(p, 0, windows.MEM_RELEASE)
}
