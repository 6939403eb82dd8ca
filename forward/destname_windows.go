package forward

import "github.com/efs-project/efs/internal/winname"

// xattrsRestored is false: Windows keeps no xattrs or ACLs of the kinds a
// record lists; Restore counts the entries that had some.
const xattrsRestored = false

// destName is the name Restore writes for name: Windows cannot hold
// every name (a colon, a final dot, CON), so those are mapped, reversibly,
// as winname says.
func destName(name string) string { return winname.Encode(name) }
