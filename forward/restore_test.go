//go:build unix

package forward

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
)

func restoreAll(t *testing.T, b *Backup, dest string, paths []string, opts WalkOptions) Report {
	t.Helper()
	rep, err := Restore(context.Background(), b, dest, paths, opts)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	return rep
}

// TestRestoreCreatesDest: a DEST that does not exist yet is created (the
// README's own example), and gets the backup root's metadata (in v1 the
// storage's; TestV2RestoreExact has v2's).
func TestRestoreCreatesDest(t *testing.T) {
	b, cipher, files := setup(t, v1Settings())
	os.Chmod(cipher, 0o750)
	dest := filepath.Join(t.TempDir(), "restored")
	if rep := restoreAll(t, b, dest, nil, WalkOptions{}); len(rep.Failures) != 0 {
		t.Fatalf("restore into a new DEST: %v", rep.Failures)
	}
	checkRestored(t, dest, files)
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("new DEST: %v, %v; want mode 0750 from the backup root", fi.Mode(), err)
	}
}

// TestRestoreLeavesExistingDirsAlone: DEST and subdirectories that were
// there before keep their mode and owner (a 1777 DEST stays 1777) unless
// Force is set.
func TestRestoreLeavesExistingDirsAlone(t *testing.T) {
	b, _, files := setup(t, config.Defaults())
	dest := t.TempDir()
	if err := syscall.Chmod(dest, 0o1777); err != nil { // os.Chmod spells sticky differently
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dest, "sizes"), 0o711); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dest, "sizes"), 0o711)
	if os.Geteuid() == 0 {
		os.Chown(dest, 65534, 65534)
	}
	if rep := restoreAll(t, b, dest, nil, WalkOptions{}); len(rep.Failures) != 0 {
		t.Fatalf("restore: %v", rep.Failures)
	}
	checkRestored(t, dest, files)
	var st syscall.Stat_t
	syscall.Stat(dest, &st)
	if st.Mode&0o7777 != 0o1777 || (os.Geteuid() == 0 && st.Uid != 65534) {
		t.Errorf("DEST became mode %o owner %d", st.Mode&0o7777, st.Uid)
	}
	syscall.Stat(filepath.Join(dest, "sizes"), &st)
	if st.Mode&0o7777 != 0o711 {
		t.Errorf("existing subdirectory became mode %o", st.Mode&0o7777)
	}
	// With Force the backup's metadata wins.
	restoreAll(t, b, dest, nil, WalkOptions{Force: true})
	syscall.Stat(filepath.Join(dest, "sizes"), &st)
	if st.Mode&0o7777 == 0o711 {
		t.Error("Force did not give the existing subdirectory the backup's mode")
	}
}

// TestRestoreRefusesDestInBackup: DEST equal to or inside CIPHERDIR (also
// through a symlink) is refused before anything is written.
func TestRestoreRefusesDestInBackup(t *testing.T) {
	b, cipher, _ := setup(t, config.Defaults())
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(cipher, link)
	before, _ := os.ReadDir(cipher)
	for _, dest := range []string{cipher, filepath.Join(cipher, "new"), filepath.Join(link, "new"), link} {
		if _, err := Restore(context.Background(), b, dest, nil, WalkOptions{}); !errors.Is(err, ErrDestInBackup) {
			t.Errorf("restore into %s: %v, want ErrDestInBackup", dest, err)
		}
	}
	if after, _ := os.ReadDir(cipher); len(after) != len(before) {
		t.Errorf("the backup directory changed: %d entries, was %d", len(after), len(before))
	}
}

// TestRestorePathNeverFollowsSymlinks: a symlink already in DEST on the
// way to a restored path is not followed out of DEST.
func TestRestorePathNeverFollowsSymlinks(t *testing.T) {
	b, _, _ := setup(t, config.Defaults())
	dest, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dest, "sizes")); err != nil {
		t.Fatal(err)
	}
	rep := restoreAll(t, b, dest, []string{"sizes/f-1"}, WalkOptions{Force: true})
	if len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0].Err.Error(), "not a directory") {
		t.Errorf("path restore through a symlink: %v", rep.Failures)
	}
	if left, _ := os.ReadDir(outside); len(left) != 0 {
		t.Errorf("restore wrote outside DEST: %v", left)
	}
}

// TestRestoreInterruptedThenAgain: a cancelled restore leaves no temporary
// file and no half-written file; the same restore again finishes the job,
// skipping what is already in place.
func TestRestoreInterruptedThenAgain(t *testing.T) {
	b, _, files := setup(t, config.Defaults())
	dest := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var once bool
	opts := WalkOptions{Workers: 1, Progress: func(files int, bytes int64) {
		if files > 0 && !once {
			once = true
			cancel() // after the first file
		}
	}}
	rep, err := Restore(ctx, b, dest, nil, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted restore: %v", err)
	}
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), TempPrefix) {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
	first := rep.Files
	rep = restoreAll(t, b, dest, nil, WalkOptions{})
	if len(rep.Failures) != 0 {
		t.Fatalf("second run: %v", rep.Failures)
	}
	checkRestored(t, dest, files)
	if rep.Skipped < first || rep.Files+rep.Symlinks+rep.Skipped != int64(len(files))+1 {
		t.Errorf("second run restored %d and skipped %d, first run had %d of %d", rep.Files, rep.Skipped, first, len(files)+1)
	}
}

// TestRestoreBytesOnlyForFinishedFiles: the report's byte count covers the
// files that were put in place, not those that failed while written.
func TestRestoreBytesOnlyForFinishedFiles(t *testing.T) {
	b, _, files := setup(t, config.Defaults())
	dest := t.TempDir()
	// A directory in the way of one file makes it fail without Force.
	big := filepath.Join("sizes", "f-300000")
	if err := os.MkdirAll(filepath.Join(dest, big), 0o700); err != nil {
		t.Fatal(err)
	}
	rep := restoreAll(t, b, dest, nil, WalkOptions{})
	var want int64
	for rel, data := range files {
		if rel != big {
			want += int64(len(data))
		}
	}
	if len(rep.Failures) != 1 || rep.Bytes != want {
		t.Errorf("bytes %d, want %d (failures %v)", rep.Bytes, want, rep.Failures)
	}
}

// TestHostileCompanionsAndFiles: a FIFO, a symlink or an oversized file in
// place of a companion, and a FIFO in place of a file, are damage reported
// at once — never a hang, never a read through the link.
func TestHostileCompanionsAndFiles(t *testing.T) {
	long := strings.Repeat("L", 200)
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, p string)
	}{
		{"fifo", func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink", func(t *testing.T, p string) {
			if err := os.Symlink("/etc/hostname", p); err != nil {
				t.Fatal(err)
			}
		}},
		{"huge", func(t *testing.T, p string) {
			if err := os.WriteFile(p, make([]byte, 1<<20), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, cipher, _ := setup(t, config.Defaults())
			crel, _ := b.EncryptPath(long)
			comp := filepath.Join(cipher, crel+".name")
			if err := os.Remove(comp); err != nil {
				t.Fatal(err)
			}
			tc.plant(t, comp)
			rep, err := Check(context.Background(), b, WalkOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Failures) != 1 || !errors.Is(rep.Failures[0].Err, ErrDamaged) {
				t.Errorf("fsck: %v", rep.Failures)
			}
			if _, err := b.Resolve(long); !errors.Is(err, ErrDamaged) {
				t.Errorf("lookup: %v", err)
			}
		})
	}
	t.Run("fifo-file", func(t *testing.T) {
		b, cipher, _ := setup(t, config.Defaults())
		crel, _ := b.EncryptPath("sizes/f-1")
		p := filepath.Join(cipher, crel)
		os.Remove(p)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := Check(context.Background(), b, WalkOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Failures) != 1 || !errors.Is(rep.Failures[0].Err, ErrDamaged) {
			t.Errorf("fsck with a FIFO for a file: %v", rep.Failures)
		}
	})
}

// TestForeignNamesIgnored: sync tools' files in the root and in
// subdirectories are listed as foreign, never damage, never restored.
func TestForeignNamesIgnored(t *testing.T) {
	b, cipher, files := setup(t, config.Defaults())
	sizes, _ := b.EncryptPath("sizes")
	litter := []string{".stfolder", ".DS_Store", filepath.Join(sizes, "desktop.ini"), filepath.Join(sizes, "f (conflicted copy).txt")}
	for _, l := range litter {
		if err := os.WriteFile(filepath.Join(cipher, l), []byte("litter"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(cipher, ".stversions"), 0o755)
	rep, err := Check(context.Background(), b, WalkOptions{})
	if err != nil || len(rep.Failures) != 0 {
		t.Fatalf("fsck with litter: %v %v", err, rep.Failures)
	}
	if len(rep.Foreign) != len(litter)+1 {
		t.Errorf("foreign: %q", rep.Foreign)
	}
	dest := t.TempDir()
	rep = restoreAll(t, b, dest, nil, WalkOptions{})
	if len(rep.Failures) != 0 || len(rep.Foreign) != len(litter)+1 {
		t.Fatalf("restore with litter: %v, foreign %q", rep.Failures, rep.Foreign)
	}
	checkRestored(t, dest, files)
	for _, n := range []string{".stfolder", ".DS_Store", ".stversions", "sizes/desktop.ini"} {
		if _, err := os.Lstat(filepath.Join(dest, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("foreign %s was restored", n)
		}
	}
}

// TestSalvage: with Salvage, a file with a bad block comes back beside its
// name with only that block zeroed; a copy torn while the file grew comes
// back as everything the storage kept, and says the file grew. Without
// Salvage nothing of either is written.
func TestSalvage(t *testing.T) {
	const rel = "sizes/f-300000"
	for _, tc := range []struct {
		name   string
		damage func(data []byte) []byte
		want   func(orig []byte) []byte
		grew   bool
	}{
		{"flipped-block", func(d []byte) []byte {
			d[content.HeaderSize+3*(4096+16)+100] ^= 1
			return d
		}, func(o []byte) []byte {
			w := bytes.Clone(o)
			clear(w[3*4096 : 4*4096])
			return w
		}, false},
		{"torn-at-block", func(d []byte) []byte {
			return d[:content.HeaderSize+10*(4096+16)]
		}, func(o []byte) []byte { return o[:10*4096] }, true},
		{"torn-inside-block", func(d []byte) []byte {
			return d[:content.HeaderSize+10*(4096+16)+777]
		}, func(o []byte) []byte {
			// The cut block is lost: zeros where its 761 bytes were.
			return append(bytes.Clone(o[:10*4096]), make([]byte, 777-16)...)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, cipher, files := setup(t, config.Defaults())
			crel, _ := b.EncryptPath(rel)
			p := filepath.Join(cipher, crel)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, tc.damage(data), 0o644)

			plainDest := t.TempDir()
			rep := restoreAll(t, b, plainDest, nil, WalkOptions{})
			if len(rep.Failures) != 1 {
				t.Fatalf("restore: %v", rep.Failures)
			}
			if _, err := os.Lstat(filepath.Join(plainDest, rel+SalvageSuffix)); !errors.Is(err, os.ErrNotExist) {
				t.Error("salvaged without Salvage")
			}

			dest := t.TempDir()
			rep = restoreAll(t, b, dest, nil, WalkOptions{Salvage: true})
			if len(rep.Failures) != 1 || !errors.Is(rep.Failures[0].Err, ErrDamaged) || !strings.Contains(rep.Failures[0].Err.Error(), "salvaged") {
				t.Fatalf("restore with salvage: %v", rep.Failures)
			}
			if got := strings.Contains(rep.Failures[0].Err.Error(), "grew"); got != tc.grew {
				t.Errorf("grew reported %v, want %v: %v", got, tc.grew, rep.Failures[0].Err)
			}
			if _, err := os.Lstat(filepath.Join(dest, rel)); !errors.Is(err, os.ErrNotExist) {
				t.Error("the damaged file was restored under its own name")
			}
			got, err := os.ReadFile(filepath.Join(dest, rel+SalvageSuffix))
			if err != nil || !bytes.Equal(got, tc.want(files[rel])) {
				t.Errorf("salvaged %d bytes (%v), want %d of the original", len(got), err, len(tc.want(files[rel])))
			}
		})
	}
}

// TestRestoreKeepsExistingDirTimes: restoring into directories that were
// there (a path restore first, then the whole tree; or a second run) gives
// them back their own mode and times, though files were added to them.
func TestRestoreKeepsExistingDirTimes(t *testing.T) {
	b, _, files := setup(t, config.Defaults())
	dest := t.TempDir()
	old := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	if err := os.Mkdir(filepath.Join(dest, "sizes"), 0o750); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dest, "sizes"), 0o750)
	for _, p := range []string{dest, filepath.Join(dest, "sizes")} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	restoreAll(t, b, dest, []string{"sizes/f-1"}, WalkOptions{})
	if rep := restoreAll(t, b, dest, nil, WalkOptions{}); len(rep.Failures) != 0 {
		t.Fatal(rep.Failures)
	}
	checkRestored(t, dest, files)
	for _, p := range []string{dest, filepath.Join(dest, "sizes")} {
		fi, err := os.Stat(p)
		if err != nil || !fi.ModTime().Equal(old) {
			t.Errorf("%s: mtime %v, want %v (%v)", p, fi.ModTime(), old, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dest, "sizes")); fi.Mode().Perm() != 0o750 {
		t.Errorf("existing directory became %v", fi.Mode().Perm())
	}
}

// TestRestoreRemovesStaleTemps: temporary files a killed restore left are
// removed by the next run; a file that only looks similar is not.
func TestRestoreRemovesStaleTemps(t *testing.T) {
	b, _, _ := setup(t, config.Defaults())
	dest := t.TempDir()
	os.Mkdir(filepath.Join(dest, "sizes"), 0o755)
	stale := filepath.Join(dest, "sizes", TempPrefix+"0123456789abcdef")
	mine := filepath.Join(dest, "sizes", TempPrefix+"notes")
	os.WriteFile(stale, []byte("half"), 0o600)
	os.WriteFile(mine, []byte("mine"), 0o600)
	restoreAll(t, b, dest, nil, WalkOptions{})
	if _, err := os.Lstat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Lstat(mine); err != nil {
		t.Errorf("a file that only looks like a temporary one was removed: %v", err)
	}
}
