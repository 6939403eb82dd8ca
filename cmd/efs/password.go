package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// passwordFlags are --passfile, --extpass and --extpass-timeout.
type passwordFlags struct {
	passfile string
	extpass  string
	timeout  time.Duration // for extpass; 0 is defaultExtpassTimeout
	// prefix is "new-" for efs passwd's --new-passfile and --new-extpass,
	// so that messages name the flags the user can give.
	prefix string
}

// Bounds on reading a password: it is one short line, and a command that
// never prints it, or never exits, must not hang efs.
const (
	maxSecretLen          = 4096
	defaultExtpassTimeout = time.Minute
	// extpassGrace is how long an --extpass command may take to exit
	// after printing its line before efs stops it.
	extpassGrace = time.Second
)

// flag returns the command-line spelling of flag name, e.g. "--passfile".
func (p *passwordFlags) flag(name string) string { return "--" + p.prefix + name }

func (p *passwordFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.passfile, "passfile", "", "read the password from the first line of `FILE`")
	fs.StringVar(&p.extpass, "extpass", "", "run `CMD` (with sh -c) and use the first line it prints as the password")
	fs.DurationVar(&p.timeout, "extpass-timeout", defaultExtpassTimeout, "give up on --extpass CMD if it prints no line within `DURATION`")
}

func (p *passwordFlags) extpassTimeout() time.Duration {
	if p.timeout > 0 {
		return p.timeout
	}
	return defaultExtpassTimeout
}

// errNoTerminal is returned when a password is needed, no flag gives one
// and there is no terminal to ask on.
var errNoTerminal = errors.New("no terminal to ask for the password")

// get returns the password from the daemon pipe, --passfile, --extpass or
// the terminal (asked twice when confirm is set). The caller wipes it.
func (p *passwordFlags) get(prompt string, confirm bool) ([]byte, error) {
	if pw, ok, err := daemonSecret(handPassword); ok {
		return pw, err
	}
	var pw []byte
	var err error
	switch {
	case p.passfile != "" && p.extpass != "":
		return nil, withCode(exitUsage, fmt.Errorf("give either %s or %s, not both", p.flag("passfile"), p.flag("extpass")))
	case p.passfile != "":
		pw, err = readPassfile(p.passfile)
		if err != nil {
			err = withCode(exitUsage, fmt.Errorf("reading %s: %w", p.flag("passfile"), err))
		}
	case p.extpass != "":
		pw, err = runExtpass(p.extpass, p.extpassTimeout())
		if err != nil {
			err = withCode(exitUsage, fmt.Errorf("%s command %w", p.flag("extpass"), err))
			if errors.Is(err, errNoLine) {
				err = withHint(err, "--extpass-timeout DURATION gives it longer")
			}
		}
	default:
		pw, err = askTerminal(prompt, confirm)
		if errors.Is(err, errNoTerminal) {
			err = withHint(err, fmt.Sprintf("give the password with %s FILE or %s CMD", p.flag("passfile"), p.flag("extpass")))
		}
	}
	if err != nil {
		return nil, err
	}
	if len(pw) == 0 {
		return nil, withCode(exitUsage, errors.New("the password is empty"))
	}
	return pw, nil
}

// errTooLong means a secret's first line (or a piped secret) exceeds
// maxSecretLen bytes: that is not a password or a key.
var errTooLong = fmt.Errorf("its first line is longer than %d bytes", maxSecretLen)

// readLine reads r up to the first newline, at most maxSecretLen bytes of
// it, into one buffer that is never grown (so no copy of the secret is left
// behind) and returns the line without its newline or a trailing CR. A
// stream that ends without a newline is one line. The caller clears it.
func readLine(r io.Reader) ([]byte, error) {
	buf := make([]byte, maxSecretLen+1)
	n := 0
	for {
		m, err := r.Read(buf[n:])
		if i := bytes.IndexByte(buf[n:n+m], '\n'); i >= 0 {
			n += i
			break
		}
		n += m
		if n == len(buf) {
			clear(buf)
			return nil, errTooLong
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			clear(buf)
			return nil, err
		}
	}
	if n > maxSecretLen {
		clear(buf)
		return nil, errTooLong
	}
	clear(buf[n:])
	return bytes.TrimSuffix(buf[:n], []byte("\r")), nil
}

// readSecret reads all of r, at most maxSecretLen bytes, into one buffer
// that is never grown. The caller clears it.
func readSecret(r io.Reader) ([]byte, error) {
	buf := make([]byte, maxSecretLen+1)
	n, err := io.ReadFull(r, buf)
	switch {
	case err == nil:
		clear(buf)
		return nil, fmt.Errorf("longer than %d bytes", maxSecretLen)
	case err != io.EOF && err != io.ErrUnexpectedEOF:
		clear(buf)
		return nil, err
	}
	return buf[:n], nil
}

func readPassfile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLine(f)
}

// errNoLine is the failure of an --extpass command that printed no line in
// time.
var errNoLine = errors.New("printed no line")

// runExtpass runs cmdline with sh -c and returns the first line it prints.
// It waits at most timeout for that line and reads at most maxSecretLen
// bytes; once the line is there, the command has extpassGrace to exit
// before efs stops it. Its children are not waited for: one that keeps
// stdout open (a daemon it starts) must not hang efs, and efs never reads
// past the first line anyway.
func runExtpass(cmdline string, timeout time.Duration) ([]byte, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := shellCommand(cmdline)
	// Files, not writers: exec then waits for the shell alone, not for
	// every process that inherited the pipe.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, w, os.Stderr
	err = cmd.Start()
	w.Close()
	if err != nil {
		return nil, fmt.Errorf("failed: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	line, err := readLineWithin(r, timeout)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		stop()
		return nil, fmt.Errorf("%w within %v; efs stopped it", errNoLine, timeout)
	case errors.Is(err, errTooLong):
		stop()
		return nil, fmt.Errorf("printed more than %d bytes without a newline; efs stopped it", maxSecretLen)
	case err != nil:
		stop()
		return nil, fmt.Errorf("failed: reading its output: %w", err)
	}
	grace := time.NewTimer(extpassGrace)
	defer grace.Stop()
	select {
	case err := <-exited:
		if err != nil {
			clear(line)
			return nil, fmt.Errorf("failed: %w", err)
		}
	case <-grace.C:
		// It printed its line and lingers (echo pw; sleep 100): the
		// line is the password; the rest of its work is not needed.
		stop()
	}
	return line, nil
}

func askTerminal(prompt string, confirm bool) ([]byte, error) {
	tty, out, err := openTerminal()
	if err != nil {
		return nil, withCode(exitUsage, errNoTerminal)
	}
	defer tty.Close()
	defer out.Close()
	if !term.IsTerminal(int(tty.Fd())) {
		return nil, withCode(exitUsage, errNoTerminal)
	}
	read := func(p string) ([]byte, error) {
		fmt.Fprint(out, p)
		pw, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(out)
		if err != nil {
			return nil, fmt.Errorf("reading password: %w", err)
		}
		return pw, nil
	}
	pw, err := read(prompt + ": ")
	if err != nil || !confirm {
		return pw, err
	}
	again, err := read(prompt + " again: ")
	if err != nil {
		clear(pw)
		return nil, err
	}
	defer clear(again)
	if !bytes.Equal(pw, again) {
		clear(pw)
		return nil, withCode(exitUsage, errors.New("the two passwords differ"))
	}
	return pw, nil
}
