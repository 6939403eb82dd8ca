//go:build !linux

package forward

import (
	"os"

	"github.com/efs-project/efs/internal/sys/syscall"
)

// storedDir is a stored directory open for a listing, listed through
// os.File and its entries stat'ed by path (storeddir_linux.go uses the
// descriptor).
type storedDir struct {
	f    *os.File
	path string
}

func openStoredDir(path string) (*storedDir, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &storedDir{f: f, path: path}, nil
}

func (d *storedDir) names() ([]string, error) { return d.f.Readdirnames(-1) }

func (d *storedDir) lstat(name string, st *syscall.Stat_t) error {
	return syscall.Lstat(d.path+"/"+name, st)
}

func (d *storedDir) close() { d.f.Close() }
