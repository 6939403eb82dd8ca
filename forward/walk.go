package forward

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// chunkSize is how much plaintext the walkers decrypt per call: large, so
// that DecryptAt spreads the blocks over all cores.
const chunkSize = 4 << 20

// Report is what a walk found: the directories, files and symlinks that
// were intact (and, for Restore, restored), the plaintext bytes handled,
// and the problems. Problems carry plaintext paths where they could be
// recovered: show them to the user, never log them.
type Report struct {
	Dirs, Files, Symlinks int64
	Bytes                 int64
	Problems              []Problem
}

// WalkOptions configure Check and Restore.
type WalkOptions struct {
	// Progress, if set, is called after each chunk with the plaintext
	// bytes just handled (and files = 1 when a file is finished).
	Progress func(files, bytes int64)
	// Force lets Restore replace existing files and symlinks.
	Force bool
}

type walker struct {
	b    *Backup
	opts WalkOptions
	rep  Report
	buf  []byte
	buf2 []byte // second buffer for Restore's decrypt/write pipeline
}

func (w *walker) problem(rel, crel string, err error) {
	w.rep.Problems = append(w.rep.Problems, Problem{Rel: rel, CRel: crel, Err: err})
}

func (w *walker) progress(files, bytes int64) {
	w.rep.Bytes += bytes
	if w.opts.Progress != nil {
		w.opts.Progress(files, bytes)
	}
}

// Check authenticates every name, long-name companion, symlink target and
// content block of the backup.
func Check(b *Backup, opts WalkOptions) Report {
	w := &walker{b: b, opts: opts, buf: make([]byte, chunkSize)}
	root, err := b.Resolve("")
	if err != nil {
		w.problem("", "", err)
		return w.rep
	}
	w.check(root)
	return w.rep
}

func (w *walker) check(e Entry) {
	switch e.Kind {
	case Dir:
		w.rep.Dirs++
		entries, probs, err := w.b.ReadDir(e.Rel, e.CRel)
		w.rep.Problems = append(w.rep.Problems, probs...)
		if err != nil {
			w.problem(e.Rel, e.CRel, err)
			return
		}
		for _, c := range entries {
			w.check(c)
		}
	case Regular:
		f, err := w.b.Open(e.Rel, e.CRel)
		if err != nil {
			w.problem(e.Rel, e.CRel, err)
			return
		}
		defer f.Close()
		// The error names the failing block.
		if err := f.Verify(w.buf, func(n int64) { w.progress(0, n) }); err != nil {
			w.problem(e.Rel, e.CRel, err)
			return
		}
		w.rep.Files++
		w.progress(1, 0)
	case Symlink:
		if _, err := w.b.Readlink(e.Rel, e.CRel); err != nil {
			w.problem(e.Rel, e.CRel, err)
			return
		}
		w.rep.Symlinks++
	default:
		w.problem(e.Rel, e.CRel, fmt.Errorf("%w: not a directory, regular file or symlink", ErrDamaged))
	}
}

// Restore decrypts the backup, or the plaintext paths given, into dest
// (an existing directory). Each file is written under a temporary name and
// renamed into place only after all its blocks authenticated; existing
// files are left alone unless opts.Force is set. Directories, modes,
// timestamps and (when run as root) owners are restored.
func Restore(b *Backup, dest string, paths []string, opts WalkOptions) Report {
	w := &walker{b: b, opts: opts, buf: make([]byte, chunkSize), buf2: make([]byte, chunkSize)}
	if len(paths) == 0 {
		paths = []string{""}
	}
	for _, p := range paths {
		rel := strings.Trim(filepath.Clean("/"+p), "/")
		e, err := b.Resolve(rel)
		if errors.Is(err, fs.ErrNotExist) {
			err = errors.New("not in the backup")
		}
		if err != nil {
			w.problem(rel, e.CRel, err)
			continue
		}
		target := filepath.Join(dest, filepath.FromSlash(rel))
		if rel != "" {
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				w.problem(rel, e.CRel, err)
				continue
			}
		}
		w.restore(e, target)
	}
	return w.rep
}

func (w *walker) restore(e Entry, target string) {
	switch e.Kind {
	case Dir:
		w.rep.Dirs++
		w.restoreDir(e, target)
	case Regular:
		if err := w.restoreFile(e, target); err != nil {
			w.problem(e.Rel, e.CRel, err)
			return
		}
		w.rep.Files++
		w.progress(1, 0)
	case Symlink:
		if err := w.restoreSymlink(e, target); err != nil {
			w.problem(e.Rel, e.CRel, err)
			return
		}
		w.rep.Symlinks++
	default:
		w.problem(e.Rel, e.CRel, fmt.Errorf("%w: not a directory, regular file or symlink", ErrDamaged))
	}
}

func (w *walker) restoreDir(e Entry, target string) {
	if err := os.Mkdir(target, 0o700); err != nil {
		st, serr := os.Lstat(target)
		if serr != nil || !st.IsDir() {
			w.problem(e.Rel, e.CRel, fmt.Errorf("creating directory: %w", err))
			return
		}
	}
	entries, probs, err := w.b.ReadDir(e.Rel, e.CRel)
	w.rep.Problems = append(w.rep.Problems, probs...)
	if err != nil {
		w.problem(e.Rel, e.CRel, err)
	}
	for _, c := range entries {
		w.restore(c, filepath.Join(target, c.Name))
	}
	// Mode and times last: writing the children changes the mtime, and a
	// read-only directory could not have been filled.
	if err := setMeta(target, &e.Stat, false); err != nil {
		w.problem(e.Rel, e.CRel, err)
	}
}

// exists reports whether target exists and may not be replaced.
func (w *walker) exists(target string) error {
	if w.opts.Force {
		return nil
	}
	if _, err := os.Lstat(target); err == nil {
		return errors.New("already exists in the destination (use --force to replace it)")
	}
	return nil
}

func (w *walker) restoreFile(e Entry, target string) error {
	if err := w.exists(target); err != nil {
		return err
	}
	f, err := w.b.Open(e.Rel, e.CRel)
	if err != nil {
		return err
	}
	defer f.Close()
	tmp, err := os.CreateTemp(filepath.Dir(target), ".efs-restore-*")
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := w.copy(tmp, f); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	if err := setMeta(tmp.Name(), &e.Stat, false); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("renaming into place: %w", err)
	}
	ok = true
	return nil
}

// copy decrypts f into out, decrypting the next chunk while the previous
// one is being written.
func (w *walker) copy(out *os.File, f *File) error {
	if f.Size() == 0 {
		_, err := f.ReadAt(w.buf, 0) // authenticates the empty final block
		if err != nil && err != io.EOF {
			return err
		}
		return nil
	}
	type chunk struct {
		buf []byte
		n   int
	}
	free := make(chan []byte, 2)
	free <- w.buf
	free <- w.buf2
	full := make(chan chunk, 1)
	werr := make(chan error, 1)
	var failed atomic.Bool // set by the writer so the reader stops early
	go func() {
		var err error
		for c := range full {
			if err == nil {
				_, err = out.Write(c.buf[:c.n])
				if err != nil {
					err = fmt.Errorf("writing: %w", err)
					failed.Store(true)
				}
			}
			free <- c.buf
		}
		werr <- err
	}()
	var rerr error
	for off := int64(0); off < f.Size() && !failed.Load(); {
		buf := <-free
		n, err := f.ReadAt(buf, off)
		if err != nil && err != io.EOF {
			rerr = err
			break
		}
		if n == 0 {
			rerr = fmt.Errorf("%s: short read", f.CRel())
			break
		}
		full <- chunk{buf, n}
		off += int64(n)
		w.progress(0, int64(n))
	}
	close(full)
	err := <-werr
	for len(free) > 0 {
		<-free
	}
	if rerr != nil {
		return rerr
	}
	return err
}

func (w *walker) restoreSymlink(e Entry, target string) error {
	if err := w.exists(target); err != nil {
		return err
	}
	dest, err := w.b.Readlink(e.Rel, e.CRel)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(target), fmt.Sprintf(".efs-restore-%d-%d", os.Getpid(), e.Stat.Ino))
	os.Remove(tmp)
	if err := os.Symlink(dest, tmp); err != nil {
		return fmt.Errorf("creating symlink: %w", err)
	}
	if err := setMeta(tmp, &e.Stat, true); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("renaming into place: %w", err)
	}
	return nil
}

// setMeta applies the owner (as root), mode and timestamps of st to path.
func setMeta(path string, st *syscall.Stat_t, symlink bool) error {
	if os.Geteuid() == 0 {
		if err := os.Lchown(path, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("setting owner: %w", err)
		}
	}
	if !symlink {
		if err := os.Chmod(path, os.FileMode(st.Mode&0o777)|modeBits(st.Mode)); err != nil {
			return fmt.Errorf("setting mode: %w", err)
		}
	}
	ts := []unix.Timespec{
		{Sec: st.Atim.Sec, Nsec: st.Atim.Nsec},
		{Sec: st.Mtim.Sec, Nsec: st.Mtim.Nsec},
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// modeBits maps setuid, setgid and sticky to os.FileMode.
func modeBits(m uint32) os.FileMode {
	var fm os.FileMode
	if m&syscall.S_ISUID != 0 {
		fm |= os.ModeSetuid
	}
	if m&syscall.S_ISGID != 0 {
		fm |= os.ModeSetgid
	}
	if m&syscall.S_ISVTX != 0 {
		fm |= os.ModeSticky
	}
	return fm
}
