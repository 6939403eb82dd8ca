package forward

import (
	"io"
	"os"

	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/naming"
)

// Padding (config flag padme, docs/FORMAT.md "Padding"): a padded file's
// size is in its trailer, not in its ciphertext size.

// padded reports whether the backup's streams are padded.
func (b *Backup) padded() bool { return b.settings.Padded() }

// paddedSize is the plaintext size of the padded file (rel, crel), read
// from its trailer, which is authenticated.
func (b *Backup) paddedSize(rel, crel string) (int64, error) {
	f, err := b.Open(rel, crel)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.Size(), nil
}

// limitWriter passes on the first n bytes written to it and drops the
// rest: a salvaged padded file ends where its trailer says.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	k := min(int64(len(p)), max(l.n, 0))
	if k > 0 {
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
		l.n -= k
	}
	return len(p), nil
}

// salvageSize is how much of a salvaged file is its plaintext: for a padded
// file whose trailer authenticates, the size it says; otherwise every
// block's bytes (-1), padding and all.
func (b *Backup) salvageSize(enc *content.File, f *os.File) int64 {
	if !enc.Padded() {
		return -1
	}
	st, err := f.Stat()
	if err != nil {
		return -1
	}
	n, err := enc.PlainSize(st.Size(), f)
	if err != nil {
		return -1
	}
	return n
}

// DetectPadding tells whether the v2 backup in dir is padded when its
// config is missing: the flags byte of the root record's header
// (FORMAT.md, "Padding"). The header is authenticated when the record is
// read, so a wrong answer only makes every record fail, never misreads.
func DetectPadding(dir string) (padded bool, why string) {
	f, err := os.Open(dir + "/" + naming.RecordName)
	if err != nil {
		return false, "no readable " + naming.RecordName + " at the root"
	}
	defer f.Close()
	var h [5]byte
	if _, err := io.ReadFull(f, h[:]); err != nil || h[4]&content.FlagPadded == 0 {
		return false, "the header of " + naming.RecordName + " at the root is not padded"
	}
	return true, "the header of " + naming.RecordName + " at the root is padded"
}
