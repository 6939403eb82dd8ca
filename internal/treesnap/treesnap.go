//go:build unix

// Package treesnap describes directory trees for tests that compare them:
// two trees with equal snapshots are what `rsync -a` and `diff -r` consider
// equal (type and mode, owner, mtime to the nanosecond, size, content hash,
// symlink target).
package treesnap

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/sys/unix"
)

// Take describes every entry below root, keyed by its path relative to root.
func Take(t testing.TB, root string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode=%o uid=%d gid=%d mtime=%d.%09d", st.Mode, st.Uid, st.Gid, st.Mtim.Sec, st.Mtim.Nsec)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" size=%d sha=%x", st.Size, sha256.Sum256(data))
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " target=" + target
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Diff lists, sorted, how snapshot a (called nameA) differs from b (nameB).
func Diff(a, b map[string]string, nameA, nameB string) []string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			d = append(d, "only in "+nameA+": "+k)
		} else if v != w {
			d = append(d, fmt.Sprintf("%s:\n   %s %s\n   %s %s", k, nameA, v, nameB, w))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "only in "+nameB+": "+k)
		}
	}
	sort.Strings(d)
	return d
}
