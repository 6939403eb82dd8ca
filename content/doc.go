// Package content implements efs's file-content format (format v1): the
// header, per-file key derivation, the AES-SIV block layout, the
// plaintext↔ciphertext size mapping and random-access encryption and
// decryption of byte ranges. Both directions share it: the reverse view
// seals plaintext blocks on demand, the forward view and the restore tools
// open them. docs/FORMAT.md is the normative description; this package must
// agree with it byte for byte (the test vectors in testdata/ check that).
//
// The package does no I/O of its own beyond io.ReaderAt calls, knows nothing
// about FUSE, and holds no package-level mutable state.
package content
