package refcrypt

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Write writes into the existing directory out the view of the plaintext
// tree plain (FORMAT.md, "The ciphertext view"): the config, if plain has
// one, as efs.toml; one directory, regular file or symlink per plaintext
// one, under its encrypted name, with a companion file beside each
// stand-in; modes and timestamps passed through (owners are the writing
// process's). Other file types are left out, as in the view. efs.toml and
// the companions are written 0644, not read-only as the view shows them, so
// that tests can damage them.
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
	case !os.IsNotExist(err):
		return err
	}
	w := &writer{keys: keys, s: s, plain: plain}
	return w.dir("", out)
}

type writer struct {
	keys  *Keys
	s     Settings
	plain string
}

// dir writes the entries of the plaintext directory at path rel into the
// view directory vdir.
func (w *writer) dir(rel, vdir string) error {
	ents, err := os.ReadDir(filepath.Join(w.plain, rel))
	if err != nil {
		return err
	}
	for _, de := range ents {
		if rel == "" && de.Name() == PlainConfig {
			continue
		}
		if err := w.entry(rel, de.Name(), vdir); err != nil {
			return err
		}
	}
	return nil
}

// entry writes the entry name of the plaintext directory at path parent
// into the view directory vdir.
func (w *writer) entry(parent, name, vdir string) error {
	path := name
	if parent != "" {
		path = parent + "/" + name
	}
	src := filepath.Join(w.plain, path)
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return err
	}
	kind := st.Mode & unix.S_IFMT
	if kind != unix.S_IFDIR && kind != unix.S_IFREG && kind != unix.S_IFLNK {
		return nil
	}
	vname, companion, err := w.keys.entryName(w.s, parent, name)
	if err != nil {
		return fmt.Errorf("%q: %w", path, err)
	}
	dst := filepath.Join(vdir, vname)
	if companion != "" {
		if err := os.WriteFile(dst+CompanionSuffix, []byte(companion), 0o644); err != nil {
			return err
		}
	}
	switch kind {
	case unix.S_IFDIR:
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		if err := w.dir(path, dst); err != nil {
			return err
		}
	case unix.S_IFREG:
		if err := w.file(src, dst, path, &st); err != nil {
			return fmt.Errorf("%q: %w", path, err)
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		enc, err := w.keys.symlinkTarget(path, target)
		if err != nil {
			return fmt.Errorf("%q: %w", path, err)
		}
		if err := os.Symlink(enc, dst); err != nil {
			return err
		}
	}
	return copyMeta(dst, &st)
}

// file writes the ciphertext of the regular file src, at path, to dst.
func (w *writer) file(src, dst, path string, st *unix.Stat_t) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	id := w.keys.fileIDFor(w.s.FileID, st.Ino, path)
	if err := w.keys.sealFile(out, in, st.Size, w.s.BlockSize, id, path); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyMeta gives path the mode (unless it is a symlink) and the access and
// modification times of st; directories get theirs after their children.
func copyMeta(path string, st *unix.Stat_t) error {
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Chmod(path, st.Mode&0o7777); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting the times of %s: %w", path, err)
	}
	return nil
}
