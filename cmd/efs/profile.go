package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// profileEnv names a file to write a CPU profile of this efs process to
// (for a mount: of the background daemon, until it is unmounted). It is how
// bench/ and developers profile the daemon under real workloads, e.g.
//
//	EFS_CPUPROFILE=/tmp/efs.prof efs reverse ... ; rsync ... ; efs unmount ...
//	go tool pprof -top bin/efs /tmp/efs.prof
const profileEnv = "EFS_CPUPROFILE"

// memProfileEnv names a file to write a heap profile to when the process
// ends (for a mount: once unmounted, while its nodes are still held), e.g.
//
//	EFS_MEMPROFILE=/tmp/efs.heap efs reverse ... ; find ... ; efs unmount ...
//	go tool pprof -sample_index=inuse_space -top bin/efs /tmp/efs.heap
const memProfileEnv = "EFS_MEMPROFILE"

// startProfile starts the CPU profile when EFS_CPUPROFILE is set and
// returns the function that stops it and writes the heap profile of
// EFS_MEMPROFILE. Mounting commands call it from serve,
// in the process that serves the mount (a parent that only waits for its
// background child must not write the same file); the others from main.
func startProfile() func() {
	stopCPU := startCPUProfile()
	return func() {
		stopCPU()
		writeHeapProfile()
	}
}

// writeHeapProfile writes the heap profile EFS_MEMPROFILE names, if any.
func writeHeapProfile() {
	path := os.Getenv(memProfileEnv)
	if path == "" {
		return
	}
	runtime.GC() // the profile shows the heap as of the last GC
	f, err := os.Create(path)
	if err == nil {
		err = pprof.WriteHeapProfile(f)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "efs: %s: %v\n", memProfileEnv, err)
	}
}

func startCPUProfile() func() {
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
