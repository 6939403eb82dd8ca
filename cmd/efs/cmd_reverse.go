package main

// Owned by the reverse work (issue 3): efs reverse and efs export.

func runReverse(args []string) error { return withCode(exitUnavailable, errUnavailable) }
func runExport(args []string) error  { return withCode(exitUnavailable, errUnavailable) }
