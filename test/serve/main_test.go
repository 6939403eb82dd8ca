//go:build linux

// Package serve_test holds the end-to-end tests of efs serve and efs
// keygen: the real binary on 127.0.0.1, pulled from with real rclone
// (webdav backend, mutual TLS) and curl, compared with efs export and
// efs restore; refused clients and methods; a damaged backup; a bounded
// load test. The kit is internal/e2e.
package serve_test

import (
	"testing"

	"github.com/efs-project/efs/internal/e2e"
)

func TestMain(m *testing.M) { e2e.Main(m) }
