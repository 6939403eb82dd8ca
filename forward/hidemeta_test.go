//go:build unix

package forward

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/efs-project/efs/config"
	"golang.org/x/sys/unix"
)

// TestV2HiddenMetadata: a backup whose view hid its metadata restores with
// the records' real modes, owners and times; and where a restore takes the
// time from the storage (an entry its record does not list, another
// version of a file than it lists), it does not restore the stored
// pseudo-mtime, which is no time at all, but leaves the time of the restore.
func TestV2HiddenMetadata(t *testing.T) {
	s := config.Defaults()
	s.Flags |= config.FlagHideMetadata
	v := newV2(t, s, smallTree)
	var st unix.Stat_t
	must(t, unix.Lstat(v.cpath("f"), &st))
	if st.Mode&0o7777 != 0o600 || st.Mtim.Nsec != 0 {
		t.Fatalf("the backup does not hide metadata: mode %o mtime %+v", st.Mode, st.Mtim)
	}
	dest := filepath.Join(t.TempDir(), "intact")
	quiet(t, "restore", restoreAll(t, v.b, dest, nil, WalkOptions{}))
	sameTree(t, v.plain, dest, true)

	// "del" replayed (unlisted), "g" rolled back (another version).
	keepDel, keepG := filepath.Join(t.TempDir(), "del"), filepath.Join(t.TempDir(), "g")
	copyOut := func(from, to string) {
		data, err := os.ReadFile(from)
		must(t, err)
		os.Remove(to)
		must(t, os.WriteFile(to, data, 0o600))
		var st unix.Stat_t
		must(t, unix.Lstat(from, &st))
		must(t, unix.UtimesNanoAt(unix.AT_FDCWD, to, []unix.Timespec{st.Mtim, st.Mtim}, 0))
	}
	copyOut(v.cpath("del"), keepDel)
	copyOut(v.cpath("g"), keepG)
	must(t, os.Remove(filepath.Join(v.plain, "del")))
	tmp := filepath.Join(v.plain, "g.new")
	must(t, os.WriteFile(tmp, []byte("WORLD"), 0o640))
	must(t, os.Rename(tmp, filepath.Join(v.plain, "g")))
	v.export(t)
	copyOut(keepDel, v.cpath("del"))
	copyOut(keepG, v.cpath("g"))

	start := time.Now().Add(-2 * time.Second)
	dest = filepath.Join(t.TempDir(), "tampered")
	rep := restoreAll(t, v.b, dest, nil, WalkOptions{})
	classes(t, "restore", rep, nil, []string{"del", "g"}, 0)
	for _, rel := range []string{"del", "g"} {
		var stored, got unix.Stat_t
		must(t, unix.Lstat(v.cpath(rel), &stored))
		must(t, unix.Lstat(filepath.Join(dest, rel), &got))
		if got.Mtim == stored.Mtim || time.Unix(got.Mtim.Unix()).Before(start) {
			t.Errorf("%s: restored with mtime %d.%09d (stored %d), want the time of the restore", rel, got.Mtim.Sec, got.Mtim.Nsec, stored.Mtim.Sec)
		}
	}
}
