// Package report is what the long-running walks (export, restore, fsck)
// tell their caller besides their counts: the entries that failed, and
// progress as they go. The library packages fill it in; cmd/efs renders
// it, so every command words failures and progress the same way.
package report

// Failure is one entry that failed while the walk went on with the rest.
type Failure struct {
	// Path is the entry's plaintext path relative to the root, "" when it
	// could not be recovered. It is for the user's own terminal: never
	// put it in a log line.
	Path string
	// Stored is the entry's path as the view or the backup holds it
	// (encrypted names), relative to its root: safe to log.
	Stored string
	// Err says what went wrong. Its text never carries a plaintext name.
	Err error
}

// Error names the stored path only, so a Failure is safe to log.
func (f Failure) Error() string {
	if f.Stored == "" {
		return "/: " + f.Err.Error()
	}
	return f.Stored + ": " + f.Err.Error()
}

// Unwrap gives errors.Is and errors.As the cause.
func (f Failure) Unwrap() error { return f.Err }

// Progress is told about work as it is done: files finished and bytes
// handled since the last call. It may be called from several goroutines at
// once; nil means nobody is listening.
type Progress func(files int, bytes int64)

// Add calls p if it is set.
func (p Progress) Add(files int, bytes int64) {
	if p != nil {
		p(files, bytes)
	}
}
