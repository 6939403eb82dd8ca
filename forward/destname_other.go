//go:build !windows

package forward

// xattrsRestored is true: Restore gives entries the xattrs and ACLs of
// their records.
const xattrsRestored = true

// destName is the name Restore writes for name: its own.
func destName(name string) string { return name }
