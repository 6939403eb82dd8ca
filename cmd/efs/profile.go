package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// profileEnv names a file to write a CPU profile of this efs process to
// (for a mount: of the background daemon, until it is unmounted). It is how
// bench/ and developers profile the daemon under real workloads, e.g.
//
//	EFS_CPUPROFILE=/tmp/efs.prof efs reverse ... ; rsync ... ; efs unmount ...
//	go tool pprof -top bin/efs /tmp/efs.prof
const profileEnv = "EFS_CPUPROFILE"

// startProfile starts the CPU profile when EFS_CPUPROFILE is set and
// returns the function that stops it. Mounting commands call it from serve,
// in the process that serves the mount (a parent that only waits for its
// background child must not write the same file); the others from main.
func startProfile() func() {
	path := os.Getenv(profileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "efs: %s: %v\n", profileEnv, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "efs: %s: %v\n", profileEnv, err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
