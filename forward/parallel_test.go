//go:build unix

package forward

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/treesnap"
	"github.com/efs-project/efs/internal/treewrite"
	"github.com/efs-project/efs/naming"
	"golang.org/x/sys/unix"
)

// manyTree is richTree plus 12 directories, two levels deep, of files of
// many sizes (one of several chunks), hard links across directories and
// symlinks: enough entries for every worker to have some.
func manyTree(t *testing.T, plain string) {
	richTree(t, plain)
	r := rand.New(rand.NewPCG(1, 2))
	for d := range 12 {
		for _, sub := range []string{"", "/e0", "/e0/f"} {
			dir := filepath.Join(plain, fmt.Sprintf("d%02d%s", d, sub))
			must(t, os.MkdirAll(dir, 0o755))
			for i := range 8 {
				data := make([]byte, r.IntN(70000))
				for j := range data {
					data[j] = byte(r.Uint32())
				}
				must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), data, 0o640))
			}
			must(t, os.Symlink("f0", filepath.Join(dir, "l")))
		}
		if d > 0 {
			must(t, os.Link(filepath.Join(plain, "d00", "f1"), filepath.Join(plain, fmt.Sprintf("d%02d", d), "h")))
		}
	}
	big := make([]byte, 9<<20+123)
	for j := range big {
		big[j] = byte(r.Uint32())
	}
	must(t, os.WriteFile(filepath.Join(plain, "d03", "big"), big, 0o600))
	must(t, syscall.Chmod(filepath.Join(plain, "d05", "e0"), 0o500)) // read-only: filled before its mode
	fixDirTimes(t, plain)
}

// tamperMany damages, deletes and litters a manyTree backup: damaged
// files (a flipped block, a truncation, a flipped block of the big file),
// a damaged directory record, a file the storage lost and foreign names.
func tamperMany(t *testing.T, v *v2) {
	flip := func(p string, off int64) {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		must(t, err)
		defer f.Close()
		var b [1]byte
		_, err = f.ReadAt(b[:], off)
		must(t, err)
		b[0] ^= 0x40
		_, err = f.WriteAt(b[:], off)
		must(t, err)
	}
	flip(v.cpath("d01/f2"), 60)
	flip(v.cpath("d07/e0/f/f3"), 60)
	flip(v.cpath("d03/big"), 5<<20)
	must(t, os.Truncate(v.cpath("d09/e0/f5"), 100))
	flip(filepath.Join(v.cpath("d10"), naming.RecordName), 40)
	must(t, os.Remove(v.cpath("d04/e0/f4")))
	for _, dir := range []string{v.cipher, v.cpath("d06/e0")} {
		for _, l := range litter {
			must(t, os.WriteFile(filepath.Join(dir, l), []byte("litter"), 0o644))
		}
	}
}

// describe renders a report in full, so that two runs compare as strings.
func describe(rep Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dirs %d files %d symlinks %d skipped %d bytes %d salvageable %d unauthenticated %v\n",
		rep.Dirs, rep.Files, rep.Symlinks, rep.Skipped, rep.Bytes, rep.Salvageable, rep.Unauthenticated)
	for _, f := range rep.Failures {
		fmt.Fprintf(&b, "failure %q %q: %v\n", f.Path, f.Stored, f.Err)
	}
	for _, f := range rep.OutOfSync {
		fmt.Fprintf(&b, "out of sync %q %q: %v\n", f.Path, f.Stored, f.Err)
	}
	for _, f := range rep.Foreign {
		fmt.Fprintf(&b, "foreign %q\n", f)
	}
	return b.String()
}

// snapshot describes a restored tree: treesnap's description of each
// entry, with each file's hard-link group (the first path by name of its
// inode).
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	snap := treesnap.Take(t, root)
	paths := make([]string, 0, len(snap))
	for p := range snap {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	first := map[uint64]string{}
	for _, p := range paths {
		var st unix.Stat_t
		must(t, unix.Lstat(filepath.Join(root, p), &st))
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			continue
		}
		if _, ok := first[st.Ino]; !ok {
			first[st.Ino] = p
		}
		snap[p] += " group=" + first[st.Ino]
	}
	return snap
}

// TestJobsSameResult: fsck and restore of a damaged, out-of-sync,
// littered backup give the same report, and restore the same tree (hard
// links, salvaged files and metadata included), with one worker as with
// eight; so do a second restore over the first (everything skipped) and a
// salvaging one. Run it with -race.
func TestJobsSameResult(t *testing.T) {
	v := newV2(t, config.Defaults(), manyTree)
	tamperMany(t, v)
	var checks, restores, agains, salvages []string
	var trees, salvaged []map[string]string
	for _, jobs := range []int{1, 8, 32} {
		rep, err := Check(context.Background(), v.b, WalkOptions{Workers: jobs})
		must(t, err)
		checks = append(checks, describe(rep))
		dest := filepath.Join(t.TempDir(), "new")
		restores = append(restores, describe(restoreAll(t, v.b, dest, nil, WalkOptions{Workers: jobs})))
		trees = append(trees, snapshot(t, dest))
		again := restoreAll(t, v.b, dest, nil, WalkOptions{Workers: jobs})
		if again.Files != 0 || again.Skipped < 300 {
			t.Errorf("a second restore over the first restored %d files and skipped %d", again.Files, again.Skipped)
		}
		agains = append(agains, describe(again))
		dest = filepath.Join(t.TempDir(), "salvage")
		salvages = append(salvages, describe(restoreAll(t, v.b, dest, nil, WalkOptions{Workers: jobs, Salvage: true})))
		salvaged = append(salvaged, snapshot(t, dest))
	}
	// The backup is damaged, out of sync and littered, as meant.
	for _, want := range []string{"d01/f2", "d07/e0/f/f3", "d03/big", "d09/e0/f5", naming.RecordName, "out of sync \"d04/e0/f4\"", "foreign"} {
		if !strings.Contains(restores[0], want) {
			t.Errorf("the restore report lacks %q:\n%s", want, restores[0])
		}
	}
	for i := 1; i < len(checks); i++ {
		for _, c := range []struct {
			what string
			runs []string
		}{{"fsck", checks}, {"restore", restores}, {"restore again", agains}, {"restore --salvage", salvages}} {
			if c.runs[i] != c.runs[0] {
				t.Errorf("%s, run %d, differs from one worker's:\n%s\nwant\n%s", c.what, i, c.runs[i], c.runs[0])
			}
		}
		for _, d := range treesnap.Diff(trees[0], trees[i], "one worker", "more") {
			t.Errorf("restored tree: %s", d)
		}
		for _, d := range treesnap.Diff(salvaged[0], salvaged[i], "one worker", "more") {
			t.Errorf("salvaged tree: %s", d)
		}
	}
	if !strings.Contains(fmt.Sprint(trees[0]), "group=d00/f1") {
		t.Error("hard links were not restored")
	}
}

// TestJobsInterrupted: a restore with many workers cancelled while files
// are in flight leaves no temporary file and no file half-written; the
// same restore again gives the exact tree.
func TestJobsInterrupted(t *testing.T) {
	v := newV2(t, config.Defaults(), manyTree)
	for _, after := range []int{1, 20, 100} {
		dest := filepath.Join(t.TempDir(), "new")
		ctx, cancel := context.WithCancel(context.Background())
		var n atomic.Int64
		_, err := Restore(ctx, v.b, dest, nil, WalkOptions{Workers: 16, Progress: func(files int, bytes int64) {
			if n.Add(int64(files)) >= int64(after) {
				cancel()
			}
		}})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted after %d files: %v", after, err)
		}
		filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), TempPrefix) {
				t.Errorf("temporary file left: %s", p)
			}
			if err == nil && d.Type().IsRegular() {
				rel, _ := filepath.Rel(dest, p)
				want, _ := os.ReadFile(filepath.Join(v.plain, rel))
				if got, _ := os.ReadFile(p); string(got) != string(want) {
					t.Errorf("%s is half-written", rel)
				}
			}
			return nil
		})
		quiet(t, "second run", restoreAll(t, v.b, dest, nil, WalkOptions{Workers: 16}))
		sameTree(t, v.plain, dest, true)
	}
}

// TestSchedDirectoryLast: with many workers and tasks of random length,
// every directory's done runs once, after every task below it finished,
// and run returns only when all have.
func TestSchedDirectoryLast(t *testing.T) {
	s := newSched(8)
	r := rand.New(rand.NewPCG(5, 6))
	var mu sync.Mutex
	finished := map[string]bool{}
	var below func(string) []string
	children := map[string][]string{}
	below = func(p string) []string {
		out := []string{}
		for _, c := range children[p] {
			out = append(out, c)
			out = append(out, below(c)...)
		}
		return out
	}
	// A tree of 4 levels, 4 children each.
	var build func(p string, depth int)
	build = func(p string, depth int) {
		if depth == 0 {
			return
		}
		for i := range 4 {
			c := fmt.Sprintf("%s/%d", p, i)
			children[p] = append(children[p], c)
			build(c, depth-1)
		}
	}
	build("", 4)
	delays := map[string]time.Duration{}
	for _, p := range below("") {
		delays[p] = time.Duration(r.IntN(300)) * time.Microsecond
	}
	var visit func(p string, up *treewrite.Pending)
	visit = func(p string, up *treewrite.Pending) {
		time.Sleep(delays[p])
		kids := children[p]
		if len(kids) == 0 {
			mu.Lock()
			finished[p] = true
			mu.Unlock()
			up.Finish()
			return
		}
		node := treewrite.NewPending(up, int64(len(kids))+1, func() {
			mu.Lock()
			defer mu.Unlock()
			if finished[p] {
				t.Errorf("%s: done twice", p)
			}
			for _, c := range below(p) {
				if !finished[c] {
					t.Errorf("%s: done before %s finished", p, c)
				}
			}
			finished[p] = true
		})
		for _, c := range kids {
			s.push(func() { visit(c, node) })
		}
		node.Finish()
	}
	s.run(func() { visit("", nil) })
	for _, p := range append(below(""), "") {
		if !finished[p] {
			t.Errorf("%q not finished when run returned", p)
		}
	}
}
