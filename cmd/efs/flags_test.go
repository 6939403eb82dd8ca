package main

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/efs-project/efs/config"
)

func TestParseArgsInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		fg   bool
		ex   []string
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, false, nil},
		{[]string{"--fg", "a", "b"}, []string{"a", "b"}, true, nil},
		{[]string{"a", "b", "--fg"}, []string{"a", "b"}, true, nil},
		{[]string{"a", "--exclude", "x", "b", "--exclude=y"}, []string{"a", "b"}, false, []string{"x", "y"}},
		{[]string{"a", "--", "--fg"}, []string{"a", "--fg"}, false, nil},
	} {
		fs := newFlagSet("t", "A B", "")
		fg := fs.Bool("fg", false, "")
		var ex stringList
		fs.Var(&ex, "exclude", "")
		pos, err := parseArgs(fs, tc.args, 2, 2)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if !reflect.DeepEqual(pos, tc.pos) || *fg != tc.fg || !reflect.DeepEqual([]string(ex), tc.ex) {
			t.Errorf("%v: got %v fg=%v ex=%v", tc.args, pos, *fg, ex)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	fs := newFlagSet("t", "A", "")
	if _, err := parseArgs(fs, []string{"a", "b"}, 1, 1); exitCode(err) != exitUsage {
		t.Errorf("too many args: exit %d (%v)", exitCode(err), err)
	}
	fs = newFlagSet("t", "A", "")
	if _, err := parseArgs(fs, []string{"--nope", "a"}, 1, 1); exitCode(err) != exitUsage {
		t.Errorf("unknown flag: exit %d (%v)", exitCode(err), err)
	}
}

func TestExitCodes(t *testing.T) {
	for err, want := range map[error]int{
		nil:             exitOK,
		errors.New("x"): exitError,
		fmt.Errorf("a: %w", config.ErrWrongPassword):                    exitPassword,
		fmt.Errorf("a: %w", config.ErrNotFound):                         exitNoConfig,
		fmt.Errorf("a: %w", config.ErrCorrupt):                          exitBadConfig,
		fmt.Errorf("a: %w", config.ErrTampered):                         exitBadConfig,
		fmt.Errorf("a: %w", config.ErrExists):                           exitExists,
		withCode(exitMountpoint, errors.New("busy")):                    exitMountpoint,
		withCode(exitIntegrity, fmt.Errorf("x: %w", config.ErrCorrupt)): exitIntegrity,
	} {
		if got := exitCode(err); got != want {
			t.Errorf("exitCode(%v) = %d, want %d", err, got, want)
		}
	}
}
