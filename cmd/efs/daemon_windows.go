package main

import "os/exec"

// newSession does nothing: Windows has no FUSE mounts to run in the
// background, so no daemon child.
func newSession(cmd *exec.Cmd) {}
