package main

import (
	"slices"
	"strings"
	"testing"
)

// TestDropFlags covers what a background mount's child is started with:
// no --masterkey KEY and no --masterkey-file FILE, in any spelling.
func TestDropFlags(t *testing.T) {
	key := strings.Repeat("ab", 32)
	want := []string{"c", "m"}
	for _, args := range [][]string{
		{"--masterkey", key, "c", "m"},
		{"c", "-masterkey=" + key, "m"},
		{"c", "m", "-masterkey", key},
		{"--masterkey-file", "k.txt", "c", "m"},
		{"c", "--masterkey-file=-", "m"},
		{"--masterkey-file", "-", "c", "--masterkey", key, "m"},
	} {
		if got := dropFlags(args, "masterkey", "masterkey-file"); !slices.Equal(got, want) {
			t.Errorf("dropFlags(%q) = %q, want %q", args, got, want)
		}
	}
	// Other flags stay, and after "--" everything is positional.
	args := []string{"--fg", "--log", "x", "--", "--masterkey", "dir"}
	if got := dropFlags(args, "masterkey", "masterkey-file"); !slices.Equal(got, args) {
		t.Errorf("dropFlags(%q) = %q", args, got)
	}
}
