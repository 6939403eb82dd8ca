package forward

// Compile-only placeholders for the format v2 API that branch fwd is
// writing (Entry.Meta, Entry.FromRecord, Listing.OutOfSync, ErrOutOfSync,
// Report.OutOfSync, Backup.Format). Struct fields
// cannot be added from another file, so the fields are methods here, named
// pending*: when fwd lands on main, delete this file and turn every
// pending* call into the field.

import (
	"errors"

	"github.com/efs-project/efs/internal/report"
	"github.com/efs-project/efs/record"
)

// ErrOutOfSync marks an entry that differs from its directory record.
var ErrOutOfSync = errors.New("entry differs from its directory record")

// Format is the backup's format version.
func (b *Backup) Format() int { return b.settings.Version }

func (e *Entry) pendingMeta() *record.Entry { return nil }

func (e *Entry) pendingFromRecord() bool { return false }

func (l *Listing) pendingOutOfSync() []report.Failure { return nil }

// PendingOutOfSync stands in for Report.OutOfSync.
func (r *Report) PendingOutOfSync() []report.Failure { return nil }
