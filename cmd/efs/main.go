// Command efs backs up private files to untrusted storage: it shows a
// plaintext tree as a deterministic, encrypted, read-only view that any
// sync tool can upload, and decrypts and authenticates the upload to
// restore it. Run "efs help" for the commands.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// version is the efs release; the format version is separate (FORMAT.md).
const version = "0.1.0"

// command is one subcommand.
type command struct {
	name    string
	args    string
	summary string
	run     func(args []string) error
}

func commands() []command {
	return []command{
		{"init", "PLAINDIR", "create PLAINDIR/.efs.toml and print the master key once for recovery", runInit},
		{"reverse", "PLAINDIR MOUNTPOINT", "mount the encrypted, read-only view of PLAINDIR", runReverse},
		{"export", "PLAINDIR DEST", "write the encrypted view into DEST without FUSE, incrementally", runExport},
		{"mount", "CIPHERDIR MOUNTPOINT", "mount a backup decrypted and authenticated, read-only", runMount},
		{"restore", "CIPHERDIR DEST [PATH...]", "decrypt a backup (or some paths of it) into DEST without FUSE", runRestore},
		{"fsck", "CIPHERDIR", "authenticate every name, symlink and block of a backup", runFsck},
		{"encrypt-path", "PLAINDIR REL", "print the ciphertext path of a plaintext path", runEncryptPath},
		{"decrypt-path", "CIPHERDIR CREL", "print the plaintext path of a ciphertext path", runDecryptPath},
		{"serve", "PLAINDIR | --backup CIPHERDIR", "serve the view, or a backup decrypted, over HTTPS as read-only WebDAV", runServe},
		{"keygen", "DIR", "make an Ed25519 client key and certificate for efs serve", runKeygen},
		{"unmount", "MOUNTPOINT", "unmount an efs view", runUnmount},
		{"passwd", "DIR", "change the password (re-wraps the master key; nothing is re-encrypted)", runPasswd},
		{"rekey", "PLAINDIR", "new master key after a leak; the whole view changes (a full upload)", runRekey},
		{"info", "DIR|CONFIG", "show a config's settings (no password needed)", runInfo},
		{"version", "", "print the efs and format versions", runVersion},
		{"help", "[COMMAND]", "show this help, or a command's flags", nil},
	}
}

const exitCodesHelp = `Exit codes:
  0  success
  1  other error
  2  bad flags or arguments, no password given, passwords differ
  3  wrong password (or a master key that does not fit)
  4  no config: not an efs tree or backup (run efs init, or use --masterkey-file)
  5  config corrupt or altered
  6  PLAINDIR, CIPHERDIR or DEST missing or not a directory
  7  mountpoint missing, not a directory, not empty, or already mounted
  8  FUSE unavailable, or the mount failed
  9  fsck, restore or export finished but some entries failed (listed)
 10  efs init found an existing config and left it alone
`

// usage writes the overview of commands and exit codes to w: stdout for
// "efs help", stderr for a bare "efs" (see parseArgs for the rule).
func usage(w io.Writer) {
	fmt.Fprint(w, "efs: encrypted backups of a plaintext tree to storage you do not trust.\n\nUsage:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  efs %-36s %s\n", c.name+" "+c.args, c.summary)
	}
	fmt.Fprint(w, `
Common flags: --passfile FILE, --extpass CMD, --config FILE, -q, -v.
Without a password flag, efs asks on the terminal without echo.
"efs COMMAND -h" lists a command's flags.

`, exitCodesHelp)
}

func main() { os.Exit(efsMain()) }

// efsMain runs efs on os.Args and returns its exit code; the script tests
// run it as the efs command.
func efsMain() int {
	// Before any password or key is read. A failure is not worth
	// refusing to run over: efs works the same, only less shielded.
	_ = noDump()
	stop := func() {}
	if len(os.Args) > 1 && os.Args[1] != "reverse" && os.Args[1] != "mount" {
		stop = startProfile() // mounts profile in serve
	}
	code := run(os.Args[1:])
	stop()
	return code
}

// run runs the command in args and returns the exit code. Errors are
// printed here, and only here, as "efs COMMAND: message" with hint lines
// after it (printError).
func run(args []string) int {
	if len(args) == 0 {
		usage(os.Stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help", "-help":
		switch {
		case name == "help" && len(args) == 2:
			return run([]string{args[1], "-h"})
		case name == "help" && len(args) > 2:
			printError(os.Stderr, "efs help", &usageError{errors.New("wrong number of arguments"), "usage: efs help [COMMAND]"})
			return exitUsage
		}
		usage(os.Stdout)
		return exitOK
	case "--version", "-version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			err := c.run(args[1:])
			if errors.Is(err, errHelp) {
				return exitOK
			}
			if err != nil {
				notifyParent(err)
				printError(os.Stderr, "efs "+name, err)
			}
			return exitCode(err)
		}
	}
	printError(os.Stderr, "efs", withHint(fmt.Errorf("unknown command %q", name), "efs help lists the commands"))
	return exitUsage
}
