//go:build linux

package reverse

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/naming"
)

// v1Settings are format v1's defaults, with path file IDs so that
// contents do not depend on inode numbers.
func v1Settings() config.Settings {
	s := config.Defaults()
	s.Version = 1
	s.FileID = content.FileIDPath
	return s
}

// v1Populate builds a tree whose view is the same on every machine: fixed
// contents, modes and times, short and long names, nested directories,
// symlinks, a hard link, an empty file and directory, and a fake config.
func v1Populate(t *testing.T, plain string) {
	t.Helper()
	base := time.Date(2023, 1, 2, 3, 4, 5, 678901234, time.UTC)
	files := map[string]string{
		"a.txt": "alpha", "empty": "", "sub/b.bin": strings.Repeat("0123456789", 1000),
		"sub/deep/c": "c", strings.Repeat("L", 200): "long name", "sub/" + strings.Repeat("M", 160): "long too",
	}
	for rel, data := range files {
		exWrite(t, filepath.Join(plain, rel), []byte(data), base)
	}
	if err := os.Link(filepath.Join(plain, "a.txt"), filepath.Join(plain, "sub", "hard")); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"rel": "a.txt", "sub/abs": "/etc/hostname", "dangling": "no/such"} {
		if err := os.Symlink(target, filepath.Join(plain, link)); err != nil {
			t.Fatal(err)
		}
		ts := []unix.Timespec{unix.NsecToTimespec(base.UnixNano()), unix.NsecToTimespec(base.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(plain, link), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(plain, "emptydir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(plain, "a.txt"), 0o750|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	exWrite(t, filepath.Join(plain, config.FileName), []byte("# test config\n"), base)
	if err := os.Chmod(filepath.Join(plain, config.FileName), 0o600); err != nil {
		t.Fatal(err)
	}
	exFixDirTimes(t, plain, base)
}

// viewDigest describes the whole view of tree through its model — every
// name, kind, mode, link count, mtime, size (not of directories, which
// depend on the file system) and the bytes of every file and target —
// and hashes it. Inode numbers and owners are left out: they depend on
// the machine.
func viewDigest(t *testing.T, tree *Tree) string {
	t.Helper()
	var b strings.Builder
	var walk func(d Dir)
	walk = func(d Dir) {
		items, err := tree.List(d)
		if err != nil {
			t.Fatal(err)
		}
		for i := range items {
			it := &items[i]
			v := join(d.View, it.Name)
			if it.Err != nil {
				fmt.Fprintf(&b, "%s: left out: %v\n", v, it.Err)
				continue
			}
			a := it.Attr
			fmt.Fprintf(&b, "%s: kind %d mode %o nlink %d mtime %d.%09d", v, it.Kind, a.Mode, a.Nlink, a.Mtime.Sec, a.Mtime.Nsec)
			switch {
			case it.Kind != ItemEntry:
				fmt.Fprintf(&b, " size %d data %x\n", a.Size, sha256.Sum256(it.Data))
			case it.Entry.IsDir():
				b.WriteString("\n")
				walk(Dir{Rel: it.Entry.Rel, View: v})
			case it.Entry.IsSymlink():
				target, err := tree.Readlink(it.Entry.Rel)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, " size %d target %s\n", a.Size, target)
			default:
				f, err := tree.Open(it.Entry.Rel)
				if err != nil {
					t.Fatal(err)
				}
				ct := make([]byte, f.Size())
				if n, err := f.ReadAt(ct, 0); n != len(ct) {
					t.Fatalf("%s: read %d of %d bytes: %v", v, n, len(ct), err)
				}
				f.Close()
				fmt.Fprintf(&b, " size %d data %x\n", a.Size, sha256.Sum256(ct))
			}
		}
	}
	walk(Dir{})
	if os.Getenv("EFS_PRINT_VIEW") != "" {
		t.Logf("view:\n%s", b.String())
	}
	return fmt.Sprintf("%x", sha256.Sum256([]byte(b.String())))
}

// v1ViewDigest is viewDigest of v1Populate's tree as efs showed it before
// format v2 (computed with the code of commit f7e96d9, which had no
// records): a v1 tree's view must never change, or every existing
// backup would be uploaded again.
const v1ViewDigest = "5ab435163bdb2310c4773074a3601d32d07dfe65c13db2087e467e9ef5b9f1fe"

// TestV1ViewUnchanged: a v1 tree's view is byte for byte what it was
// before format v2: no records, efs.L. stand-ins, the same names,
// contents, targets and attributes.
func TestV1ViewUnchanged(t *testing.T) {
	plain := t.TempDir()
	v1Populate(t, plain)
	tree, _, _ := rvTree(t, plain, Options{Settings: v1Settings()})
	if got := viewDigest(t, tree); got != v1ViewDigest {
		t.Errorf("the v1 view changed: digest %s, want %s (EFS_PRINT_VIEW=1 prints it)", got, v1ViewDigest)
	}
	got := strings.Join(names(t, tree, Dir{}), " ")
	if !strings.Contains(got, " "+naming.LongPrefixV1) || strings.Contains(got, naming.LongPrefix) || strings.Contains(got, naming.RecordName) {
		t.Errorf("v1 root lists %v, want efs.L. stand-ins and no record", got)
	}
}

// TestLongTargets: a symlink target too long for a symlink in the view
// (over 3055 bytes) gave EIO in format v1, with no log line. v1 now
// leaves the link out, logs it once by view path and export reports it;
// v2 shows it with the efs.t. stand-in and the real target in the record.
func TestLongTargets(t *testing.T) {
	plain := t.TempDir()
	targets := map[string]int{"fits": 3055, "over": 3056, "long": 3400}
	for name, n := range targets {
		if err := os.Symlink(strings.Repeat("x", n), filepath.Join(plain, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			s := config.Defaults()
			s.Version = version
			tree, _, logs := rvTree(t, plain, Options{Settings: s})
			items, err := tree.List(Dir{})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if it.Kind != ItemEntry {
					continue
				}
				var want error
				if version == 1 && it.Entry.Plain != "fits" {
					want = ErrTargetTooLong
				}
				if it.Err != want {
					t.Errorf("%s: Err %v, want %v", it.Entry.Plain, it.Err, want)
				}
			}
			mnt := rvMount(t, tree)
			listed := rvDirents(t, mnt)
			for name, n := range targets {
				v := viewPath(tree, name)
				_, ok := listed[v]
				target, err := os.Readlink(filepath.Join(mnt, v))
				switch {
				case version == 1 && name != "fits":
					if ok || !errors.Is(err, os.ErrNotExist) {
						t.Errorf("%s: listed %v, readlink %v; want it left out", name, ok, err)
					}
				case err != nil || !ok:
					t.Errorf("%s: listed %v, readlink %v", name, ok, err)
				case name == "fits":
					if got, err := tree.namer.DecryptTarget(name, target); err != nil || len(got) != n {
						t.Errorf("%s: target decrypts to %d bytes, %v", name, len(got), err)
					}
				default:
					var st unix.Stat_t
					unix.Lstat(filepath.Join(mnt, v), &st)
					if !strings.HasPrefix(target, naming.TargetPrefix) || st.Size != int64(naming.LongNameLen) || st.Size != int64(tree.namer.TargetLen(n)) {
						t.Errorf("%s: target %q, size %d", name, target, st.Size)
					}
				}
			}
			rvDirents(t, mnt) // listed again: logged once
			if n := strings.Count(logs.String(), "leaves out"); version == 1 && n != 2 || version == 2 && n != 0 {
				t.Errorf("%d log lines about entries left out:\n%s", n, logs)
			}
			if version == 1 && (!strings.Contains(logs.String(), viewPath(tree, "long")) || !strings.Contains(logs.String(), "3055")) {
				t.Errorf("the log does not name the view path and the reason:\n%s", logs)
			}
			rep, err := Export(context.Background(), tree, exDest(t), ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if version == 1 && (len(rep.Failures) != 2 || !errors.Is(rep.Failures[0].Err, ErrTargetTooLong)) || version == 2 && len(rep.Failures) != 0 {
				t.Errorf("export failures %v", rep.Failures)
			}
		})
	}
}
