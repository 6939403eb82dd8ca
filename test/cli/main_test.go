//go:build linux

// Package cli_test holds the tests of efs's command line that run the real
// binary: init, passwd, info, version and help, their exit codes and
// output. Behaviour that needs no mount or background process is moving to
// testscript files; what needs one (exit codes around mounts, daemons)
// belongs here. The kit is internal/e2e.
package cli_test

import (
	"testing"

	"github.com/efs-project/efs/internal/e2e"
)

func TestMain(m *testing.M) { e2e.Main(m) }
