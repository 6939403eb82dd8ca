package main

// Owned by the export work (issue 3): efs export.

func runExport(args []string) error { return withCode(exitUnavailable, errUnavailable) }
