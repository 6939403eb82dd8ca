//go:build linux

// Package export_test holds the end-to-end tests of efs export: the real
// binary against the real mounted view (an export is what rsync -a copies
// out of it), exclusions, restores of an export, and its failures. The kit
// is internal/e2e.
package export_test

import (
	"testing"

	"github.com/efs-project/efs/internal/e2e"
)

func TestMain(m *testing.M) { e2e.Main(m) }
