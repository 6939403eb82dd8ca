//go:build unix

package refcrypt

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// flagPadme and flagHideMetadata are bits 0 and 1 of the config's flags
// (FORMAT.md, "Padding" and "Hidden metadata").
const (
	flagPadme        = 1 << 0
	flagHideMetadata = 1 << 1
)

// hiddenMtime is the pseudo-mtime of the plaintext entry at path whose
// real mtime is mt (FORMAT.md, "Hidden metadata").
func (k *Keys) hiddenMtime(path string, mt unix.Timespec) unix.Timespec {
	be := binary.BigEndian
	t := hmacSHA256(k.fileID, []byte("efs-v2 hidden mtime\x00"), be.AppendUint32(nil, uint32(len(path))), []byte(path),
		be.AppendUint64(nil, uint64(mt.Sec)), be.AppendUint32(nil, uint32(mt.Nsec)))
	return unix.Timespec{Sec: 946684800 + int64(be.Uint32(t[:4])&(1<<30-1))}
}

// hiddenMeta gives path, written for the entry of type typ (S_IFMT bits),
// the uniform mode of its type and the time mt (FORMAT.md, "Hidden
// metadata"); owners are the writing process's already.
func hiddenMeta(path string, typ uint32, mt unix.Timespec) error {
	switch typ {
	case unix.S_IFDIR:
		if err := unix.Chmod(path, 0o700); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
	case unix.S_IFREG:
		if err := unix.Chmod(path, 0o600); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{mt, mt}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting the times of %s: %w", path, err)
	}
	return nil
}

// recordMtime is the view mtime of a record whose file ID is id
// (FORMAT.md, "Sealing").
func recordMtime(id []byte) unix.Timespec {
	return unix.Timespec{Sec: 946684800 + int64(binary.BigEndian.Uint32(id[:4])&(1<<30-1))}
}
