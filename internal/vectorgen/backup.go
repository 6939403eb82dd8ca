package main

// The frozen backup (testdata/backups/): a small plaintext tree exported
// by the real efs binary under a fixed master key and salt. It was made
// once, with
//
//	go run ./internal/vectorgen -backup testdata/backups/v1
//
// and is kept as files: every later efs must still read it (test/frozen).
// This code stays only to show how it was made; it refuses to overwrite
// an existing backup, and no test runs it.

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
)

// backupSettings are the fixture's format settings: the defaults, except
// file IDs from the path, because inode numbers differ on every machine.
var backupSettings = configSettings{version: 1, encoding: "base32", fileID: "path", nameMax: 255, blockSize: 4096}

// backupEntry is one entry of the fixture's plaintext tree.
type backupEntry struct {
	path   string
	size   int    // regular files
	mode   uint32 // regular files; directories are 0755
	target string // symlinks
	dir    bool
	link   string // hard link to this path
}

// backupTree is the plaintext tree: block edges, a nested directory, long
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

func writeBackup(root, dest string) error {
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s exists: the frozen backup is never regenerated (make a new version instead)", dest)
	}
	tmp, err := os.MkdirTemp("", "efs-fixture")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	plain := filepath.Join(tmp, "plain")
	if err := os.Mkdir(plain, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(plain, 0o755); err != nil {
		return err
	}
	for _, e := range backupTree() {
		p := filepath.Join(plain, e.path)
		switch {
		case e.dir:
			err = os.Mkdir(p, 0o755)
			if err == nil {
				err = os.Chmod(p, 0o755)
			}
		case e.target != "":
			err = os.Symlink(e.target, p)
		case e.link != "":
			err = os.Link(filepath.Join(plain, e.link), p)
		default:
			err = os.WriteFile(p, fixtureBytes(e.path, e.size), 0o600)
			if err == nil {
				err = os.Chmod(p, fs.FileMode(e.mode))
			}
		}
		if err != nil {
			return err
		}
	}
	cfg := configText(backupSettings, backupSettings, "efs vectorgen -backup", kek())
	if err := os.WriteFile(filepath.Join(plain, ".efs.toml"), []byte(cfg), 0o400); err != nil {
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

	listing, err := expectListing(plain)
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
	v.Set("settings", strings.TrimSuffix(strings.ReplaceAll(strings.TrimPrefix(backupSettings.canonical(), "efs-v1 config\n"), "\n", " "), " "))
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
