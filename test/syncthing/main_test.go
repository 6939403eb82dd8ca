//go:build linux

// Package syncthing_test holds the end-to-end test of Syncthing as the
// sync tool: two real Syncthing instances on 127.0.0.1, one sharing the
// mounted view as a send-only folder, the other receiving it; the copy
// received must pass efs fsck and restore to the plaintext tree. The kit
// is internal/e2e.
package syncthing_test

import (
	"testing"

	"github.com/efs-project/efs/internal/e2e"
)

func TestMain(m *testing.M) { e2e.Main(m) }
