//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// newSession makes the daemon child the leader of a session of its own,
// so it outlives the terminal that started it.
func newSession(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
