package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"

	"golang.org/x/term"
)

// passwordFlags are --passfile and --extpass.
type passwordFlags struct {
	passfile string
	extpass  string
	// prefix is "new-" for efs passwd's --new-passfile and --new-extpass,
	// so that messages name the flags the user can give.
	prefix string
}

// flag returns the command-line spelling of flag name, e.g. "--passfile".
func (p *passwordFlags) flag(name string) string { return "--" + p.prefix + name }

func (p *passwordFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.passfile, "passfile", "", "read the password from the first line of `FILE`")
	fs.StringVar(&p.extpass, "extpass", "", "run `CMD` (with sh -c) and use the first line it prints as the password")
}

// errNoTerminal is returned when a password is needed, no flag gives one
// and there is no terminal to ask on.
var errNoTerminal = errors.New("no terminal to ask for the password")

// get returns the password from the daemon pipe, --passfile, --extpass or
// the terminal (asked twice when confirm is set). The caller wipes it.
func (p *passwordFlags) get(prompt string, confirm bool) ([]byte, error) {
	if pw, ok, err := daemonPassword(); ok {
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
		pw, err = runExtpass(p.extpass)
		if err != nil {
			err = withCode(exitUsage, fmt.Errorf("%s command failed: %w", p.flag("extpass"), err))
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

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return bytes.TrimSuffix(b, []byte("\r"))
}

func readPassfile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	line := bytes.Clone(firstLine(b))
	clear(b)
	return line, nil
}

func runExtpass(cmdline string) ([]byte, error) {
	cmd := exec.Command("/bin/sh", "-c", cmdline)
	cmd.Stdin = os.Stdin
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	line := bytes.Clone(firstLine(out))
	clear(out)
	return line, nil
}

func askTerminal(prompt string, confirm bool) ([]byte, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, withCode(exitUsage, errNoTerminal)
	}
	defer tty.Close()
	if !term.IsTerminal(int(tty.Fd())) {
		return nil, withCode(exitUsage, errNoTerminal)
	}
	read := func(p string) ([]byte, error) {
		fmt.Fprint(tty, p)
		pw, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
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

// readAllLimited reads at most 4 KiB: a password, never a stream.
func readAllLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(r), 4096))
	return b, err
}
