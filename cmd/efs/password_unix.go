//go:build unix

package main

import (
	"os"
	"os/exec"
	"time"
)

// shellCommand runs cmdline with sh -c, for --extpass.
func shellCommand(cmdline string) *exec.Cmd { return exec.Command("/bin/sh", "-c", cmdline) }

// readLineWithin reads the first line of the pipe r, giving up (with
// os.ErrDeadlineExceeded) once timeout has passed.
func readLineWithin(r *os.File, timeout time.Duration) ([]byte, error) {
	if err := r.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	return readLine(r)
}

// openTerminal opens the controlling terminal, to read a password from
// and to prompt on (one file here).
func openTerminal() (in, out *os.File, err error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	// Two files for the one terminal, so each Close is the caller's.
	dup, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		tty.Close()
		return nil, nil, err
	}
	return tty, dup, nil
}
