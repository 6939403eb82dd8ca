package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/efs-project/efs/internal/sys/syscall"

	"github.com/efs-project/efs/internal/sys/unix"
	"github.com/efs-project/efs/internal/treewrite"
	"github.com/efs-project/efs/record"
)

// TempPrefix starts the names of files Restore is still writing. An
// interrupted run removes its own; one killed outright leaves them, and the
// next run over the same directory removes them.
const TempPrefix = ".efs-restore-"

// ErrExists: Restore found a different file or symlink under a name it was
// to write, and WalkOptions.Force was not set.
var ErrExists = errors.New("a different entry already exists in the destination")

// ErrDestInBackup: DEST is CIPHERDIR or lies inside it, where plaintext
// would land in the backup folder (and maybe be synced to the storage).
var ErrDestInBackup = errors.New("the destination is inside the backup directory")

// Restore decrypts the backup, or the plaintext paths given, into dest,
// creating dest when it does not exist. Each file is written under a
// temporary name and renamed into place only after every block
// authenticated and its metadata is set. A file or symlink already in dest
// exactly as the backup has it (same size and mtime, or same target) is
// skipped, so running an interrupted restore again finishes it; a
// different one is left alone unless opts.Force is set. Directories that
// already existed keep their mode, owner and times unless opts.Force is
// set.
// Modes, times and (as root) owners are restored; nothing in dest is ever
// reached through a symlink. Runs of zeros in files become holes.
//
// From a v2 backup every mode (set-id and sticky bits included), owner,
// mtime, user xattr and ACL comes from the directory records, never from
// the storage; hard links are linked again once their files are written,
// and symlinks are recreated from the records even where the storage
// dropped them. An entry the record does not list gets the stored mode
// bits 0777 at most, no owner and the stored mtime. From a v1 backup the
// metadata is the storage's (Report.Unauthenticated).
//
// The error is for what stopped the whole run (dest unusable, ctx
// cancelled); entries that failed are in the report.
func Restore(ctx context.Context, b *Backup, dest string, paths []string, opts WalkOptions) (Report, error) {
	tw := &treewrite.Writer{TempPrefix: TempPrefix, Owners: os.Geteuid() == 0, XattrKinds: record.KeptXattr, Sparse: true}
	root, created, err := tw.OpenRoot(dest, b.checkDest)
	if errors.Is(err, ErrDestInBackup) {
		return Report{}, err
	}
	if err != nil {
		return Report{}, fmt.Errorf("destination: %w", err)
	}
	defer root.Close()
	w := newWalker(ctx, b, opts)
	if len(paths) == 0 {
		paths = []string{""}
	}
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		w.restorePath(root, created, strings.Trim(path.Clean("/"+p), "/"))
	}
	if ctx.Err() == nil {
		w.relink(root)
	}
	return w.finish()
}

// checkDest refuses a destination inside the backup directory (or a new
// one to be made there).
func (b *Backup) checkDest(fd int, parent bool) error {
	cfd, err := unix.Open(b.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the backup: %w", err)
	}
	defer unix.Close(cfd)
	inside, err := treewrite.Within(fd, cfd)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	if inside {
		return ErrDestInBackup
	}
	return nil
}

// restorePath restores the plaintext path rel ("" for everything) below
// root, creating the directories on the way.
func (w *walker) restorePath(root *treewrite.Dir, rootCreated bool, rel string) {
	chain, err := w.b.ResolveChain(rel)
	e := chain[len(chain)-1]
	for i := 1; i < len(chain); i++ {
		w.recordErr(chain[i-1], chain[i])
	}
	if errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrOutOfSync) {
		err = errors.New("not in the backup")
	}
	if err != nil {
		w.fail(rel, e.CRel, err)
		return
	}
	if rel == "" {
		w.s.run(func() { w.restoreDir(root, rootCreated, e, nil, false) })
		return
	}
	// Walk down to the parent, by fd, without following symlinks. Every
	// directory on the way gets its metadata last: the backup's if this
	// restore made it (or Force says so), else what it had before.
	names := strings.Split(rel, "/")
	var fixes []fixDir
	var opened []*treewrite.Dir
	defer func() {
		for i := len(fixes) - 1; i >= 0; i-- {
			if err := fixes[i].dir.SetMeta(fixes[i].m); err != nil {
				w.fail(fixes[i].e.Rel, fixes[i].e.CRel, fmt.Errorf("destination: %w", err))
			}
		}
		for _, d := range opened {
			d.Close()
		}
	}()
	fix := func(d *treewrite.Dir, created bool, e Entry) bool {
		m := w.meta(&e)
		if !created && !w.opts.Force {
			saved, err := d.Saved()
			if err != nil {
				w.fail(e.Rel, e.CRel, fmt.Errorf("destination: %w", err))
				return false
			}
			m = saved
		}
		if !created {
			if err := d.Writable(); err != nil {
				w.fail(e.Rel, e.CRel, fmt.Errorf("destination: %w", err))
				return false
			}
		}
		fixes = append(fixes, fixDir{d, m, e})
		return true
	}
	if !fix(root, rootCreated, chain[0]) {
		return
	}
	dir := root
	for i, name := range names[:len(names)-1] {
		crumb := chain[i+1] // the backup directory matching the next dir
		sub, created, err := dir.Sub(w.mapName(crumb.Rel, name), false)
		if err != nil {
			w.fail(crumb.Rel, crumb.CRel, destErr(err))
			return
		}
		opened = append(opened, sub)
		if !fix(sub, created, crumb) {
			return
		}
		dir = sub
	}
	// The deferred SetMeta runs once the whole entry is in place.
	w.s.run(func() { w.restoreEntry(dir, names[len(names)-1], e, nil) })
}

// fixDir is a directory on the way to a restored path, and the metadata it
// gets once the path is in place.
type fixDir struct {
	dir *treewrite.Dir
	m   treewrite.Meta
	e   Entry
}

// destErr words a destination error.
func destErr(err error) error {
	if errors.Is(err, treewrite.ErrNotDir) {
		return errors.New("exists in the destination and is not a directory (a symlink is never followed)")
	}
	return fmt.Errorf("destination: %w", err)
}

// restoreEntry restores e as name inside dir (a task of the walk), and
// then counts it finished in up, the directory waiting for it: a
// directory once everything below it is in place.
func (w *walker) restoreEntry(dir *treewrite.Dir, name string, e Entry, up *treewrite.Pending) {
	if w.ctx.Err() != nil {
		up.Finish()
		return
	}
	name = w.mapName(e.Rel, name)
	w.countXattrsLost(e)
	switch e.Kind {
	case Dir:
		sub, created, err := dir.Sub(name, w.opts.Force)
		if err != nil {
			w.fail(e.Rel, e.CRel, destErr(err))
			break
		}
		w.restoreDir(sub, created, e, up, true)
		return // restoreDir finishes it in up
	case Regular:
		w.restoreFile(dir, name, e)
	case Symlink:
		w.restoreSymlink(dir, name, e)
	default:
		w.fail(e.Rel, e.CRel, fmt.Errorf("%w: not a directory, regular file or symlink", ErrDamaged))
	}
	up.Finish()
}

// restoreDir fills dir from the backup directory e: it queues e's entries
// and, once the last of them is in place, gives dir e's metadata if
// Restore created it (or Force says so), closes it if own is set, and
// counts it finished in up.
func (w *walker) restoreDir(dir *treewrite.Dir, created bool, e Entry, up *treewrite.Pending, own bool) {
	end := func() {
		if own {
			dir.Close()
		}
		up.Finish()
	}
	w.count(func(r *Report) { r.Dirs++ })
	m := w.meta(&e)
	if !created {
		// A directory that was there keeps what it had, unless Force.
		if !w.opts.Force {
			saved, err := dir.Saved()
			if err != nil {
				w.fail(e.Rel, e.CRel, fmt.Errorf("destination: %w", err))
				end()
				return
			}
			m = saved
		}
		if err := dir.Writable(); err != nil {
			w.fail(e.Rel, e.CRel, fmt.Errorf("destination: %w", err))
			end()
			return
		}
	}
	l, err := w.b.readDir(e.Rel, e.CRel, false)
	if err != nil {
		w.fail(e.Rel, e.CRel, err)
	}
	w.listed(l)
	if !created {
		// Temporary files of a killed run, unless an entry is so named.
		names := make(map[string]bool, len(l.Entries))
		for _, c := range l.Entries {
			names[destName(c.Name)] = true
		}
		dir.RemoveTemps(func(n string) bool { return names[n] })
	}
	// Metadata last, once everything below is in place: entries change
	// the directory's mtime, and a read-only one could not be filled.
	// Its entries, and the listing, finished below.
	p := treewrite.NewPending(up, int64(len(l.Entries))+1, func() {
		if err := dir.SetMeta(m); err != nil {
			w.fail(e.Rel, e.CRel, fmt.Errorf("destination: %w", err))
		}
		if own {
			dir.Close()
		}
	})
	// The last first, so that they come out of the queue in name order.
	for i := len(l.Entries) - 1; i >= 0; i-- {
		c := l.Entries[i]
		w.s.push(func() { w.restoreEntry(dir, c.Name, c, p) })
	}
	p.Finish()
}

// meta is the metadata Restore gives an entry: in a v2 backup the
// record's, or for an entry it does not list the stored mode bits 0777
// at most, no owner and the stored mtime (storedMtime); in v1 the
// storage's.
func (w *walker) meta(e *Entry) treewrite.Meta {
	st := &e.Stat
	mtime := unix.Timespec{Sec: Mtim(st).Sec, Nsec: Mtim(st).Nsec}
	if w.b.Format() < 2 {
		return treewrite.Meta{
			Perm: uint32(st.Mode) & 0o7777, Uid: st.Uid, Gid: st.Gid,
			Atime: unix.Timespec{Sec: Atim(st).Sec, Nsec: Atim(st).Nsec}, Mtime: mtime,
		}
	}
	// Records keep no atime: it stays the time of the restore.
	omit := unix.Timespec{Nsec: treewrite.UtimeOmit}
	r := e.Meta
	if r == nil {
		return treewrite.Meta{Perm: uint32(st.Mode) & 0o777, NoOwner: true, Atime: omit, Mtime: w.storedMtime(st)}
	}
	m := treewrite.Meta{
		Perm: r.Mode, Uid: r.UID, Gid: r.GID, Atime: omit,
		Mtime:     unix.Timespec{Sec: r.MtimeSec, Nsec: int64(r.MtimeNsec)},
		SetXattrs: xattrsRestored, Xattrs: make([]treewrite.Xattr, len(r.Xattrs)),
	}
	for i, x := range r.Xattrs {
		m.Xattrs[i] = treewrite.Xattr{Name: x.Name, Value: x.Value}
	}
	return m
}

// storedMtime is the mtime of an entry whose time comes from the storage
// (v2: one its record does not list, or another version than it lists).
// With hidden metadata the storage holds a pseudo-mtime, not a time
// (docs/FORMAT.md, "Hidden metadata"): the entry keeps the time of the
// restore.
func (w *walker) storedMtime(st *syscall.Stat_t) unix.Timespec {
	if w.b.settings.HideMetadata() {
		return unix.Timespec{Nsec: treewrite.UtimeOmit}
	}
	return unix.Timespec{Sec: Mtim(st).Sec, Nsec: Mtim(st).Nsec}
}

// size is the plaintext size of the file e: its record's in v2, else the
// stored one (a padded file's trailer, read now if the listing did not).
func (w *walker) size(e *Entry) int64 {
	switch {
	case e.Meta != nil:
		return int64(e.Meta.Size)
	case e.SizeUnread:
		if n, err := w.b.paddedSize(e.Rel, e.CRel); err == nil {
			return n
		}
		return -1 // not up to date; the open that follows reports why
	}
	return e.Stat.Size
}

// restoreFile decrypts one file into dir/name.
func (w *walker) restoreFile(dir *treewrite.Dir, name string, e Entry) {
	m := w.meta(&e)
	if dir.UpToDate(name, w.size(&e), m) {
		w.count(func(r *Report) { r.Skipped++ })
		w.opts.Progress.Add(1, 0)
		w.linked(e)
		return
	}
	f, err := w.b.Open(e.Rel, e.CRel)
	if err != nil {
		w.fail(e.Rel, e.CRel, w.salvage(dir, name, e, err))
		return
	}
	defer f.Close()
	inSync := true
	if err := f.CheckRecord(e.Meta); err != nil {
		// Another version than the record lists: its content, with the
		// record's mode, owner and xattrs, but its own mtime, so it is
		// not taken for the version the record lists.
		w.fail(e.Rel, e.CRel, err)
		inSync = false
		m.Mtime = w.storedMtime(&e.Stat)
	}
	err = dir.WriteFile(w.ctx, name, m, w.opts.Force, func(out io.Writer) error {
		return w.decrypt(out, f)
	})
	if errors.Is(err, treewrite.ErrExists) {
		err = ErrExists
	}
	if err != nil && w.ctx.Err() == nil {
		err = w.salvage(dir, name, e, err)
	}
	if err == nil && inSync {
		w.linked(e)
	}
	w.fileDone(e, f.Size(), err)
}

// salvage, when WalkOptions.Salvage is set and err is damage, writes what
// authenticates of e as name+SalvageSuffix, and returns err with what was
// salvaged; otherwise it returns err as it is.
func (w *walker) salvage(dir *treewrite.Dir, name string, e Entry, err error) error {
	if !errors.Is(err, ErrDamaged) {
		return err
	}
	if !w.opts.Salvage {
		w.count(func(r *Report) { r.Salvageable++ })
		return err
	}
	var s Salvaged
	serr := dir.WriteFile(w.ctx, name+SalvageSuffix, w.meta(&e), w.opts.Force, func(out io.Writer) error {
		var err error
		s, err = w.b.Salvage(w.ctx, e.Rel, e.CRel, out)
		return err
	})
	if serr != nil {
		return fmt.Errorf("%w; nothing salvaged: %w", err, serr)
	}
	return fmt.Errorf("%w; %s into the same name + %s", err, s, SalvageSuffix)
}

// restoreSymlink recreates one symlink as dir/name: in a v2 backup from
// its record, also when the stored link disagrees (which is reported).
func (w *walker) restoreSymlink(dir *treewrite.Dir, name string, e Entry) {
	target, err := w.b.Target(e)
	if err != nil {
		w.fail(e.Rel, e.CRel, err)
		if !outOfSync(err) || target == "" {
			return
		}
	}
	m := w.meta(&e)
	if dir.LinkUpToDate(name, target, m) {
		w.count(func(r *Report) { r.Skipped++ })
		return
	}
	err = dir.Symlink(name, target, m, w.opts.Force)
	if errors.Is(err, treewrite.ErrExists) {
		err = ErrExists
	}
	if err != nil {
		w.fail(e.Rel, e.CRel, err)
		return
	}
	w.count(func(r *Report) { r.Symlinks++ })
}

// linkKey is one hard-link group of the records, and one version of its
// file: members listed with another mtime or size (the file changed
// between the listings of their directories) are not linked together.
type linkKey struct {
	group [record.LinkIDSize]byte
	sec   int64
	nsec  uint32
	size  uint64
}

// linkMember is a file restored in a hard-link group.
type linkMember struct{ rel, crel string }

// linked notes the file e, restored or found in place and in sync with
// its record, in its hard-link group.
func (w *walker) linked(e Entry) {
	if e.Meta == nil || !e.Meta.Linked() {
		return
	}
	k := linkKey{e.Meta.Link, e.Meta.MtimeSec, e.Meta.MtimeNsec, e.Meta.Size}
	w.mu.Lock()
	if w.links == nil {
		w.links = make(map[linkKey][]linkMember)
	}
	w.links[k] = append(w.links[k], linkMember{e.Rel, e.CRel})
	w.mu.Unlock()
}

// relink, once every file is written, makes the members of each hard-link
// group hard links of the first by path, each atomically. The directories
// keep the modes and times the restore gave them.
func (w *walker) relink(root *treewrite.Dir) {
	dirs := map[string]*treewrite.Dir{"": root}
	defer func() {
		for rel, d := range dirs {
			if rel != "" && d != nil {
				d.Close()
			}
		}
	}()
	// Restore puts every entry at its plaintext path below root.
	var open func(rel string) (*treewrite.Dir, error)
	open = func(rel string) (*treewrite.Dir, error) {
		if d, ok := dirs[rel]; ok {
			return d, nil
		}
		parent, err := open(parentOf(rel))
		if err != nil {
			return nil, err
		}
		d, err := parent.Open(destName(path.Base(rel)))
		if err != nil {
			return nil, err
		}
		dirs[rel] = d
		return d, nil
	}
	for _, members := range w.links {
		if len(members) < 2 {
			continue
		}
		sort.Slice(members, func(i, j int) bool { return members[i].rel < members[j].rel })
		first := members[0]
		src, err := open(parentOf(first.rel))
		if err != nil {
			w.fail(first.rel, first.crel, destErr(err))
			continue
		}
		for _, m := range members[1:] {
			if w.ctx.Err() != nil {
				return
			}
			d, err := open(parentOf(m.rel))
			if err == nil {
				err = relinkOne(d, src, destName(path.Base(first.rel)), destName(path.Base(m.rel)))
			}
			if err != nil {
				w.fail(m.rel, m.crel, fmt.Errorf("restoring its hard link: %w", destErr(err)))
			}
		}
	}
}

// parentOf is the path of the directory holding rel ("" for the root).
func parentOf(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

// relinkOne replaces name in d by a hard link of srcName in src, and gives
// d back its mode and times (a link and a rename change its mtime).
func relinkOne(d, src *treewrite.Dir, srcName, name string) error {
	saved, err := d.Saved()
	if err != nil {
		return err
	}
	if err := d.Writable(); err != nil {
		return err
	}
	_, err = d.Link(src, srcName, name)
	if serr := d.SetMeta(saved); err == nil {
		err = serr
	}
	return err
}
