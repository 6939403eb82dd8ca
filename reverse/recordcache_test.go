//go:build linux

package reverse

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// recordNow is the record of directory rel of tree as recordOf computes
// it, and how many records the tree has computed since it was made.
func recordNow(t *testing.T, tree *Tree, rel string) ([]byte, int) {
	t.Helper()
	d := Dir{Rel: rel}
	if rel != "" {
		d.View = viewPath(tree, rel)
	}
	it, err := tree.recordOf(d)
	if err != nil {
		t.Fatal(err)
	}
	tree.recordsKept.mu.Lock()
	defer tree.recordsKept.mu.Unlock()
	return it.Record, tree.recordsKept.computed
}

// TestRecordKept: a directory whose listing did not change since its
// record was computed takes the record kept (no xattr is read again), and
// any change a record shows is seen: an xattr, a mode, a new entry.
func TestRecordKept(t *testing.T) {
	plain := t.TempDir()
	for _, f := range []string{"d/a", "d/b", "top"} {
		rvWrite(t, filepath.Join(plain, f), []byte(f))
	}
	tree, _, _ := rvTree(t, plain, Options{})
	tree.recordsKept.margin = time.Nanosecond
	time.Sleep(10 * time.Millisecond) // the ctimes are older than the margin
	for _, rel := range []string{"", "d"} {
		first, n := recordNow(t, tree, rel)
		again, m := recordNow(t, tree, rel)
		if m != n || !bytes.Equal(first, again) {
			t.Fatalf("%q: an unchanged directory's record computed again (%d → %d) or changed", rel, n, m)
		}
	}
	// Each change is computed anew, and is what a fresh tree computes.
	fresh := func(rel string) []byte {
		other, _, _ := rvTree(t, plain, Options{})
		r, _ := recordNow(t, other, rel)
		return r
	}
	p := filepath.Join(plain, "d", "a")
	for _, c := range []struct {
		name   string
		change func() error
	}{
		{"setxattr", func() error { return unix.Lsetxattr(p, "user.efs-test", []byte("v"), 0) }},
		{"another xattr value", func() error { return unix.Lsetxattr(p, "user.efs-test", []byte("w"), 0) }},
		{"chmod", func() error { return os.Chmod(p, 0o600) }},
		{"new entry", func() error { return os.WriteFile(filepath.Join(plain, "d", "c"), nil, 0o644) }},
	} {
		before, n := recordNow(t, tree, "d")
		if err := c.change(); err != nil {
			if c.name != "chmod" && c.name != "new entry" && (err == unix.ENOTSUP || err == unix.EOPNOTSUPP) {
				t.Logf("%s: %v: not tested", c.name, err)
				continue
			}
			t.Fatal(err)
		}
		after, m := recordNow(t, tree, "d")
		if m != n+1 || bytes.Equal(before, after) {
			t.Errorf("%s: the record was not computed anew (%d → %d) or did not change", c.name, n, m)
		}
		if !bytes.Equal(after, fresh("d")) {
			t.Errorf("%s: the record differs from a fresh tree's", c.name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRecordNotKeptRecent: a record whose listing has a ctime within the
// margin (a change as recent as the file system's timestamp granularity
// could hide another in the same tick) is computed on every call.
func TestRecordNotKeptRecent(t *testing.T) {
	plain := t.TempDir()
	rvWrite(t, filepath.Join(plain, "d", "a"), []byte("a"))
	tree, _, _ := rvTree(t, plain, Options{})
	_, n := recordNow(t, tree, "d")
	_, m := recordNow(t, tree, "d")
	if m != n+1 {
		t.Errorf("a record of entries changed just now was kept (%d → %d computed)", n, m)
	}
}

// TestRecordCacheBounds: the cache keeps at most maxCachedRecords records
// and maxCachedBytes bytes, and one record of a directory.
func TestRecordCacheBounds(t *testing.T) {
	var c recordCache
	big := make([]byte, maxCachedBytes/8)
	for i := range 2 * maxCachedRecords {
		c.put(string(rune('a'+i%26))+string(rune(i)), stampOf("s"), big[:i%2*len(big)])
		if len(c.dirs) > maxCachedRecords || c.bytes > maxCachedBytes {
			t.Fatalf("after %d: %d records, %d bytes", i+1, len(c.dirs), c.bytes)
		}
	}
	c.put("x", stampOf("1"), []byte("old"))
	c.put("x", stampOf("2"), []byte("new"))
	if c.get("x", stampOf("1")) != nil || string(c.get("x", stampOf("2"))) != "new" {
		t.Error("a directory's newer record did not replace its older one")
	}
	c.put("huge", stampOf(""), make([]byte, maxCachedBytes/4+1))
	if _, ok := c.dirs["huge"]; ok {
		t.Error("a record of more than a quarter of the cache was kept")
	}
}

// TestRecordCacheKeepsNewest: past its bounds the cache drops its oldest
// records, never the ones just put (a sync asks for a directory's record
// again soon after the first time).
func TestRecordCacheKeepsNewest(t *testing.T) {
	var c recordCache
	rec := make([]byte, maxCachedBytes/(2*maxCachedRecords))
	for i := range 3 * maxCachedRecords {
		name := fmt.Sprint("dir-", i)
		c.put(name, stampOf(name), rec)
		for j := max(0, i-maxCachedRecords+1); j <= i; j++ {
			if n := fmt.Sprint("dir-", j); c.get(n, stampOf(n)) == nil {
				t.Fatalf("after putting dir-%d, dir-%d (among the newest %d) is gone", i, j, maxCachedRecords)
			}
		}
	}
	if len(c.order) != len(c.dirs) {
		t.Errorf("order holds %d names, the cache %d records", len(c.order), len(c.dirs))
	}
}

// stampOf stands in for a listing's stamp (recordStamp).
func stampOf(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }
