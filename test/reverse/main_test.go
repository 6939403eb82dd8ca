//go:build linux

// Package reverse_test holds the end-to-end tests of efs reverse: the real
// binary, real mounts, real sync tools (rsync, rclone), what the view leaks
// and how stable it is across remounts. The kit is internal/e2e.
package reverse_test

import (
	"testing"

	"github.com/efs-project/efs/internal/e2e"
)

func TestMain(m *testing.M) { e2e.Main(m) }
