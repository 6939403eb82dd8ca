//go:build linux

// Package frozen checks that this efs still reads the frozen backups in
// testdata/backups/, which earlier versions wrote and which are never
// regenerated. It drives only the real binary (fsck and restore, no FUSE),
// so it tests what a user with an old backup would run.
package frozen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/efs-project/efs/internal/vectors"
)

// efsBin is the binary TestMain builds.
var efsBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "efs-frozen-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	efsBin = filepath.Join(dir, "efs")
	build := exec.Command("go", "build", "-o", efsBin, "../../cmd/efs")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building efs:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const backupsDir = "../../testdata/backups"

// fixture is one frozen backup and what it must restore to.
type fixture struct {
	dir       string   // the ciphertext tree
	password  string   // test keys, from <version>.txt
	masterKey string   // recovery form
	expect    []string // <version>.expect without comments
	v2        bool     // a format v2 backup, whose listing says more
}

// list describes the tree at dir in the format of the fixture's .expect.
func (f fixture) list(t *testing.T, dir string) []string {
	if f.v2 {
		return listingV2(t, dir)
	}
	return listing(t, dir)
}

func loadFixture(t *testing.T, version string) fixture {
	t.Helper()
	base := filepath.Join(backupsDir, version)
	data, err := os.ReadFile(base + ".txt")
	if err != nil {
		t.Fatal(err)
	}
	v, err := vectors.Parse(version, data)
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{dir: base, password: v.MustGet(t, "password"), masterKey: v.MustGet(t, "master_key"), v2: version != "v1"}
	data, err = os.ReadFile(base + ".expect")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			f.expect = append(f.expect, normalize(f.v2, line))
		}
	}
	if len(f.expect) < 10 {
		t.Fatalf("%s.expect lists only %d entries", version, len(f.expect))
	}
	return f
}

// copyTree copies the fixture into a fresh directory with the modes git
// records (0755 or 0644 for files by their owner's executable bit, 0755
// for directories), whatever the checkout's umask made of them, so a
// restore's modes can be compared with the listing.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			if err := os.MkdirAll(to, 0o755); err != nil {
				return err
			}
			return os.Chmod(to, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if info.Mode()&0o100 != 0 {
			mode = 0o755
		}
		if err := os.WriteFile(to, b, mode); err != nil {
			return err
		}
		return os.Chmod(to, mode)
	})
	if err != nil {
		t.Fatalf("copying the fixture: %v", err)
	}
	return dst
}

// listing describes the tree at dir in the .expect format (see
// internal/vectorgen/backup.go), one line per entry, sorted by path.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		var typ, mode, size, sum string
		switch {
		case d.IsDir():
			typ, mode, size, sum = "dir", "-", "-", "-"
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256([]byte(target))
			typ, mode, size, sum = "symlink", "-", strconv.Itoa(len(target)), hex.EncodeToString(h[:])
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			typ, mode, size, sum = "file", fmt.Sprintf("%04o", info.Mode().Perm()), strconv.Itoa(len(b)), hex.EncodeToString(h[:])
		default:
			typ, mode, size, sum = d.Type().String(), "-", "-", "-"
		}
		lines = append(lines, strings.Join([]string{typ, mode, size, sum, strconv.Quote(rel)}, " "))
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	// WalkDir visits in lexical order of names, not of whole paths.
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(pathOf(t, a), pathOf(t, b)) })
	return lines
}

// pathOf is the unquoted path of a listing line.
func pathOf(t *testing.T, line string) string {
	q := line[strings.Index(line, ` "`)+1:]
	p, err := strconv.Unquote(q)
	if err != nil {
		t.Fatalf("listing line %q: %v", line, err)
	}
	return p
}

func checkRestored(t *testing.T, f fixture, dest string) {
	t.Helper()
	got := f.list(t, dest)
	want := slices.Clone(f.expect)
	slices.SortFunc(want, func(a, b string) int { return strings.Compare(pathOf(t, a), pathOf(t, b)) })
	if slices.Equal(got, want) {
		return
	}
	for _, l := range want {
		if !slices.Contains(got, l) {
			t.Errorf("missing or different after restore: %s", l)
		}
	}
	for _, l := range got {
		if !slices.Contains(want, l) {
			t.Errorf("restored but not expected: %s", l)
		}
	}
}

type result struct {
	stdout, stderr string
	code           int
}

func runEfs(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(efsBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running efs %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func mustEfs(t *testing.T, args ...string) result {
	t.Helper()
	r := runEfs(t, args...)
	if r.code != 0 {
		t.Fatalf("efs %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func (f fixture) passfile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(f.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestV1(t *testing.T) {
	restoresEveryWay(t, loadFixture(t, "v1"))
}

// restoresEveryWay checks what every frozen backup must do, in parallel
// subtests: fsck says it is intact, and it restores to exactly its
// listing with the password and with the master key and no config (the
// defaults, and the format told by the root, read it: the writer's
// file-ID mode only changed how file IDs were chosen, and a reader takes
// them from the headers); fsck with the master key passes with and without
// the config.
func restoresEveryWay(t *testing.T, f fixture) {
	t.Run("fsck", func(t *testing.T) {
		t.Parallel()
		r := mustEfs(t, "fsck", "--passfile", f.passfile(t), copyTree(t, f.dir))
		if !strings.Contains(r.stderr, "backup is intact") {
			t.Errorf("fsck does not say the backup is intact:\n%s", r.stderr)
		}
	})
	t.Run("restore with the password", func(t *testing.T) {
		t.Parallel()
		dest := t.TempDir()
		mustEfs(t, "restore", "--passfile", f.passfile(t), copyTree(t, f.dir), dest)
		checkRestored(t, f, dest)
	})
	t.Run("restore with the master key and no config", func(t *testing.T) {
		t.Parallel()
		c := copyTree(t, f.dir)
		remove(t, filepath.Join(c, "efs.toml"))
		dest := t.TempDir()
		r := mustEfs(t, "restore", "--masterkey", f.masterKey, c, dest)
		if !strings.Contains(r.stderr, "without a usable config") {
			t.Errorf("restore without a config gives no warning:\n%s", r.stderr)
		}
		checkRestored(t, f, dest)
		mustEfs(t, "fsck", "--masterkey", f.masterKey, c)
	})
	t.Run("fsck with the master key and the config", func(t *testing.T) {
		t.Parallel()
		mustEfs(t, "fsck", "--masterkey", f.masterKey, copyTree(t, f.dir))
	})
}

// TestV1Damage covers the MUST-reject rules of FORMAT.md that have no
// vector because they need a directory or a config: each damages a copy
// of the frozen backup and expects fsck and restore to report exactly one
// failed entry (exit 9), and still restore the rest.
func TestV1Damage(t *testing.T) {
	f := loadFixture(t, "v1")
	cases := []struct {
		rule, name string
		damage     func(t *testing.T, c string) string // returns the ciphertext name fsck must name
		says       string                              // what the report must say
	}{
		{"companion-missing", "stand-in without its companion", func(t *testing.T, c string) string {
			stand := firstMatch(t, c, func(n string, d fs.DirEntry) bool {
				return strings.HasPrefix(n, "efs.L.") && d.Type().IsRegular() && !strings.HasSuffix(n, ".name")
			})
			remove(t, filepath.Join(c, stand+".name"))
			return stand
		}, "companion"},
		{"companion-missing", "companion without its stand-in", func(t *testing.T, c string) string {
			stand := firstMatch(t, c, func(n string, d fs.DirEntry) bool {
				return strings.HasPrefix(n, "efs.L.") && d.Type().IsRegular() && !strings.HasSuffix(n, ".name")
			})
			remove(t, filepath.Join(c, stand))
			return stand + ".name"
		}, "companion"},
		{"header-block-size", "header block size other than the config's", func(t *testing.T, c string) string {
			// A one-block file: 8 KiB blocks give it the same plaintext
			// size, so only the header check can object first.
			name := firstMatch(t, c, func(n string, d fs.DirEntry) bool {
				info, err := d.Info()
				return err == nil && d.Type().IsRegular() && n != "efs.toml" && !strings.HasPrefix(n, "efs.L.") && info.Size() > 40 && info.Size() <= 4136
			})
			p := filepath.Join(c, name)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if b[5] != 12 {
				t.Fatalf("%s: block shift %d, want 12", name, b[5])
			}
			b[5] = 13
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return name
		}, "block size"},
	}
	for _, tc := range cases {
		t.Run(tc.rule+": "+tc.name, func(t *testing.T) {
			t.Parallel()
			c := copyTree(t, f.dir)
			victim := tc.damage(t, c)
			pw := f.passfile(t)
			dest := t.TempDir()
			for _, args := range [][]string{{"fsck", c}, {"restore", c, dest}} {
				r := runEfs(t, append([]string{args[0], "--passfile", pw}, args[1:]...)...)
				if r.code != 9 || !strings.Contains(r.stderr, victim) || !strings.Contains(r.stderr, tc.says) {
					t.Errorf("efs %s: exit %d, want 9 naming %s and saying %q:\n%s", args[0], r.code, victim, tc.says, r.stderr)
				}
				if testing.Verbose() {
					t.Log(r.stderr)
				}
				if n := strings.Count(r.stderr, "FAILED"); n != 1 {
					t.Errorf("efs %s reported %d failures, want 1:\n%s", args[0], n, r.stderr)
				}
			}
			got := listing(t, dest)
			for _, l := range got {
				if !slices.Contains(f.expect, l) {
					t.Errorf("restored wrongly: %s", l)
				}
			}
			if len(got) != len(f.expect)-1 {
				t.Errorf("restored %d entries, want all %d but the damaged one", len(got), len(f.expect)-1)
			}
		})
	}
}

// firstMatch returns the first entry of the backup's root, by name, that
// match accepts.
func firstMatch(t *testing.T, dir string, match func(name string, d fs.DirEntry) bool) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if match(e.Name(), e) {
			return e.Name()
		}
	}
	t.Fatalf("no matching entry in %s", dir)
	return ""
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}
