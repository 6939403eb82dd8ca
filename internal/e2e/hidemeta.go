//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// HiddenTree checks that no entry of the view (or copy of one) at view
// shows a real mode, owner or mtime of the plaintext tree plain, as
// `efs init --hide-metadata` promises (docs/FORMAT.md, "Hidden
// metadata"): every mode is the uniform one of its type, every owner the
// user running the test (who mounts or exports), every mtime a whole
// second in 2000…2034 that no plaintext entry has. It returns how many
// entries it checked.
func HiddenTree(t testing.TB, plain, view string) int {
	t.Helper()
	real := map[int64]string{}
	filepath.Walk(plain, func(p string, _ os.FileInfo, err error) error {
		var st unix.Stat_t
		if err == nil && unix.Lstat(p, &st) == nil {
			real[st.Mtim.Sec] = p
		}
		return err
	})
	perm := map[uint32]uint32{unix.S_IFREG: 0o600, unix.S_IFDIR: 0o700, unix.S_IFLNK: 0o777}
	n, bad := 0, 0
	err := filepath.Walk(view, func(p string, _ os.FileInfo, err error) error {
		if err != nil || bad > 10 {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		n++
		rel, _ := filepath.Rel(view, p)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("view /%s: "+format, append([]any{rel}, args...)...)
			bad++
		}
		typ := st.Mode & unix.S_IFMT
		if want, ok := perm[typ]; !ok || st.Mode != typ|want {
			fail("mode %o", st.Mode)
		}
		if st.Uid != uint32(os.Geteuid()) || st.Gid != uint32(os.Getegid()) {
			fail("owner %d:%d, want %d:%d", st.Uid, st.Gid, os.Geteuid(), os.Getegid())
		}
		if st.Mtim.Nsec != 0 || st.Mtim.Sec < 946684800 || st.Mtim.Sec >= 946684800+1<<30 {
			fail("mtime %d.%09d is no pseudo-mtime", st.Mtim.Sec, st.Mtim.Nsec)
		}
		if p, ok := real[st.Mtim.Sec]; ok {
			fail("shows the real mtime of %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// RsyncChanges runs rsync -ai --delete from src into dst and returns the
// paths it transferred, changed or deleted (relative to dst), one per
// itemized line.
func RsyncChanges(t testing.TB, src, dst string) []string {
	t.Helper()
	out := Run(t, "rsync", "-ai", "--delete", src+"/", dst+"/")
	var paths []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		// "YXcstpoguax path" or "*deleting   path".
		_, p, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("rsync -i line %q", line)
		}
		paths = append(paths, strings.TrimLeft(p, " "))
	}
	return paths
}
