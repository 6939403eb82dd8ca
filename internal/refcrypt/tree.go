//go:build unix

package refcrypt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Write writes into the existing directory out the view of the plaintext
// tree plain (FORMAT.md, "The ciphertext view"): the config, if plain has
// one, as efs.toml; one directory, regular file or symlink per plaintext
// one, under its encrypted name, with a companion file beside each
// stand-in; modes and timestamps passed through (owners are the writing
// process's). Other file types are left out, as in the view. efs.toml and
// the companions are written 0644, not read-only as the view shows them, so
// that tests can damage them. In format v2 every directory gets its record,
// efs.dir (FORMAT.md, "Directory records"), also 0644. With
// s.hideMetadata() everything, the root included, gets the uniform modes
// (0600 files, writable for damage tests too) and the pseudo-mtimes of
// FORMAT.md, "Hidden metadata", and records their view mtime.
func Write(keys *Keys, s Settings, plain, out string) error {
	if err := s.check(); err != nil {
		return err
	}
	cfg, err := os.ReadFile(filepath.Join(plain, PlainConfig))
	switch {
	case err == nil:
		if err := os.WriteFile(filepath.Join(out, ViewConfig), cfg, 0o644); err != nil {
			return err
		}
		if s.hideMetadata() {
			if err := hiddenMeta(filepath.Join(out, ViewConfig), unix.S_IFREG, keys.configMtime(plain)); err != nil {
				return err
			}
		}
	case !os.IsNotExist(err):
		return err
	}
	var root unix.Stat_t
	if err := unix.Stat(plain, &root); err != nil {
		return err
	}
	w := &writer{keys: keys, s: s, plain: plain, rootDev: uint64(root.Dev)}
	if err := w.dir("", out); err != nil || !s.hideMetadata() {
		return err
	}
	return hiddenMeta(out, unix.S_IFDIR, keys.hiddenMtime("", root.Mtim))
}

// configMtime is the pseudo-mtime of efs.toml and the companions: of the
// path .efs.toml and the config's mtime (none: 0).
func (k *Keys) configMtime(plain string) unix.Timespec {
	var st unix.Stat_t
	unix.Lstat(filepath.Join(plain, PlainConfig), &st)
	return k.hiddenMtime(PlainConfig, st.Mtim)
}

type writer struct {
	keys    *Keys
	s       Settings
	plain   string
	rootDev uint64
}

// dir writes the entries of the plaintext directory at path rel into the
// view directory vdir, and in v2 its record.
func (w *writer) dir(rel, vdir string) error {
	ents, err := os.ReadDir(filepath.Join(w.plain, rel)) // sorted by name, bytewise
	if err != nil {
		return err
	}
	var rec []byte
	if rel == "" {
		var st unix.Stat_t
		if err := unix.Lstat(w.plain, &st); err != nil {
			return err
		}
		if rec, err = w.recordEntry(rec, "", "", &st, nil); err != nil {
			return err
		}
	}
	for _, de := range ents {
		if rel == "" && de.Name() == PlainConfig {
			continue
		}
		if rec, err = w.entry(rel, de.Name(), vdir, rec); err != nil {
			return err
		}
	}
	if w.s.Version < 2 {
		return nil
	}
	return w.record(rel, vdir, rec)
}

// record seals the record plaintext p of the directory at rel into
// vdir/efs.dir (FORMAT.md, "Sealing").
func (w *writer) record(rel, vdir string, p []byte) error {
	id := hmacSHA256(w.keys.fileID, []byte("efs-v2 record\x00"), binary.BigEndian.AppendUint64(nil, uint64(len(rel))), []byte(rel), p)[:16]
	var buf bytes.Buffer
	flags := byte(2)
	if w.s.padded() {
		flags |= 1
	}
	if err := w.keys.seal(&buf, bytes.NewReader(p), int64(len(p)), w.s.BlockSize, id, flags, flags, "efs-v2 record key\x00", rel); err != nil {
		return err
	}
	dst := filepath.Join(vdir, RecordName)
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil || !w.s.hideMetadata() {
		return err
	}
	return hiddenMeta(dst, unix.S_IFREG, recordMtime(id))
}

// recordEntry appends the record entry of the plaintext entry at path
// (name "" for the root's own entry) to rec (FORMAT.md, "Record plaintext").
func (w *writer) recordEntry(rec []byte, name, path string, st *unix.Stat_t, fileID []byte) ([]byte, error) {
	if w.s.Version < 2 {
		return rec, nil
	}
	be := binary.BigEndian
	var typ byte
	var target string
	size := uint64(0)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		typ, size = 1, uint64(st.Size)
	case unix.S_IFDIR:
		typ = 2
	case unix.S_IFLNK:
		t, err := os.Readlink(filepath.Join(w.plain, path))
		if err != nil {
			return nil, err
		}
		typ, target, size = 3, t, uint64(len(t))
	}
	rec = append(rec, typ, byte(len(name)))
	rec = append(rec, name...)
	rec = be.AppendUint32(rec, uint32(st.Mode)&0o7777)
	rec = be.AppendUint32(rec, st.Uid)
	rec = be.AppendUint32(rec, st.Gid)
	rec = be.AppendUint64(rec, uint64(st.Mtim.Sec))
	rec = be.AppendUint32(rec, uint32(st.Mtim.Nsec))
	rec = be.AppendUint64(rec, size)
	switch typ {
	case 1:
		rec = append(rec, fileID...)
		link := make([]byte, 16)
		if st.Nlink > 1 {
			dev := uint64(st.Dev)
			if dev == w.rootDev {
				dev = 0
			}
			link = hmacSHA256(w.keys.fileID, []byte("efs-v2 link group\x00"), be.AppendUint64(nil, dev), be.AppendUint64(nil, st.Ino))[:16]
		}
		rec = append(rec, link...)
	case 3:
		rec = append(rec, target...)
	}
	xattrs, err := keptXattrs(filepath.Join(w.plain, path), typ == 2)
	if err != nil {
		return nil, err
	}
	rec = be.AppendUint16(rec, uint16(len(xattrs)))
	for _, x := range xattrs {
		rec = append(rec, byte(len(x[0])))
		rec = append(rec, x[0]...)
		rec = be.AppendUint32(rec, uint32(len(x[1])))
		rec = append(rec, x[1]...)
	}
	return rec, nil
}

// keptXattrs are the user xattrs and POSIX ACLs of path (not followed),
// sorted by name.
func keptXattrs(path string, dir bool) ([][2]string, error) {
	sz, err := unix.Llistxattr(path, nil)
	if err != nil || sz == 0 {
		if err == unix.ENOTSUP {
			err = nil
		}
		return nil, err
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(path, buf)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, name := range strings.Split(strings.TrimSuffix(string(buf[:sz]), "\x00"), "\x00") {
		kept := len(name) > 5 && strings.HasPrefix(name, "user.") || name == "system.posix_acl_access" || dir && name == "system.posix_acl_default"
		if !kept {
			continue
		}
		n, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, err
		}
		v := make([]byte, n)
		if n, err = unix.Lgetxattr(path, name, v); err != nil {
			return nil, err
		}
		out = append(out, [2]string{name, string(v[:n])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out, nil
}

// entry writes the entry name of the plaintext directory at path parent
// into the view directory vdir, and appends its record entry to rec.
func (w *writer) entry(parent, name, vdir string, rec []byte) ([]byte, error) {
	path := name
	if parent != "" {
		path = parent + "/" + name
	}
	src := filepath.Join(w.plain, path)
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return nil, err
	}
	kind := st.Mode & unix.S_IFMT
	if kind != unix.S_IFDIR && kind != unix.S_IFREG && kind != unix.S_IFLNK {
		return rec, nil
	}
	vname, companion, err := w.keys.entryName(w.s, parent, name)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", path, err)
	}
	dst := filepath.Join(vdir, vname)
	if companion != "" {
		if err := os.WriteFile(dst+CompanionSuffix, []byte(companion), 0o644); err != nil {
			return nil, err
		}
		if w.s.hideMetadata() {
			if err := hiddenMeta(dst+CompanionSuffix, unix.S_IFREG, w.keys.configMtime(w.plain)); err != nil {
				return nil, err
			}
		}
	}
	var id []byte
	switch kind {
	case unix.S_IFDIR:
		if err := os.Mkdir(dst, 0o700); err != nil {
			return nil, err
		}
		if err := w.dir(path, dst); err != nil {
			return nil, err
		}
	case unix.S_IFREG:
		id = w.keys.fileIDFor(w.s.FileID, &st, path)
		if err := w.file(src, dst, path, &st, id); err != nil {
			return nil, fmt.Errorf("%q: %w", path, err)
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return nil, err
		}
		enc, err := w.keys.symlinkTarget(w.s, path, target)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", path, err)
		}
		if err := os.Symlink(enc, dst); err != nil {
			return nil, err
		}
	}
	if rec, err = w.recordEntry(rec, name, path, &st, id); err != nil {
		return nil, err
	}
	if w.s.hideMetadata() {
		return rec, hiddenMeta(dst, uint32(kind), w.keys.hiddenMtime(path, st.Mtim))
	}
	return rec, copyMeta(dst, &st)
}

// file writes the ciphertext of the regular file src, at path, to dst.
func (w *writer) file(src, dst, path string, st *unix.Stat_t, id []byte) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	flags := byte(0)
	if w.s.padded() {
		flags = 1
	}
	if err := w.keys.sealFile(out, in, st.Size, w.s.BlockSize, id, flags, path); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyMeta gives path the mode (unless it is a symlink) and the access and
// modification times of st; directories get theirs after their children.
func copyMeta(path string, st *unix.Stat_t) error {
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Chmod(path, uint32(st.Mode)&0o7777); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting the times of %s: %w", path, err)
	}
	return nil
}
