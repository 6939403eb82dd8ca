// Package unix is the part of golang.org/x/sys/unix that efs's tree
// reader (reverse) and tree writer (treewrite) use, also on Windows.
//
// On unix systems every name here is golang.org/x/sys/unix's own (type
// aliases, constants and one-line wrappers), so nothing changes there. On
// Windows the same calls are built on NT handles: a file descriptor is a
// Windows handle, and the *at calls open relative to a directory handle
// (NtCreateFile with a root directory, as os.Root does), never following a
// symlink or junction in the name they are given. What Windows has no
// counterpart for (owners, xattrs) answers ENOTSUP or is ignored, as the
// doc of each call says.
package unix
