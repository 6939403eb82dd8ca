//go:build linux

package forward

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/efs-project/efs/config"
)

// flatFiles writes n small files into plain, as the bench's ls workload
// does.
func flatFiles(n int) func(t *testing.T, plain string) {
	return func(t *testing.T, plain string) {
		buf := make([]byte, 512)
		for i := range n {
			if err := os.WriteFile(filepath.Join(plain, fmt.Sprintf("entry-%07d.txt", i)), buf[:i%len(buf)], 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestReadDirAllocs pins what listing a v2 directory allocates per entry
// (what efs mount's first READDIRPLUS of a large directory pays): the
// stored name getdents returns, its path for fstatat and the plaintext
// name. The record entry is shared, not copied, and no stored path is
// built for the stat: that was 5 allocations and 1,049 bytes per entry.
func TestReadDirAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	const n = 1000
	v := newV2(t, config.Defaults(), flatFiles(n))
	allocs := testing.AllocsPerRun(5, func() {
		l, err := v.b.ReadDir("", "")
		if err != nil || len(l.Entries) != n {
			t.Fatalf("listed %d entries: %v", len(l.Entries), err)
		}
	})
	// Beyond 3 per entry: the listing's own slices, maps and record
	// lookup (~50).
	if per := allocs / n; per > 3.1 {
		t.Errorf("ReadDir of %d entries: %.0f allocations, %.2f per entry, want at most 3.1", n, allocs, per)
	}
}

// TestReaddirentAllocs: a READDIRPLUS entry handed to go-fuse allocates
// nothing (go-fuse copies the DirEntry it gets).
func TestReaddirentAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	const n = 100
	v := newV2(t, config.Defaults(), flatFiles(n))
	e, err := v.b.Resolve("")
	if err != nil {
		t.Fatal(err)
	}
	view := &view{b: v.b, log: slog.New(slog.DiscardHandler), v2: true}
	h := &dirHandle{dir: view.node(e)}
	ctx := t.Context()
	if _, errno := h.Readdirent(ctx); errno != 0 { // lists the directory
		t.Fatal(errno)
	}
	allocs := testing.AllocsPerRun(n/2, func() {
		if de, errno := h.Readdirent(ctx); de == nil || errno != 0 {
			t.Fatalf("readdirent: %v %v", de, errno)
		}
	})
	if allocs != 0 {
		t.Errorf("Readdirent: %.0f allocations per entry, want 0", allocs)
	}
}
