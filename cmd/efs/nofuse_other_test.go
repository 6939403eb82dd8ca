//go:build !linux

package main

import (
	"runtime"
	"strings"
	"testing"
)

func TestNoFUSE(t *testing.T) {
	for name, run := range map[string]func([]string) error{"reverse": runReverse, "mount": runMount, "unmount": runUnmount} {
		err := run([]string{"a", "b"})
		if code := exitCode(err); code != exitNoFUSE {
			t.Errorf("efs %s: exit code %d, want %d", name, code, exitNoFUSE)
		}
		if err == nil || !strings.Contains(err.Error(), "needs FUSE, which this build for "+runtime.GOOS+" does not have") {
			t.Errorf("efs %s: error %v does not say FUSE is missing", name, err)
		}
	}
}
