//go:build linux

package forward

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/testenv"
	"github.com/efs-project/efs/naming"
	"github.com/efs-project/efs/record"
	"golang.org/x/sys/unix"
)

// syncBuffer is a log sink the serving goroutines may write to while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mountV2 mounts v's backup, its log in the returned buffer.
func mountV2(t *testing.T, v *v2) (string, *syncBuffer) {
	t.Helper()
	var log syncBuffer
	mnt := t.TempDir()
	server, err := Mount(v.b, mnt, MountOptions{Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Unmount() })
	return mnt, &log
}

// TestMountV2Metadata: the mount of a v2 backup shows every attribute
// from the records — set-id and sticky bits, owners, nanosecond mtimes
// before 1970 and after 2038, sizes, long symlink targets, xattrs and
// ACLs — whatever the storage did to its own copies' modes, owners and
// times.
func TestMountV2Metadata(t *testing.T) {
	testenv.RequireFUSE(t)
	v := newV2(t, config.Defaults(), richTree)
	// What the storage keeps of modes, owners and times is not used.
	for _, rel := range []string{"setuid", "setgid", "owned", "xattr", "sticky", "old"} {
		p := v.cpath(rel)
		must(t, os.Chmod(p, 0o600))
		must(t, os.Chtimes(p, time0, time0))
		if asRoot {
			must(t, os.Lchown(p, 99, 99))
		}
	}
	mnt, log := mountV2(t, v)

	for _, rel := range []string{"", "setuid", "setgid", "private", "old", "future", "owned", "xattr", "sticky", "acl", "acl/inherited", "a/h1", "b/h2", "empty", "longlink", "link", "sparse"} {
		var want, got unix.Stat_t
		must(t, unix.Lstat(filepath.Join(v.plain, rel), &want))
		if err := unix.Lstat(filepath.Join(mnt, rel), &got); err != nil {
			t.Errorf("%q: %v", rel, err)
			continue
		}
		if got.Mode != want.Mode || got.Uid != want.Uid || got.Gid != want.Gid || got.Mtim != want.Mtim {
			t.Errorf("%q: mode %o, owner %d:%d, mtime %v; want %o, %d:%d, %v", rel, got.Mode, got.Uid, got.Gid, got.Mtim, want.Mode, want.Uid, want.Gid, want.Mtim)
		}
		if want.Mode&unix.S_IFMT != unix.S_IFDIR && got.Size != want.Size {
			t.Errorf("%q: size %d, want %d", rel, got.Size, want.Size)
		}
	}
	if target, err := os.Readlink(filepath.Join(mnt, "longlink")); err != nil || target != longTarget {
		t.Errorf("long target: %d bytes, %v", len(target), err)
	}
	if got, err := os.ReadFile(filepath.Join(mnt, "setuid")); err != nil || string(got) != "suid" {
		t.Errorf("setuid: %q, %v", got, err)
	}

	buf := make([]byte, 256)
	for _, c := range []struct{ rel, name string }{
		{"xattr", "user.comment"}, {"xattr", "user.empty"}, {"xattr", record.ACLAccess},
		{"acl", record.ACLDefault}, {"acl", "user.tag"},
	} {
		want := make([]byte, 256)
		wn, err := unix.Lgetxattr(filepath.Join(v.plain, c.rel), c.name, want)
		must(t, err)
		n, err := unix.Lgetxattr(filepath.Join(mnt, c.rel), c.name, buf)
		if err != nil || !bytes.Equal(buf[:n], want[:wn]) {
			t.Errorf("%s %s: %x, %v; want %x", c.rel, c.name, buf[:max(n, 0)], err, want[:wn])
		}
	}
	n, err := unix.Llistxattr(filepath.Join(mnt, "xattr"), buf)
	if got := strings.Split(strings.TrimSuffix(string(buf[:max(n, 0)]), "\x00"), "\x00"); err != nil || strings.Join(got, ",") != record.ACLAccess+",user.comment,user.empty" {
		t.Errorf("listxattr: %q, %v", got, err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(mnt, "xattr"), "user.none", buf); !errors.Is(err, unix.ENODATA) {
		t.Errorf("getxattr user.none: %v, want ENODATA", err)
	}
	// A namespace records never carry: not supported, which is what
	// makes ls stop probing security.selinux on every entry.
	if _, err := unix.Lgetxattr(filepath.Join(mnt, "xattr"), "security.selinux", buf); !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("getxattr security.selinux: %v, want EOPNOTSUPP", err)
	}
	// Still served after a name the entry lacks and one not supported:
	// no ENOSYS switched xattrs off for the mount.
	if n, err := unix.Lgetxattr(filepath.Join(mnt, "acl"), "user.tag", buf); err != nil || string(buf[:n]) != "dir" {
		t.Errorf("getxattr after ENODATA: %q, %v", buf[:max(n, 0)], err)
	}
	if s := log.String(); s != "" {
		t.Errorf("a backup in sync logged:\n%s", s)
	}
}

// time0 is a time the storage may give its copies.
var time0 = time.Unix(1, 0)

// TestMountV2OutOfSync: entries that differ from their record are shown
// as restore writes them and logged once by ciphertext path, never by
// plaintext name: a symlink the storage dropped comes from the record; a
// file of another version than the record's serves its authenticated
// content at its own size; a file the record does not list has its
// stored mode & 0777 and the mounting user as owner; one the record lists
// that the storage lacks is not there.
func TestMountV2OutOfSync(t *testing.T) {
	testenv.RequireFUSE(t)
	v := newV2(t, config.Defaults(), func(t *testing.T, plain string) {
		must(t, os.WriteFile(filepath.Join(plain, "edited-file"), []byte("version 1"), 0o640))
		must(t, unix.Setxattr(filepath.Join(plain, "edited-file"), "user.k", []byte("v"), 0))
		must(t, os.WriteFile(filepath.Join(plain, "gone-file"), []byte("soon deleted"), 0o644))
		must(t, os.WriteFile(filepath.Join(plain, "same-size"), []byte("version 1"), 0o600))
		setTime(t, filepath.Join(plain, "same-size"), 1_000_000_000, 1)
		must(t, os.Symlink("edited-file", filepath.Join(plain, "link-file")))
	})
	old, err := os.ReadFile(filepath.Join(v.cipher, naming.RecordName))
	must(t, err)
	// The next upload stops before the root's record: the storage has
	// the new entries and the old record.
	must(t, os.WriteFile(filepath.Join(v.plain, "edited-file"), []byte("version 2, longer"), 0o640))
	// Saved by rename: a new inode, so a new file ID (file_id inode).
	must(t, os.WriteFile(filepath.Join(v.plain, "new"), []byte("version 2"), 0o600))
	must(t, os.Rename(filepath.Join(v.plain, "new"), filepath.Join(v.plain, "same-size")))
	must(t, os.WriteFile(filepath.Join(v.plain, "late-file"), []byte("added"), 0o644))
	must(t, os.Chmod(filepath.Join(v.plain, "late-file"), 0o4755))
	if asRoot {
		must(t, os.Lchown(filepath.Join(v.plain, "late-file"), 1234, 5678))
	}
	v.export(t)
	must(t, os.WriteFile(filepath.Join(v.cipher, naming.RecordName), old, 0o444))
	// Storage without symlinks, and a deletion.
	must(t, os.Remove(v.cpath("link-file")))
	must(t, os.Remove(v.cpath("gone-file")))
	mnt, log := mountV2(t, v)

	ents, err := os.ReadDir(mnt)
	must(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, ","); got != "edited-file,late-file,link-file,same-size" {
		t.Errorf("listing: %s, want edited-file,late-file,link-file", got)
	}
	if target, err := os.Readlink(filepath.Join(mnt, "link-file")); err != nil || target != "edited-file" {
		t.Errorf("dropped symlink: %q, %v", target, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(mnt, "link-file"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK || st.Size != int64(len("edited-file")) || st.Ino == 0 {
		t.Errorf("dropped symlink: %+v, %v", st, err)
	}
	if got, err := os.ReadFile(filepath.Join(mnt, "edited-file")); err != nil || string(got) != "version 2, longer" {
		t.Errorf("edited: %q, %v; want the stored, authenticated content", got, err)
	}
	// Another version than the record's: the record's mode, the stored
	// size and mtime, as restore writes it.
	var plainSt unix.Stat_t
	must(t, unix.Lstat(filepath.Join(v.plain, "edited-file"), &plainSt))
	if err := unix.Lstat(filepath.Join(mnt, "edited-file"), &st); err != nil || st.Size != int64(len("version 2, longer")) || st.Mode != unix.S_IFREG|0o640 || st.Mtim != plainSt.Mtim {
		t.Errorf("edited: size %d, mode %o, mtime %v, %v; want the stored mtime %v", st.Size, st.Mode, st.Mtim, err, plainSt.Mtim)
	}
	// The same size, another file ID: found at open; the stat after it
	// has the stored mtime too.
	if got, err := os.ReadFile(filepath.Join(mnt, "same-size")); err != nil || string(got) != "version 2" {
		t.Errorf("same-size: %q, %v", got, err)
	}
	time.Sleep(1100 * time.Millisecond) // the kernel's attribute cache
	must(t, unix.Lstat(filepath.Join(v.plain, "same-size"), &plainSt))
	if err := unix.Lstat(filepath.Join(mnt, "same-size"), &st); err != nil || st.Mtim != plainSt.Mtim || st.Mode != unix.S_IFREG|0o600 {
		t.Errorf("same-size after open: mode %o, mtime %v, %v; want the stored mtime %v", st.Mode, st.Mtim, err, plainSt.Mtim)
	}
	if err := unix.Lstat(filepath.Join(mnt, "late-file"), &st); err != nil || st.Mode != unix.S_IFREG|0o755 || st.Uid != uint32(os.Getuid()) || st.Gid != uint32(os.Getgid()) {
		t.Errorf("late: mode %o, owner %d:%d, %v; want 0755 and the mounting user", st.Mode, st.Uid, st.Gid, err)
	}
	if _, err := os.Lstat(filepath.Join(mnt, "gone-file")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("gone: %v, want ENOENT", err)
	}
	// An entry the record does not list has no xattrs, and says so
	// without switching them off for the others (ENOSYS would).
	buf := make([]byte, 16)
	if _, err := unix.Lgetxattr(filepath.Join(mnt, "late-file"), "user.k", buf); !errors.Is(err, unix.ENODATA) {
		t.Errorf("getxattr of an entry not in the record: %v, want ENODATA", err)
	}
	if n, err := unix.Lgetxattr(filepath.Join(mnt, "edited-file"), "user.k", buf); err != nil || string(buf[:n]) != "v" {
		t.Errorf("getxattr after it: %q, %v", buf[:max(n, 0)], err)
	}

	s := log.String()
	for _, rel := range []string{"edited-file", "late-file", "gone-file", "same-size"} {
		if n := strings.Count(s, "path="+v.crel(rel)+" "); n != 1 {
			t.Errorf("%s (%s) logged %d times, want once:\n%s", rel, v.crel(rel), n, s)
		}
	}
	for _, name := range []string{"edited-file", "late-file", "gone-file", "link-file", "same-size"} {
		if strings.Contains(s, name) {
			t.Errorf("plaintext %q in the log:\n%s", name, s)
		}
	}
}

// TestMountV2RecordDamaged: a root whose record is gone still mounts; its
// entries are shown as if the record did not list them, and the record
// is logged once as damaged.
func TestMountV2RecordDamaged(t *testing.T) {
	testenv.RequireFUSE(t)
	v := newV2(t, config.Defaults(), func(t *testing.T, plain string) {
		must(t, os.WriteFile(filepath.Join(plain, "suid-file"), []byte("x"), 0o600))
		must(t, os.Chmod(filepath.Join(plain, "suid-file"), 0o4750))
	})
	must(t, os.Remove(filepath.Join(v.cipher, naming.RecordName)))
	mnt, log := mountV2(t, v)
	for i := range 2 {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // the kernel looks it up again
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(mnt, "suid-file"), &st); err != nil || st.Mode != unix.S_IFREG|0o750 || st.Uid != uint32(os.Getuid()) {
			t.Errorf("suid-file: mode %o, owner %d, %v; want 0750 and the mounting user", st.Mode, st.Uid, err)
		}
	}
	if n := strings.Count(log.String(), "path="+naming.RecordName+" "); n != 1 {
		t.Errorf("the missing record logged %d times, want once:\n%s", n, log.String())
	}
}
