//go:build linux

// Package forward_test holds the end-to-end tests of efs mount, restore
// and fsck: round trips through every writer (the reference encryptor, efs
// reverse with rsync and rclone, efs export), recovery with the master key,
// and the tamper matrix. The kit is internal/e2e.
package forward_test

import (
	"testing"

	"github.com/efs-project/efs/internal/e2e"
)

func TestMain(m *testing.M) { e2e.Main(m) }
