//go:build linux

package frozen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// listingV2 describes the tree at dir in the format of v2.expect (see
// internal/vectorgen/backup.go): type, mode, owner, ns mtime, hard-link
// group, size and hash, the xattrs a record keeps, path. Link groups are
// numbered by their first path, so two trees compare by shape, not inode.
// Without root the owner is left out (normalize).
func listingV2(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err == nil && rel != "." {
			paths = append(paths, rel)
		}
		return err
	})
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	sort.Strings(paths)
	groups := map[uint64]int{}
	var lines []string
	for _, rel := range paths {
		p := filepath.Join(dir, rel)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		typ, mode, link, size, sum := "dir", fmt.Sprintf("%04o", st.Mode&0o7777), "-", "-", "-"
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256([]byte(target))
			typ, mode, size, sum = "symlink", "-", strconv.Itoa(len(target)), hex.EncodeToString(h[:])
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256(b)
			typ, size, sum = "file", strconv.Itoa(len(b)), hex.EncodeToString(h[:])
			if st.Nlink > 1 {
				if groups[st.Ino] == 0 {
					groups[st.Ino] = len(groups) + 1
				}
				link = fmt.Sprintf("link%d", groups[st.Ino])
			}
		default:
			typ = fmt.Sprintf("type%o", st.Mode&unix.S_IFMT)
		}
		line := fmt.Sprintf("%s %s %d:%d %d.%09d %s %s %s %s %s", typ, mode, st.Uid, st.Gid, st.Mtim.Sec, st.Mtim.Nsec,
			link, size, sum, keptXattrs(t, p), strconv.Quote(rel))
		lines = append(lines, normalize(true, line))
	}
	return lines
}

// normalize leaves the owner out of a v2 listing line when the test does
// not run as root: a restore by anyone else cannot give owners back.
func normalize(v2 bool, line string) string {
	if !v2 || os.Geteuid() == 0 {
		return line
	}
	f := strings.SplitN(line, " ", 4)
	if len(f) == 4 {
		f[2] = "-"
	}
	return strings.Join(f, " ")
}

// keptXattrs is the xattrs column of a v2 listing: user xattrs and POSIX
// ACLs, name=hex(value), sorted, "-" for none.
func keptXattrs(t *testing.T, p string) string {
	t.Helper()
	sz, err := unix.Llistxattr(p, nil)
	if err != nil {
		t.Fatalf("listing the xattrs of %s: %v", p, err)
	}
	buf := make([]byte, sz)
	if sz, err = unix.Llistxattr(p, buf); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range strings.Split(string(buf[:sz]), "\x00") {
		if !(len(name) > len("user.") && strings.HasPrefix(name, "user.")) && name != "system.posix_acl_access" && name != "system.posix_acl_default" {
			continue
		}
		v := make([]byte, 1<<16)
		n, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			t.Fatalf("%s of %s: %v", name, p, err)
		}
		out = append(out, name+"="+hex.EncodeToString(v[:n]))
	}
	if len(out) == 0 {
		return "-"
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// TestV2: the v2 backup verifies and restores to exactly v2.expect, modes,
// ns mtimes, xattrs, ACLs and hard links included (and owners, as root),
// all from its records: the copy of the backup has git's modes and fresh
// times.
func TestV2(t *testing.T) {
	f := loadFixture(t, "v2")
	restoresEveryWay(t, f)
	t.Run("storage that drops symlinks", func(t *testing.T) {
		t.Parallel()
		// The records hold the targets: a restore recreates the links
		// and reports nothing.
		c := copyTree(t, f.dir)
		n := 0
		err := filepath.WalkDir(c, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type()&fs.ModeSymlink != 0 {
				n++
				err = os.Remove(p)
			}
			return err
		})
		if err != nil || n < 4 {
			t.Fatalf("removed %d symlinks: %v", n, err)
		}
		dest := t.TempDir()
		mustEfs(t, "restore", "--passfile", f.passfile(t), c, dest)
		checkRestored(t, f, dest)
	})
}

// TestV2Damage damages a copy of the v2 backup in ways that need the
// directory (FORMAT.md, "Reading a v2 backup"): a record missing (rule
// record-missing, which has no vector) or changed is damage (exit 9), a
// file the storage dropped is out of sync (exit 11). The damage is in
// "dir" (the one view directory with a subdirectory); everything outside
// it restores exactly.
func TestV2Damage(t *testing.T) {
	f := loadFixture(t, "v2")
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		code   int
		says   string // what the report says, beside the record's or the file's ciphertext path
	}{
		{"record-missing", func(t *testing.T, dir string) { remove(t, filepath.Join(dir, "efs.dir")) }, 9, "record is missing"},
		{"record-auth: a byte of the record changed", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "efs.dir")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)-1] ^= 1
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, 9, "record failed authentication"},
		{"out of sync: a file the storage dropped", func(t *testing.T, dir string) {
			// dir/readme.md: 300 bytes, so 340 of ciphertext.
			remove(t, filepath.Join(dir, firstMatch(t, dir, func(n string, d fs.DirEntry) bool {
				info, err := d.Info()
				return err == nil && d.Type().IsRegular() && info.Size() == 340
			})))
		}, 11, "out of sync"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := copyTree(t, f.dir)
			dir := filepath.Join(c, firstMatch(t, c, func(n string, d fs.DirEntry) bool {
				if !d.IsDir() {
					return false
				}
				ents, err := os.ReadDir(filepath.Join(c, n))
				return err == nil && slices.ContainsFunc(ents, func(e fs.DirEntry) bool { return e.IsDir() })
			}))
			tc.damage(t, dir)
			pw := f.passfile(t)
			dest := t.TempDir()
			for _, args := range [][]string{{"fsck", c}, {"restore", c, dest}} {
				r := runEfs(t, append([]string{args[0], "--passfile", pw}, args[1:]...)...)
				if r.code != tc.code || !strings.Contains(r.stderr, tc.says) || !strings.Contains(r.stderr, filepath.Base(dir)+"/") {
					t.Errorf("efs %s: exit %d, want %d saying %q about %s:\n%s", args[0], r.code, tc.code, tc.says, filepath.Base(dir), r.stderr)
				}
				if n := strings.Count(r.stderr, "FAILED") + strings.Count(r.stderr, "DIFFERS"); n != 1 {
					t.Errorf("efs %s reported %d entries, want 1:\n%s", args[0], n, r.stderr)
				}
				if testing.Verbose() {
					t.Log(r.stderr)
				}
			}
			// Outside the directory everything restores exactly; inside,
			// a file the storage dropped is missing, and with a damaged
			// record the entries are still there, with what the storage
			// kept of their metadata.
			got := f.list(t, dest)
			var paths []string
			for _, l := range got {
				paths = append(paths, pathOf(t, l))
			}
			for _, l := range f.expect {
				p := pathOf(t, l)
				inside := p == "dir" || strings.HasPrefix(p, "dir/")
				switch {
				case !inside && !slices.Contains(got, l):
					t.Errorf("outside the damaged directory, missing or different after restore: %s", l)
				case inside && tc.code == 11 && p != "dir/readme.md" && !slices.Contains(got, l):
					t.Errorf("beside the dropped file, missing or different after restore: %s", l)
				case inside && tc.code == 9 && !slices.Contains(paths, p):
					t.Errorf("not restored below a damaged record: %s", l)
				}
			}
			if tc.code == 11 && slices.Contains(paths, "dir/readme.md") {
				t.Error("the dropped file was restored")
			}
		})
	}
}
