package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKDFRanges: efs init cannot ask for more than readers accept, and
// values that would wrap around in the file's fields are refused rather
// than narrowed (4194305 MiB used to become 1 MiB, 2^32+1 passes one).
func TestKDFRanges(t *testing.T) {
	for _, tc := range []struct {
		passes, mib uint64
		ok          bool
	}{
		{0, 0, true}, {1, 1, true}, {maxTime, maxMemoryKiB >> 10, true},
		{maxTime + 1, 0, false}, {1 << 32, 0, false}, {1<<32 + 1, 0, false},
		{0, maxMemoryKiB>>10 + 1, false}, {0, 4194305, false}, {0, 1 << 54, false},
	} {
		k, err := NewKDF(tc.passes, tc.mib)
		if (err == nil) != tc.ok {
			t.Errorf("NewKDF(%d, %d) = %+v, %v", tc.passes, tc.mib, k, err)
		}
		if err == nil && tc.mib != 0 && uint64(k.MemoryKiB) != tc.mib<<10 {
			t.Errorf("NewKDF memory %d MiB became %d KiB", tc.mib, k.MemoryKiB)
		}
	}
}

// TestHostileConfigRefused: a config asking for more than efs init can
// make, a huge file, or a FIFO is refused before any key derivation.
func TestHostileConfigRefused(t *testing.T) {
	kdf := KDF{Salt: bytes.Repeat([]byte{1}, 16), Time: 1, MemoryKiB: 1024, Threads: 1}
	c, mk, err := Create([]byte("pw"), Defaults(), kdf, "test")
	if err != nil {
		t.Fatal(err)
	}
	mk.Wipe()
	good := string(c.Marshal())
	for _, tc := range []struct{ from, to string }{
		{"time = 1", "time = 64"},
		{"memory_kib = 1024", "memory_kib = 4194304"},
		{"threads = 1", "threads = 255"},
	} {
		if !strings.Contains(good, tc.from) {
			t.Fatalf("config has no %q:\n%s", tc.from, good)
		}
		if _, err := Parse([]byte(strings.Replace(good, tc.from, tc.to, 1))); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s accepted: %v", tc.to, err)
		}
	}
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.toml")
	os.WriteFile(huge, append([]byte(good), bytes.Repeat([]byte("#"), 100<<20)...), 0o600)
	if _, err := Load(huge); !errors.Is(err, ErrCorrupt) {
		t.Errorf("100 MB config: %v", err)
	}
	if err := checkMemory(1 << 62); !errors.Is(err, ErrKDFMemory) {
		t.Errorf("a KDF needing 4 EiB: %v", err)
	}
}
