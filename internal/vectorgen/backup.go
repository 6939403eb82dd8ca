//go:build unix

package main

// The frozen backups (testdata/backups/): small plaintext trees exported
// by the real efs binary under a fixed master key and salt. Each was made
// once, with
//
//	go run ./internal/vectorgen -backup testdata/backups/v1 -format 1
//	go run ./internal/vectorgen -backup testdata/backups/v2 -format 2
//
// (v2 as root, to give its files owners) and is kept as files: every later
// efs must still read them (test/frozen). This code stays only to show how
// they were made; it refuses to overwrite an existing backup, and no test
// runs it.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// backupSettings are the fixtures' format settings: the defaults, except
// file IDs from the path in v1, because inode numbers differ on every
// machine (which v2 records hold anyway, in link groups), and the
// "version" mode in v2, which only v2 has.
func backupSettings(format int) configSettings {
	if format == 1 {
		return configSettings{version: 1, encoding: "base32", fileID: "path", nameMax: 255, blockSize: 4096}
	}
	return configSettings{version: 2, encoding: "base32", fileID: "version", nameMax: 255, blockSize: 4096}
}

// backupEntry is one entry of a fixture's plaintext tree. The metadata
// fields are set only where they are not zero (v1 sets none but modes).
type backupEntry struct {
	path   string
	size   int    // regular files
	mode   uint32 // regular files and directories; directories default to 0755
	target string // symlinks
	dir    bool
	link   string // hard link to this path

	owner  *[2]int    // uid, gid
	mtime  *time.Time // also a symlink's
	xattrs []recXattr // user xattrs and POSIX ACLs
}

// backupTree is the v1 plaintext tree: block edges, a nested directory, long
// names (a file and a directory), a non-UTF-8 name, symlinks (relative,
// absolute and dangling), a hard link, an executable, and files called like
// efs's own (efs.toml in the root, .efs.toml below it), which are ordinary
// encrypted files. Parents come before children. Empty directories are
// left out: git does not store them.
func backupTree() []backupEntry {
	longFile := strings.Repeat("a file name long enough for the long-name scheme, ", 3) + "end.txt"
	longDir := strings.Repeat("a long directory name ", 7) + "end"
	return []backupEntry{
		{path: "empty.txt", size: 0, mode: 0o644},
		{path: "one.txt", size: 1, mode: 0o644},
		{path: "block.bin", size: 4096, mode: 0o644},
		{path: "block-plus-one.bin", size: 4097, mode: 0o644},
		{path: "script.sh", size: 100, mode: 0o755},
		{path: "efs.toml", size: 30, mode: 0o644},
		{path: "caf\xe9.txt", size: 10, mode: 0o644},
		{path: longFile, size: 5000, mode: 0o644},
		{path: "hardlink.txt", link: "one.txt"},
		{path: "link-relative", target: "dir/readme.md"},
		{path: "link-absolute", target: "/nonexistent/efs-fixture"},
		{path: "dir", dir: true},
		{path: "dir/readme.md", size: 300, mode: 0o644},
		{path: "dir/.efs.toml", size: 20, mode: 0o644},
		{path: "dir/nested", dir: true},
		{path: "dir/nested/deep.bin", size: 3*4096 + 100, mode: 0o644},
		{path: "dir/nested/link-up", target: "../../one.txt"},
		{path: longDir, dir: true},
		{path: longDir + "/inside.txt", size: 50, mode: 0o644},
	}
}

// fixtureBytes is the content of the fixture file at path: a SHA-256
// counter stream keyed by the path, so no two files are alike.
func fixtureBytes(path string, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	var ctr [8]byte
	for i := uint64(0); len(out) < n; i++ {
		binary.BigEndian.PutUint64(ctr[:], i)
		h := sha256.Sum256(append([]byte(path+"\x00"), ctr[:]...))
		out = append(out, h[:]...)
	}
	return out[:n]
}

// backupTreeV2 is the v2 plaintext tree: what v1 has, and what only
// directory records carry through storage that keeps none of it — owners,
// set-id and sticky bits, nanosecond mtimes before 1970 and after 2038 (of
// symlinks and directories too), user xattrs, a default ACL and access ACLs
// (one inherited), hard-link groups (one across directories), a 3100-byte
// symlink target, and an empty directory, which git keeps because its view
// holds its record. Files called efs.toml and efs.dir are ordinary
// encrypted files.
func backupTreeV2() []backupEntry {
	longFile := strings.Repeat("a file name long enough for the long-name scheme, ", 3) + "end.txt"
	longDir := strings.Repeat("a long directory name ", 7) + "end"
	at := func(sec, nsec int64) *time.Time {
		t := time.Unix(sec, nsec)
		return &t
	}
	alice, bob, root := &[2]int{1000, 1000}, &[2]int{1001, 100}, &[2]int{0, 0}
	const undefined = 0xffffffff
	fileACL := posixACL([3]uint32{0x01, 6, undefined}, [3]uint32{0x02, 4, 1001}, [3]uint32{0x04, 4, undefined},
		[3]uint32{0x10, 4, undefined}, [3]uint32{0x20, 0, undefined})
	return []backupEntry{
		{path: "empty.txt", size: 0, mode: 0o644, owner: alice, mtime: at(1700000000, 0)},
		{path: "one.txt", size: 1, mode: 0o644, owner: alice, mtime: at(1700000001, 123456789)},
		{path: "block.bin", size: 4096, mode: 0o600, owner: bob, mtime: at(1700000002, 999999999)},
		{path: "block-plus-one.bin", size: 4097, mode: 0o640, owner: bob, mtime: at(1700000003, 1)},
		{path: "three-blocks.bin", size: 3*4096 + 100, mode: 0o644, owner: alice, mtime: at(1700000004, 0)},
		{path: "setuid-tool", size: 100, mode: 0o4755, owner: root, mtime: at(1600000000, 0)},
		{path: "setgid-tool", size: 50, mode: 0o2711, owner: &[2]int{0, 100}, mtime: at(1600000001, 0)},
		{path: "old.txt", size: 10, mode: 0o444, owner: alice, mtime: at(-315619200, 500000000)},    // 1960
		{path: "future.txt", size: 10, mode: 0o644, owner: alice, mtime: at(4102444800, 999999999)}, // 2100
		{path: "notes.txt", size: 300, mode: 0o644, owner: alice, mtime: at(1700000005, 0),
			xattrs: []recXattr{{"user.comment", []byte("draft 2")}, {"user.mime_type", []byte("text/plain")}}},
		{path: "acl.txt", size: 12, mode: 0o640, owner: alice, mtime: at(1700000006, 0),
			xattrs: []recXattr{{"system.posix_acl_access", fileACL}}},
		{path: "efs.toml", size: 30, mode: 0o644, owner: alice, mtime: at(1700000007, 0)},
		{path: "efs.dir", size: 25, mode: 0o644, owner: alice, mtime: at(1700000008, 0)},
		{path: "caf\xe9.txt", size: 10, mode: 0o644, owner: alice, mtime: at(1700000009, 0)},
		{path: longFile, size: 5000, mode: 0o644, owner: alice, mtime: at(1700000010, 0)},
		{path: "hardlink.txt", link: "one.txt"},
		{path: "pair-a", size: 33, mode: 0o600, owner: bob, mtime: at(1700000011, 0)},
		{path: "pair-b", link: "pair-a"},
		{path: "link-relative", target: "dir/readme.md", owner: alice, mtime: at(1700000012, 42)},
		{path: "link-absolute", target: "/nonexistent/efs-fixture", owner: root, mtime: at(1700000013, 0)},
		{path: "link-long", target: longTarget, owner: alice, mtime: at(1700000014, 0)},
		{path: "empty", dir: true, mode: 0o700, owner: alice, mtime: at(1700000015, 0)},
		{path: "sticky", dir: true, mode: 0o1777, owner: root, mtime: at(1700000016, 0)},
		{path: "sticky/scratch", size: 7, mode: 0o666, owner: bob, mtime: at(1700000017, 0)},
		{path: "dir", dir: true, mode: 0o755, owner: alice, mtime: at(1700000018, 0),
			xattrs: []recXattr{{"user.dirnote", []byte("kept with the directory")}}},
		{path: "dir/readme.md", size: 300, mode: 0o644, owner: alice, mtime: at(1700000019, 0)},
		{path: "dir/.efs.toml", size: 20, mode: 0o644, owner: alice, mtime: at(1700000020, 0)},
		{path: "dir/hardlink-elsewhere.txt", link: "one.txt"},
		{path: "dir/nested", dir: true, mode: 0o750, owner: bob, mtime: at(1700000021, 0)},
		{path: "dir/nested/deep.bin", size: 3*4096 + 100, mode: 0o644, owner: bob, mtime: at(1700000022, 0)},
		{path: "dir/nested/link-up", target: "../../one.txt", owner: bob, mtime: at(1700000023, 0)},
		{path: "shared", dir: true, mode: 0o2775, owner: &[2]int{0, 100}, mtime: at(1700000024, 0),
			xattrs: []recXattr{{"system.posix_acl_default", defaultACL()}}},
		// Created below the default ACL: it inherits an access ACL.
		{path: "shared/inherits.txt", size: 40, mode: 0o640, owner: alice, mtime: at(1700000025, 0)},
		{path: longDir, dir: true, mode: 0o755, owner: alice, mtime: at(1700000026, 0)},
		{path: longDir + "/inside.txt", size: 50, mode: 0o644, owner: alice, mtime: at(1700000027, 0)},
	}
}

// makeTree creates the plaintext tree under plain: every entry first
// (a directory with its default ACL, which its children inherit), then,
// children before parents, owners, modes (after the owner: chown
// clears set-id bits), xattrs (an ACL last sets the mode it implies) and
// times (after everything that changes them).
func makeTree(plain string, tree []backupEntry, cfg []byte) error {
	for _, e := range tree {
		p := filepath.Join(plain, e.path)
		var err error
		switch {
		case e.dir:
			err = os.Mkdir(p, 0o700)
			for _, x := range e.xattrs {
				if err == nil && x.name == "system.posix_acl_default" {
					// Before the children, so that they inherit it.
					err = unix.Setxattr(p, x.name, x.value, 0)
				}
			}
		case e.target != "":
			err = os.Symlink(e.target, p)
		case e.link != "":
			err = os.Link(filepath.Join(plain, e.link), p)
		default:
			err = os.WriteFile(p, fixtureBytes(e.path, e.size), 0o600)
		}
		if err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(plain, ".efs.toml"), cfg, 0o400); err != nil {
		return err
	}
	rootEntry := backupEntry{path: ".", dir: true, mode: 0o755}
	if tree[0].mtime != nil { // a v2 tree: the root's own entry too
		rootEntry.owner, rootEntry.mtime = &[2]int{0, 0}, tree[0].mtime
	}
	for i := len(tree); i >= 0; i-- {
		e := rootEntry
		if i < len(tree) {
			e = tree[i]
		}
		if e.link != "" {
			continue // its inode is set through its first path
		}
		p := filepath.Join(plain, e.path)
		if e.owner != nil {
			if err := unix.Lchown(p, e.owner[0], e.owner[1]); err != nil {
				return fmt.Errorf("chown %s: %w", e.path, err)
			}
		}
		if e.target == "" {
			mode := e.mode
			if e.dir && mode == 0 {
				mode = 0o755
			}
			if err := unix.Chmod(p, mode); err != nil {
				return fmt.Errorf("chmod %s: %w", e.path, err)
			}
		}
		for _, x := range e.xattrs {
			if err := unix.Lsetxattr(p, x.name, x.value, 0); err != nil {
				return fmt.Errorf("setting %s on %s: %w", x.name, e.path, err)
			}
		}
		if e.mtime != nil {
			ts, err := unix.TimeToTimespec(*e.mtime)
			if err != nil {
				return err
			}
			if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return fmt.Errorf("setting the times of %s: %w", e.path, err)
			}
		}
	}
	return nil
}

func writeBackup(root, dest string, format int) error {
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s exists: the frozen backup is never regenerated (make a new version instead)", dest)
	}
	tree := backupTree()
	if format == 2 {
		if os.Geteuid() != 0 {
			return errors.New("the v2 fixture gives its files owners: run as root")
		}
		tree = backupTreeV2()
	} else if format != 1 {
		return fmt.Errorf("no format %d", format)
	}
	settings := backupSettings(format)
	tmp, err := os.MkdirTemp("", "efs-fixture")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	plain := filepath.Join(tmp, "plain")
	if err := os.Mkdir(plain, 0o755); err != nil {
		return err
	}
	cfg := configText(settings, settings, "efs vectorgen -backup", kek())
	if err := makeTree(plain, tree, []byte(cfg)); err != nil {
		return err
	}

	// Export with the real binary, through the CLI like a user would.
	bin := filepath.Join(tmp, "efs")
	build := exec.Command("go", "build", "-o", bin, "./cmd/efs")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building efs: %w\n%s", err, out)
	}
	pw := filepath.Join(tmp, "pw")
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	if out, err := exec.Command(bin, "export", "-q", "--passfile", pw, plain, dest).CombinedOutput(); err != nil {
		return fmt.Errorf("efs export: %w\n%s", err, out)
	}
	version, err := exec.Command(bin, "version").Output()
	if err != nil {
		return fmt.Errorf("efs version: %w", err)
	}

	list := expectListing
	if format == 2 {
		list = expectListingV2
	}
	listing, err := list(plain)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dest+".expect", listing, 0o644); err != nil {
		return err
	}
	v := newVector("backup", "the frozen backup beside this file: test keys, never use them for data")
	v.Set("made_by", strings.TrimSpace(string(version)))
	v.Set("password", password)
	v.Set("master_key", recoveryForm(masterKey))
	v.Set("settings", strings.TrimSuffix(strings.ReplaceAll(strings.TrimPrefix(settings.canonical(), "efs-v1 config\n"), "\n", " "), " "))
	return os.WriteFile(dest+".txt", v.Marshal(), 0o644)
}

// recoveryForm is the master key as efs init prints it.
func recoveryForm(key []byte) string {
	h := hexs(key)
	groups := make([]string, 0, 8)
	for i := 0; i < len(h); i += 8 {
		groups = append(groups, h[i:i+8])
	}
	return strings.Join(groups, "-")
}

// expectListing lists the plaintext tree (without its config) as a
// restore must reproduce it, with only what git keeps of the backup:
//
//	TYPE MODE SIZE SHA256 PATH
//
// TYPE is file, dir or symlink; MODE is a file's permission bits (0644 or
// 0755: git keeps only the executable bit), "-" for the others; SIZE and
// SHA256 are of a file's content or a symlink's target, "-" for a
// directory; PATH is Go-quoted. Lines are sorted by path bytes.
func expectListing(plain string) ([]byte, error) {
	type line struct{ path, text string }
	var lines []line
	err := filepath.WalkDir(plain, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(plain, p)
		if err != nil || rel == "." || rel == ".efs.toml" {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var typ, mode, size, sum string
		switch {
		case d.IsDir():
			typ, mode, size, sum = "dir", "-", "-", "-"
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256([]byte(t))
			typ, mode, size, sum = "symlink", "-", strconv.Itoa(len(t)), hexs(h[:])
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			typ, mode, size, sum = "file", fmt.Sprintf("%04o", info.Mode().Perm()), strconv.Itoa(len(b)), hexs(h[:])
		}
		lines = append(lines, line{rel, fmt.Sprintf("%s %s %s %s %s\n", typ, mode, size, sum, strconv.Quote(rel))})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].path < lines[j].path })
	var b bytes.Buffer
	b.WriteString("# The plaintext of the frozen backup beside this file, as a restore must give it back.\n")
	b.WriteString("# TYPE MODE SIZE SHA256 PATH; see internal/vectorgen/backup.go.\n")
	for _, l := range lines {
		b.WriteString(l.text)
	}
	return b.Bytes(), nil
}

// expectListingV2 lists the v2 plaintext tree (without its config) with
// everything its records carry, as a restore must reproduce it:
//
//	TYPE MODE OWNER MTIME LINK SIZE SHA256 XATTRS PATH
//
// TYPE is file, dir or symlink; MODE the four octal digits of st_mode &
// 07777 ("-" for a symlink); OWNER uid:gid; MTIME seconds.nanoseconds;
// LINK "-" for a file with one link and a directory or symlink, else
// "linkN", N numbering the hard-link groups by their first path; SIZE and
// SHA256 as in v1; XATTRS the user xattrs and POSIX ACLs as
// name=hex(value) joined by ",", "-" for none; PATH Go-quoted. Lines are
// sorted by path bytes. test/frozen computes the same of a restored tree.
func expectListingV2(plain string) ([]byte, error) {
	type line struct{ path, text string }
	var lines []line
	groups := map[uint64]int{}
	var paths []string
	err := filepath.WalkDir(plain, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(plain, p)
		if err != nil || rel == "." || rel == ".efs.toml" {
			return err
		}
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	for _, rel := range paths {
		p := filepath.Join(plain, rel)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return nil, err
		}
		mode, link, size, sum := fmt.Sprintf("%04o", st.Mode&0o7777), "-", "-", "-"
		var typ string
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			typ = "dir"
		case unix.S_IFLNK:
			t, err := os.Readlink(p)
			if err != nil {
				return nil, err
			}
			h := sha256.Sum256([]byte(t))
			typ, mode, size, sum = "symlink", "-", strconv.Itoa(len(t)), hexs(h[:])
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			h := sha256.Sum256(b)
			typ, size, sum = "file", strconv.Itoa(len(b)), hexs(h[:])
			if st.Nlink > 1 {
				if groups[st.Ino] == 0 {
					groups[st.Ino] = len(groups) + 1
				}
				link = fmt.Sprintf("link%d", groups[st.Ino])
			}
		}
		xattrs, err := keptXattrs(p)
		if err != nil {
			return nil, err
		}
		lines = append(lines, line{rel, fmt.Sprintf("%s %s %d:%d %d.%09d %s %s %s %s %s\n", typ, mode, st.Uid, st.Gid,
			st.Mtim.Sec, st.Mtim.Nsec, link, size, sum, xattrs, strconv.Quote(rel))})
	}
	var b bytes.Buffer
	b.WriteString("# The plaintext of the frozen backup beside this file, as a restore must give it back.\n")
	b.WriteString("# TYPE MODE OWNER MTIME LINK SIZE SHA256 XATTRS PATH; see internal/vectorgen/backup.go.\n")
	for _, l := range lines {
		b.WriteString(l.text)
	}
	return b.Bytes(), nil
}

// keptXattrs is the XATTRS column: the xattrs a record keeps.
func keptXattrs(p string) (string, error) {
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz == 0 {
		return "-", err
	}
	buf := make([]byte, sz)
	if sz, err = unix.Llistxattr(p, buf); err != nil {
		return "", err
	}
	var out []string
	for _, name := range strings.Split(strings.TrimRight(string(buf[:sz]), "\x00"), "\x00") {
		if !(len(name) > len("user.") && strings.HasPrefix(name, "user.")) && name != "system.posix_acl_access" && name != "system.posix_acl_default" {
			continue
		}
		v := make([]byte, 65536)
		n, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			return "", fmt.Errorf("%s of %s: %w", name, p, err)
		}
		out = append(out, name+"="+hexs(v[:n]))
	}
	if len(out) == 0 {
		return "-", nil
	}
	sort.Strings(out)
	return strings.Join(out, ","), nil
}
