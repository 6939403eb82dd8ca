package main

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

// shellCommand runs cmdline with cmd.exe /c, for --extpass: the line goes
// to cmd.exe as it is, quotes included (/s keeps them).
func shellCommand(cmdline string) *exec.Cmd {
	shell := os.Getenv("ComSpec")
	if shell == "" {
		shell = `C:\Windows\System32\cmd.exe`
	}
	cmd := exec.Command(shell)
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: `cmd.exe /d /s /c "` + cmdline + `"`}
	return cmd
}

// readLineWithin reads the first line of the pipe r, giving up (with
// os.ErrDeadlineExceeded) once timeout has passed. A Windows pipe takes
// no read deadline: the read runs on its own goroutine, which the caller
// ends by stopping the command (or which ends with efs).
func readLineWithin(r *os.File, timeout time.Duration) ([]byte, error) {
	type result struct {
		line []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := readLine(r)
		done <- result{line, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case res := <-done:
		return res.line, res.err
	case <-t.C:
		return nil, os.ErrDeadlineExceeded
	}
}

// openTerminal opens the console, to read a password from (CONIN$) and
// to prompt on (CONOUT$).
func openTerminal() (in, out *os.File, err error) {
	in, err = os.OpenFile("CONIN$", os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	out, err = os.OpenFile("CONOUT$", os.O_WRONLY, 0)
	if err != nil {
		in.Close()
		return nil, nil, err
	}
	return in, out, nil
}
