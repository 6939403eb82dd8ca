//go:build unix

package config

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
)

// TestLoadFIFO: a FIFO in the config file's place is refused as corrupt,
// without blocking on it.
func TestLoadFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.toml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(fifo); !errors.Is(err, ErrCorrupt) {
		t.Errorf("FIFO config: %v", err)
	}
}
