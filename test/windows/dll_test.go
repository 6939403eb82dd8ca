//go:build linux

package windows_test

import (
	"bytes"
	"encoding/binary"
)

// prngDLL is a bcryptprimitives.dll for Wine releases before 9, which
// lack it: Go 1.24 and later need its ProcessPrng at startup. The DLL holds
// no code, only an export table forwarding ProcessPrng to
// advapi32.SystemFunction036 (RtlGenRandom), which fills a buffer with
// random bytes the same way (its length argument is 32 bits wide, plenty
// for the runtime's requests).
func prngDLL() []byte {
	const (
		fileAlign = 0x200
		sectAlign = 0x1000
		edataRVA  = sectAlign // the one section, .edata
	)
	// The export section: directory, the three tables of one entry, the
	// DLL's name, the exported name and the forwarder string.
	var ed bytes.Buffer
	le := func(v any) { binary.Write(&ed, binary.LittleEndian, v) }
	const dirSize = 40
	funcs := uint32(dirSize)
	names := funcs + 4
	ords := names + 4
	dllName := ords + 2
	strs := []string{"bcryptprimitives.dll", "ProcessPrng", "advapi32.SystemFunction036"}
	off := []uint32{dllName}
	for _, s := range strs[:2] {
		off = append(off, off[len(off)-1]+uint32(len(s))+1)
	}
	le(uint32(0))         // characteristics
	le(uint32(0))         // time stamp
	le(uint32(0))         // version
	le(edataRVA + off[0]) // DLL name
	le(uint32(1))         // ordinal base
	le(uint32(1))         // functions
	le(uint32(1))         // names
	le(edataRVA + funcs)  // address table
	le(edataRVA + names)  // name pointer table
	le(edataRVA + ords)   // ordinal table
	le(edataRVA + off[2]) // ProcessPrng: a forwarder, as it points into the section
	le(edataRVA + off[1]) // its name
	le(uint16(0))         // its ordinal, less the base
	for _, s := range strs {
		ed.WriteString(s)
		ed.WriteByte(0)
	}
	edSize := uint32(ed.Len())
	raw := (edSize + fileAlign - 1) &^ (fileAlign - 1)

	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	// DOS header: "MZ", and at 0x3c where the PE header starts.
	dos := make([]byte, 64)
	copy(dos, "MZ")
	binary.LittleEndian.PutUint32(dos[0x3c:], 64)
	b.Write(dos)
	b.WriteString("PE\x00\x00")
	// COFF header: x86-64, one section, a DLL.
	w(uint16(0x8664))
	w(uint16(1))
	w(uint32(0))
	w(uint32(0))
	w(uint32(0))
	w(uint16(240))                 // optional header size (PE32+)
	w(uint16(0x2000 | 0x0020 | 2)) // DLL, large address aware, executable
	// Optional header, PE32+.
	w(uint16(0x20b))
	w(uint16(0))           // linker version
	w(uint32(0))           // size of code
	w(raw)                 // size of initialized data
	w(uint32(0))           // size of uninitialized data
	w(uint32(0))           // entry point: none
	w(uint32(0))           // base of code
	w(uint64(0x180000000)) // image base
	w(uint32(sectAlign))
	w(uint32(fileAlign))
	w(uint16(6)) // OS version
	w(uint16(0))
	w(uint16(0)) // image version
	w(uint16(0))
	w(uint16(6)) // subsystem version
	w(uint16(0))
	w(uint32(0))             // Win32 version
	w(uint32(2 * sectAlign)) // size of image
	w(uint32(fileAlign))     // size of headers
	w(uint32(0))             // checksum
	w(uint16(3))             // subsystem: console
	w(uint16(0x0100))        // DLL characteristics: NX compatible
	w(uint64(0x100000))      // stack reserve
	w(uint64(0x1000))        // stack commit
	w(uint64(0x100000))      // heap reserve
	w(uint64(0x1000))        // heap commit
	w(uint32(0))             // loader flags
	w(uint32(16))            // data directories
	w(uint32(edataRVA))      // 0: the export table
	w(edSize)
	for range 15 {
		w(uint64(0))
	}
	// Section header.
	var name [8]byte
	copy(name[:], ".edata")
	b.Write(name[:])
	w(edSize)            // virtual size
	w(uint32(edataRVA))  // virtual address
	w(raw)               // size of raw data
	w(uint32(fileAlign)) // pointer to raw data
	w(uint32(0))         // relocations
	w(uint32(0))         // line numbers
	w(uint16(0))
	w(uint16(0))
	w(uint32(0x40000040)) // initialized data, readable
	b.Write(make([]byte, fileAlign-b.Len()))
	b.Write(ed.Bytes())
	b.Write(make([]byte, int(raw)-ed.Len()))
	return b.Bytes()
}
