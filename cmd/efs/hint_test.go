package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestPrintError pins the shape of every error report: one error line,
// the usage line of a usage error, then each hint on its own line, in
// order from the outermost wrapper in.
func TestPrintError(t *testing.T) {
	base := withHint(errors.New("config not found: x"), "inner one", "inner two")
	err := withCode(exitNoConfig, withHint(fmt.Errorf("opening: %w", base), "outer"))
	var b bytes.Buffer
	printError(&b, "efs fsck", err)
	want := "efs fsck: opening: config not found: x\nhint: outer\nhint: inner one\nhint: inner two\n"
	if b.String() != want {
		t.Errorf("printError wrote\n%s\nwant\n%s", b.String(), want)
	}
	if exitCode(err) != exitNoConfig {
		t.Errorf("exit code %d, want %d", exitCode(err), exitNoConfig)
	}

	// Hints are found through errors.Join and multi-%w wrapping too.
	joined := fmt.Errorf("%w: %w", errors.New("a"), withHint(errors.New("b"), "h"))
	if got := hintsOf(joined); !slices.Equal(got, []string{"h"}) {
		t.Errorf("hintsOf(multi-%%w) = %q", got)
	}

	b.Reset()
	ue := withHint(&usageError{errors.New("wrong number of arguments"), "usage: efs x A"}, "efs x -h lists its flags")
	printError(&b, "efs x", ue)
	want = "efs x: wrong number of arguments\nusage: efs x A\nhint: efs x -h lists its flags\n"
	if b.String() != want || exitCode(ue) != exitUsage {
		t.Errorf("usage error: exit %d, wrote\n%s", exitCode(ue), b.String())
	}
}

// TestChildErrorRoundTrip: a background mount's failure reaches the
// parent's terminal with its exit code and its hints, each still a line of
// its own.
func TestChildErrorRoundTrip(t *testing.T) {
	err := withCode(exitMountpoint, withHint(errors.New("mountpoint m is already mounted"), "efs unmount m unmounts it"))
	var b strings.Builder
	writeChildError(&b, err)
	got := childError(exitCode(err), b.String())
	if exitCode(got) != exitMountpoint || got.Error() != err.Error() || !slices.Equal(hintsOf(got), hintsOf(err)) {
		t.Errorf("round trip: exit %d, %q, hints %q", exitCode(got), got, hintsOf(got))
	}
}
