//go:build linux

package syncthing_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/internal/e2e"
)

// folder is the Syncthing folder ID of the backup on both instances.
const folder = "efs-backup"

// plainTree fills dir with a small tree of every kind of entry the view
// shows, with distinct modes and old mtimes.
func plainTree(t testing.TB, dir string) {
	t.Helper()
	big := make([]byte, 1<<20+17)
	for i := range big {
		big[i] = byte(i*7 + i>>11)
	}
	e2e.WriteFile(t, filepath.Join(dir, "big.bin"), big)
	e2e.WriteFile(t, filepath.Join(dir, "empty"), nil)
	e2e.WriteFile(t, filepath.Join(dir, "docs", "readme.txt"), []byte("hello\n"))
	e2e.WriteFile(t, filepath.Join(dir, "docs", "notes", "deep", "leaf.txt"), []byte("deep\n"))
	e2e.WriteFile(t, filepath.Join(dir, "docs", strings.Repeat("a long name ", 16)), []byte("long\n"))
	if err := os.Mkdir(filepath.Join(dir, "nothing"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("docs/readme.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nowhere/at/all", filepath.Join(dir, "docs", "dangling")); err != nil {
		t.Fatal(err)
	}
	e2e.WriteFile(t, filepath.Join(dir, "tool"), []byte("#!/bin/sh\n"))
	for p, mode := range map[string]os.FileMode{"docs/readme.txt": 0o600, "big.bin": 0o755, "docs/notes": 0o750, "tool": 0o755 | os.ModeSetuid} {
		if err := os.Chmod(filepath.Join(dir, p), mode); err != nil {
			t.Fatal(err)
		}
	}
	var paths []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	base := time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC)
	for i := len(paths) - 1; i >= 0; i-- {
		ts := unix.NsecToTimespec(base.Add(time.Duration(i)*time.Hour + time.Duration(i*1001)).UnixNano())
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
}

// sameContent reports how the received copy differs from the view in
// names, types, contents and symlink targets, leaving out .stfolder.
func sameContent(view, recv string) error {
	out, err := exec.Command("diff", "-r", "--no-dereference", "-x", ".stfolder", view, recv).CombinedOutput()
	if err != nil {
		return fmt.Errorf("diff -r: %v\n%.2000s", err, out)
	}
	return nil
}

// TestSendOnlyView is the README's Syncthing recipe: the mounted view as
// a send-only folder whose marker is efs.toml (the view is read-only:
// Syncthing cannot make .stfolder there, and efs.toml is always at its
// root), received by an ordinary receive-only folder; the received copy
// passes fsck, with Syncthing's .stfolder ignored as foreign, and
// restores to the plaintext tree, also after a change and a rescan; and
// an unmounted view stops the folder instead of emptying the copy, until
// it is mounted again.
func TestSendOnlyView(t *testing.T) {
	deadline := time.Now().Add(3 * time.Minute)
	plain := t.TempDir()
	plainTree(t, plain)
	e2e.InitTree(t, plain)
	a := e2e.NewSyncthing(t, "sender") // first: without syncthing, skip before mounting
	b := e2e.NewSyncthing(t, "receiver")
	pw := e2e.Passfile(t)
	view := e2e.Mount(t, "reverse", plain)
	recv := filepath.Join(t.TempDir(), "received") // Syncthing makes it, and .stfolder in it
	a.Start(t, e2e.SyncFolder{ID: folder, Path: view, Type: "sendonly", Marker: "efs.toml", RescanS: 10}, b)
	b.Start(t, e2e.SyncFolder{ID: folder, Path: recv, Type: "receiveonly", RescanS: 10}, a)
	a.WaitInSync(t, folder, b, deadline, func() error { return sameContent(view, recv) })
	if _, err := os.Stat(filepath.Join(recv, ".stfolder")); err != nil {
		t.Fatalf("no .stfolder in the received copy: %v", err)
	}

	r := e2e.RunEfs(t, "fsck", "--passfile", pw, recv)
	if r.Code != 0 {
		t.Fatalf("efs fsck of the received copy: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "1 foreign entry ignored") || !strings.Contains(r.Stderr, ".stfolder") {
		t.Errorf("efs fsck does not list .stfolder as a foreign entry:\n%s", r.Stderr)
	}
	out := restore(t, pw, recv)
	e2e.DiffTree(t, plain, out)
	// Syncthing does not carry owners, set-id bits or the mtimes of
	// directories and symlinks; the directory records do.
	e2e.ExactTree(t, plain, out)

	// A change reaches the receiving side with the next scan.
	e2e.WriteFile(t, filepath.Join(plain, "docs", "readme.txt"), []byte("hello again, longer\n"))
	time.Sleep(1500 * time.Millisecond) // past the view's 1 s attribute cache
	if err := a.Post("/rest/db/scan?folder=" + folder); err != nil {
		t.Fatal(err)
	}
	a.WaitInSync(t, folder, b, deadline, func() error { return sameContent(view, recv) })
	out = restore(t, pw, recv)
	e2e.DiffTree(t, plain, out)
	e2e.ExactTree(t, plain, out)

	// Unmounted, the view is an empty directory without efs.toml:
	// Syncthing stops the folder ("folder marker missing") rather than
	// send the deletion of every file.
	e2e.Unmount(t, view)
	if err := a.Post("/rest/db/scan?folder=" + folder); err == nil || !strings.Contains(err.Error(), "marker") {
		t.Errorf("scanning the unmounted view: %v, want folder marker missing", err)
	}
	var st struct{ State string }
	if err := a.Get("/rest/db/status?folder="+folder, &st); err != nil || st.State != "error" {
		t.Errorf("folder state with the view unmounted: %q (%v), want error", st.State, err)
	}
	out = restore(t, pw, recv)
	e2e.DiffTree(t, plain, out)

	// Mounted again, the next scan takes the folder up again.
	e2e.MustEfs(t, "reverse", "--passfile", pw, plain, view)
	t.Cleanup(func() { e2e.Unmount(t, view) })
	if err := a.Post("/rest/db/scan?folder=" + folder); err != nil {
		t.Fatalf("scanning the view mounted again: %v", err)
	}
	a.WaitInSync(t, folder, b, deadline, func() error { return sameContent(view, recv) })
}

// restore restores the received copy into a new directory, checks that
// it lists .stfolder as foreign, and returns the directory.
func restore(t testing.TB, pw, recv string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "restored")
	r := e2e.MustEfs(t, "restore", "--passfile", pw, recv, out)
	if !strings.Contains(r.Stderr, "1 foreign entry ignored") || !strings.Contains(r.Stderr, ".stfolder") {
		t.Errorf("efs restore does not list .stfolder as a foreign entry:\n%s", r.Stderr)
	}
	return out
}
