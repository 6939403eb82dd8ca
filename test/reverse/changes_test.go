//go:build linux

package reverse_test

// End-to-end tests of the view while the plaintext tree changes under it
// (issue 9, "Never lose a backup").

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/efs-project/efs/internal/refcrypt"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/internal/testenv"
	"github.com/efs-project/efs/naming"
)

// tryRsync runs rsync -a --delete src/ dst/ and returns its output and
// whether it succeeded.
func tryRsync(src, dst string) (string, bool) {
	out, err := exec.Command("rsync", "-a", "--delete", src+"/", dst+"/").CombinedOutput()
	return string(out), err == nil
}

// listTree returns every path below root, relative, sorted.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(root, p); rel != "." {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// cpA runs cp -a from to (the way a tree is recreated or rotated).
func cpA(t *testing.T, from, to string) {
	t.Helper()
	e2e.Run(t, "cp", "-a", from, to)
}

// TestRecreatedRoot: `rm -rf plain; cp -a src plain` under a mounted view
// left the view on the deleted directory, and the next rsync --delete
// emptied the backup, efs.toml included. The view follows the path:
// while it is missing or has no config, rsync fails and the backup keeps
// every file; once the new tree is complete, rsync mirrors it, efs.toml
// (the new root's config) included.
func TestRecreatedRoot(t *testing.T) {
	testenv.RequireFUSE(t)
	parent := t.TempDir()
	plain := filepath.Join(parent, "plain")
	for _, rel := range []string{"a.txt", "dir/b.txt", "dir/deeper/c.txt", "gone.txt"} {
		e2e.WriteFile(t, filepath.Join(plain, rel), []byte("contents of "+rel))
	}
	e2e.InitTree(t, plain)
	src := filepath.Join(parent, "src")
	cpA(t, plain, src)
	view := e2e.Mount(t, "reverse", plain)
	backup := t.TempDir()
	if out, ok := tryRsync(view, backup); !ok {
		t.Fatalf("first rsync: %s", out)
	}
	full := listTree(t, backup)
	if !slices.Contains(full, naming.ConfigName) || len(full) != 10 { // 4 files, 2 dirs, efs.toml, 3 records
		t.Fatalf("first backup holds %v", full)
	}

	// The same tree, recreated: rsync finds it all.
	if err := os.RemoveAll(plain); err != nil {
		t.Fatal(err)
	}
	cpA(t, src, plain)
	if out, ok := tryRsync(view, backup); !ok {
		t.Errorf("rsync after the root was recreated: %s", out)
	}
	if got := listTree(t, backup); !slices.Equal(got, full) {
		t.Fatalf("after the root was recreated the backup holds %v, want %v", got, full)
	}

	// Missing, then empty, then without a config: rsync fails and the
	// backup keeps everything.
	keeps := func(when string) {
		t.Helper()
		if out, ok := tryRsync(view, backup); ok {
			t.Errorf("%s: rsync succeeded:\n%s", when, out)
		}
		if got := listTree(t, backup); !slices.Equal(got, full) {
			t.Fatalf("%s: the backup holds %v, want %v", when, got, full)
		}
	}
	if err := os.RemoveAll(plain); err != nil {
		t.Fatal(err)
	}
	keeps("root removed")
	if err := os.Mkdir(plain, 0o755); err != nil {
		t.Fatal(err)
	}
	keeps("root recreated empty")
	e2e.WriteFile(t, filepath.Join(plain, "a.txt"), []byte("contents of a.txt"))
	keeps("root being filled, no config yet")

	// mv plain old; mkdir plain: the view leaves old.
	if err := os.RemoveAll(plain); err != nil {
		t.Fatal(err)
	}
	cpA(t, src, plain)
	if out, ok := tryRsync(view, backup); !ok {
		t.Fatalf("rsync of the complete tree: %s", out)
	}
	if err := os.Rename(plain, filepath.Join(parent, "old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(plain, 0o755); err != nil {
		t.Fatal(err)
	}
	keeps("root renamed away and an empty one made")

	// A new, complete tree (one file gone, one new, a new password) is
	// mirrored, with its own config as efs.toml.
	next := filepath.Join(parent, "next")
	cpA(t, src, next)
	os.Remove(filepath.Join(next, "gone.txt"))
	e2e.WriteFile(t, filepath.Join(next, "new.txt"), []byte("new"))
	e2e.MustEfs(t, "passwd", "--passfile", e2e.Passfile(t), "--new-passfile", e2e.WritePassfile(t, "another password"), next)
	// rsync's quick check compares whole seconds: a config changed in the
	// second it was made, with its size kept, would look unchanged.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(next, config.FileName), later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(plain); err != nil {
		t.Fatal(err)
	}
	cpA(t, next, plain)
	if out, ok := tryRsync(view, backup); !ok {
		t.Fatalf("rsync of the new tree: %s", out)
	}
	got := listTree(t, backup)
	if len(got) != len(full) || slices.Equal(got, full) {
		t.Errorf("the backup of the new tree holds %v", got)
	}
	want, _ := os.ReadFile(filepath.Join(plain, config.FileName))
	if shown, err := os.ReadFile(filepath.Join(backup, naming.ConfigName)); err != nil || !bytes.Equal(shown, want) {
		t.Errorf("efs.toml in the backup is not the new root's config (%v)", err)
	}
	restored := e2e.Mount(t, "mount", backup, "--passfile", e2e.WritePassfile(t, "another password"))
	e2e.DiffTree(t, plain, restored)
}

// TestGrowingFileWithSyncTools: cp, cat, tar and rsync copy a file of the view
// while a writer appends to the plaintext; every copy must be one complete
// version of the file (it decrypts to a prefix of what the writer wrote),
// never a torn one.
func TestGrowingFileWithSyncTools(t *testing.T) {
	testenv.RequireFUSE(t)
	plain := t.TempDir()
	p := filepath.Join(plain, "log")
	const tools, copies = 4, 20
	const start, step, steps = 200_000, 4001, 16 // steps appended per copy
	all := make([]byte, start+tools*copies*steps*step)
	rand.Read(all)
	e2e.WriteFile(t, p, all[:start])
	ref := refKeys(t, e2e.InitTree(t, plain))
	view := e2e.Mount(t, "reverse", plain)
	var vf string
	for rel, st := range walk(t, view) {
		if st.Mode&syscall.S_IFMT == syscall.S_IFREG && rel != naming.ConfigName && rel != naming.RecordName {
			vf = rel
		}
	}

	// Each copy kicks the writer, which appends while the copy runs.
	app := e2e.StartAppender(p, all, start, step, steps, 0)
	dst := t.TempDir()
	copiers := map[string]func(i int) (string, error){
		"cp": func(i int) (string, error) {
			out := filepath.Join(dst, fmt.Sprintf("cp%d", i))
			return out, exec.Command("cp", filepath.Join(view, vf), out).Run()
		},
		"cat": func(i int) (string, error) {
			out := filepath.Join(dst, fmt.Sprintf("cat%d", i))
			f, err := os.Create(out)
			if err != nil {
				return "", err
			}
			defer f.Close()
			cmd := exec.Command("cat", filepath.Join(view, vf))
			cmd.Stdout = f
			return out, cmd.Run()
		},
		// tar reads exactly the size it stat'ed before opening, and
		// exits 1 because the file changed as it read it.
		"tar": func(i int) (string, error) {
			out := filepath.Join(dst, fmt.Sprintf("tar%d", i))
			if err := os.Mkdir(out, 0o755); err != nil {
				return "", err
			}
			cmd := exec.Command("sh", "-c", `tar -C "$1" -cf - "$2" | tar -C "$3" -xf -`, "sh", view, vf, out)
			if b, err := cmd.CombinedOutput(); err != nil && !bytes.Contains(b, []byte("file changed as we read it")) {
				return "", fmt.Errorf("%v: %s", err, b)
			}
			return filepath.Join(out, vf), nil
		},
		"rsync": func(i int) (string, error) {
			out := filepath.Join(dst, fmt.Sprintf("rsync%d", i))
			return out, exec.Command("rsync", "-a", filepath.Join(view, vf), out).Run()
		},
	}
	for tool, copy := range copiers {
		torn := 0
		for i := 0; i < copies; i++ {
			app.Kick()
			out, err := copy(i)
			if err != nil {
				t.Errorf("%s: %v", tool, err)
				continue
			}
			ct, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := ref.OpenFile("log", ct); err != nil || len(got) < start || !bytes.Equal(got, all[:len(got)]) {
				torn++
			}
			os.Remove(out)
		}
		if torn != 0 {
			t.Errorf("%s: %d of %d copies of a growing file are torn", tool, torn, copies)
		}
	}
	if err := app.Stop(); err != nil {
		t.Fatal(err)
	}
}

// refKeys is the reference encryptor's keys for the master key efs init
// printed: the view is checked against the format, not against efs's own
// content package.
func refKeys(t testing.TB, masterKey string) *refcrypt.Keys {
	t.Helper()
	mk, err := hex.DecodeString(strings.NewReplacer("-", "", " ", "").Replace(masterKey))
	if err != nil {
		t.Fatal(err)
	}
	k, err := refcrypt.NewKeys(mk)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
