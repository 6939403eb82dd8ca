//go:build !linux

package main

import (
	"fmt"
	"runtime"
)

// The FUSE commands are built for Linux only (go-fuse and the mount
// helpers efs relies on); elsewhere they say so and name the commands
// that do the same work without FUSE.

func runReverse(args []string) error { return noFUSE("use efs export or efs serve") }

func runMount(args []string) error {
	return noFUSE("use efs restore or efs serve --backup")
}

func runUnmount(args []string) error { return noFUSE("nothing can be mounted by it") }

// noFUSE is the error of a FUSE command in a build without FUSE; run
// prints it after "efs COMMAND: ".
func noFUSE(instead string) error {
	return withCode(exitNoFUSE, fmt.Errorf("needs FUSE, which this build for %s does not have; %s", runtime.GOOS, instead))
}
