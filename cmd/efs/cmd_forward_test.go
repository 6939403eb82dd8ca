package main

import (
	"slices"
	"strings"
	"testing"
)

func TestRedactMasterKey(t *testing.T) {
	key := strings.Repeat("ab", 32)
	for _, args := range [][]string{
		{"efs", "mount", "--masterkey", key, "c", "m"},
		{"efs", "mount", "c", "-masterkey=" + key, "m"},
		{"efs", "mount", "c", "m", "-masterkey", key},
	} {
		got := redactMasterKey(args)
		if strings.Contains(strings.Join(got, " "), key) || len(got) != len(args) || !strings.Contains(strings.Join(got, " "), masterKeyFromEnv) {
			t.Errorf("redactMasterKey(%q) = %q", args, got)
		}
		if slices.Equal(got, args) {
			t.Errorf("args were not copied")
		}
	}
	// After "--" everything is positional.
	args := []string{"efs", "mount", "--", "--masterkey", "dir"}
	if got := redactMasterKey(args); !slices.Equal(got, args) {
		t.Errorf("redactMasterKey touched positional arguments: %q", got)
	}
}
