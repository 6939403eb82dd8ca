//go:build linux

package reverse

import (
	"context"
	"testing"
)

// TestRequestAllocs pins the parts of a FUSE request's work in this
// package that allocate nothing (BenchmarkFUSESmallFiles counts the rest).
func TestRequestAllocs(t *testing.T) {
	h := &dirHandle{items: make([]Item, 1000)}
	v := &view{}
	buf := make([]byte, 10)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"errno(nil)", func() { errno(nil) }},
		{"Readdirent", func() {
			if h.pos == len(h.items) {
				h.pos = 0
			}
			h.Readdirent(context.Background())
		}},
		{"READ reply", func() { v.result(buf).Done() }},
	} {
		if n := testing.AllocsPerRun(100, c.f); n != 0 {
			t.Errorf("%s allocates %v times, want 0", c.name, n)
		}
	}
}
