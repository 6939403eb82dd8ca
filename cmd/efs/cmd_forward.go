package main

// Owned by the restore work (issue 4): efs mount, restore, fsck,
// encrypt-path and decrypt-path.

func runMount(args []string) error       { return withCode(exitUnavailable, errUnavailable) }
func runRestore(args []string) error     { return withCode(exitUnavailable, errUnavailable) }
func runFsck(args []string) error        { return withCode(exitUnavailable, errUnavailable) }
func runEncryptPath(args []string) error { return withCode(exitUnavailable, errUnavailable) }
func runDecryptPath(args []string) error { return withCode(exitUnavailable, errUnavailable) }
