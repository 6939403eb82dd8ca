package forward

import (
	"slices"
	"strings"
)

// Renamed is an entry Restore wrote under another name than its own.
type Renamed struct {
	// Rel is the entry's plaintext path; As is the name it was written
	// under, in the same directory.
	Rel, As string
}

// mapName notes, when the destination cannot hold name, the entry rel
// in the report and returns the name written instead.
func (w *walker) mapName(rel, name string) string {
	d := destName(name)
	if d != name {
		w.count(func(r *Report) { r.Renamed = append(r.Renamed, Renamed{Rel: rel, As: d}) })
	}
	return d
}

// countXattrsLost counts e in Report.XattrsLost when it has xattrs the
// destination cannot keep.
func (w *walker) countXattrsLost(e Entry) {
	if !xattrsRestored && e.Meta != nil && len(e.Meta.Xattrs) > 0 {
		w.count(func(r *Report) { r.XattrsLost++ })
	}
}

// sortRenamed orders rs by path, once each (the directories on the way to
// several restored paths are noted for each).
func sortRenamed(rs []Renamed) []Renamed {
	slices.SortFunc(rs, func(a, b Renamed) int { return strings.Compare(a.Rel, b.Rel) })
	return slices.Compact(rs)
}
