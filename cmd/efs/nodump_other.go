//go:build !linux

package main

// noDump is Linux's prctl(PR_SET_DUMPABLE, 0); elsewhere efs relies on
// the system's defaults.
func noDump() error { return nil }
