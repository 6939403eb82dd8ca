//go:build unix

package main

import (
	"errors"
	"fmt"
	"log/syslog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary run as the efs command of the scripts in
// testdata/script.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"efs": func() {
			// A new session has no controlling terminal, so efs never
			// waits for a password on the terminal of whoever runs the
			// tests; a script that wants one gives it with ttyin (which
			// makes its own session, and then Setsid fails harmlessly).
			syscall.Setsid()
			os.Exit(efsMain())
		},
	})
}

// TestScripts runs the CLI scripts: usage, output and every exit code with
// its stderr wording. No script mounts; one that needs /dev/fuse for the
// checks before a mount says [fuse], one that needs no syslog [!syslog]. EFS_UPDATE_SCRIPTS=1 rewrites the
// expected files of failing cmp lines in place (review the diff!).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("EFS_UPDATE_SCRIPTS") != "",
		Setup: func(env *testscript.Env) error {
			// The frozen backups (testdata/backups), for cptree.
			dir, err := filepath.Abs("../../testdata/backups")
			env.Setenv("BACKUPS", dir)
			return err
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "fuse":
				f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
				if err != nil {
					return false, nil
				}
				f.Close()
				return true, nil
			case "syslog":
				// A background mount logs there first, so its
				// fallback log file is tested only without one.
				w, err := syslog.New(syslog.LOG_INFO, "efs-test")
				if err != nil {
					return false, nil
				}
				w.Close()
				return true, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":     cmdExits,
			"envstdout": cmdEnvStdout,
			"envfile":   cmdEnvFile,
			"replace":   cmdReplace,
			"corrupt":   cmdCorrupt,
			"cptree":    cmdCpTree,
		},
	})
}

// cmdExits is "exits [-within DURATION] CODE PROG [ARGS...]": run PROG like
// exec and require exit code CODE (testscript's "! exec" only tells zero
// from non-zero), and with -within that it took no longer than DURATION.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "usage: exits [-within DURATION] CODE PROG [ARGS...]"
	if neg {
		ts.Fatalf(usage)
	}
	var within time.Duration
	if len(args) > 1 && args[0] == "-within" {
		d, err := time.ParseDuration(args[1])
		if err != nil {
			ts.Fatalf("exits: bad duration %q", args[1])
		}
		within, args = d, args[2:]
	}
	if len(args) < 2 {
		ts.Fatalf(usage)
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	start := time.Now()
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if took := time.Since(start); within > 0 && took > within {
		ts.Fatalf("took %v, want at most %v", took.Round(time.Millisecond), within)
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

// cmdEnvStdout is "envstdout NAME [REGEXP]": set $NAME to the first
// submatch of REGEXP in the last command's stdout, or without REGEXP to
// that stdout less its final newline.
func cmdEnvStdout(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: envstdout NAME [REGEXP]")
	}
	out := ts.ReadFile("stdout")
	val := strings.TrimSuffix(out, "\n")
	if len(args) == 2 {
		m := regexp.MustCompile(args[1]).FindStringSubmatch(out)
		if len(m) < 2 {
			ts.Fatalf("envstdout: %q does not match stdout", args[1])
		}
		val = m[1]
	}
	ts.Setenv(args[0], val)
}

// cmdEnvFile is "envfile NAME FILE": write $NAME and a newline to FILE
// (a master key efs init printed, for --masterkey-file).
func cmdEnvFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile NAME FILE")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(ts.Getenv(args[0])+"\n"), 0o600))
}

// cmdReplace is "replace FILE OLD NEW": replace the one occurrence of OLD
// in FILE (to alter a config field).
func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: replace FILE OLD NEW")
	}
	path := ts.MkAbs(args[0])
	data := ts.ReadFile(args[0])
	if n := strings.Count(data, args[1]); n != 1 {
		ts.Fatalf("replace: %q occurs %d times in %s, want once", args[1], n, args[0])
	}
	ts.Check(os.WriteFile(path, []byte(strings.Replace(data, args[1], args[2], 1)), 0o600))
}

// cmdCorrupt is "corrupt FILE": flip the low bit of FILE's last byte.
func cmdCorrupt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: corrupt FILE")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	if len(data) == 0 {
		ts.Fatalf("corrupt: %s is empty", args[0])
	}
	data[len(data)-1] ^= 1
	ts.Check(os.WriteFile(path, data, 0o600))
}

// cmdCpTree is "cptree SRC DST": copy the tree SRC (directories, regular
// files, symlinks) to DST, which must not exist, so a script works on a
// copy of a frozen backup and never on the fixture itself.
func cmdCpTree(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cptree SRC DST")
	}
	src, dst := ts.MkAbs(args[0]), ts.MkAbs(args[1])
	ts.Check(filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case fi.IsDir():
			return os.Mkdir(to, 0o755)
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, data, fi.Mode().Perm())
		}
		return fmt.Errorf("%s: not a directory, regular file or symlink", p)
	}))
}
