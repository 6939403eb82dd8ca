package main

// Owned by the reverse work (issue 3): efs reverse.

func runReverse(args []string) error { return withCode(exitUnavailable, errUnavailable) }
