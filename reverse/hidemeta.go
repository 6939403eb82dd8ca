package reverse

// Hidden metadata (efs init --hide-metadata; docs/FORMAT.md, "Hidden
// metadata"): the view shows no real mode, owner or time of anything. Every
// item has the uniform mode of its type, the serving process's user and
// group, and a keyed pseudo-mtime of its path and real mtime as every
// timestamp: equal while the real mtime is unchanged, different when it
// changes, so the quick checks of rsync and rclone still move exactly the
// changed files. The real values travel only in the sealed directory
// records. The model applies this once, where items get their attributes
// (items.go, dirrecord.go), so FUSE, export and serve cannot disagree.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"os"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/sys/unix"
	"github.com/efs-project/efs/record"
)

// Uniform permission bits of the view with hidden metadata. Owner-only and
// writable, although the view itself is read-only (a "ro" mount, and
// export writes only its destination): what sync tools copy from it must
// stay writable and removable by its owner, so that the next sync can
// replace files and delete what the plaintext no longer has. 0400/0500
// would make `rm -r` and rsync --delete fail on every copy of the view.
const (
	hiddenFilePerm = 0o600
	hiddenDirPerm  = 0o700
	hiddenLinkPerm = 0o777 // what Linux shows for every symlink
)

// hiddenMtimeLabel starts the HMAC input of a pseudo-mtime.
const hiddenMtimeLabel = "efs-v2 hidden mtime\x00"

// hiddenMtime is the pseudo-mtime, in seconds (nanoseconds 0), that the
// view shows for the plaintext entry at path with the real mtime: the
// first four bytes of HMAC-SHA256(file_id_key, label || uint32be(len(path))
// || path || uint64be(sec) || uint32be(nsec)), 30 bits of them added to
// 2000-01-01. The length prefix keeps path and time apart; the key makes it
// reveal nothing about the real time, even to someone who guesses it.
func hiddenMtime(fileIDKey []byte, path string, mtime unix.Timespec) int64 {
	m := hmac.New(sha256.New, fileIDKey)
	var b [12]byte
	m.Write([]byte(hiddenMtimeLabel))
	binary.BigEndian.PutUint32(b[:4], uint32(len(path)))
	m.Write(b[:4])
	m.Write([]byte(path))
	binary.BigEndian.PutUint64(b[:8], uint64(mtime.Sec))
	binary.BigEndian.PutUint32(b[8:], uint32(mtime.Nsec))
	m.Write(b[:])
	return record.ViewTime(m.Sum(nil))
}

// hiddenOwner is who the view shows as every item's owner when it hides
// metadata: the user and group of the process serving it (the mounting
// user; export writes as that user and never chowns to anyone else).
type hiddenOwner struct{ uid, gid uint32 }

// hiddenOwnerOf is the owner the view of settings s shows for every item,
// nil if the view shows real owners.
func hiddenOwnerOf(s config.Settings) *hiddenOwner {
	if !s.HideMetadata() {
		return nil
	}
	return &hiddenOwner{uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}
}

// HidesMetadata reports whether the view hides modes, owners and times.
func (t *Tree) HidesMetadata() bool { return t.hidden != nil }

// hideMode gives a, in a view that hides metadata, the uniform mode of its
// type and the serving user as owner; its times stay.
func (t *Tree) hideMode(a *Attr) {
	if t.hidden == nil {
		return
	}
	perm := uint32(hiddenFilePerm)
	switch a.Type() {
	case unix.S_IFDIR:
		perm = hiddenDirPerm
	case unix.S_IFLNK:
		perm = hiddenLinkPerm
	}
	a.Mode = a.Type() | perm
	a.Uid, a.Gid = t.hidden.uid, t.hidden.gid
}

// hide gives a, in a view that hides metadata, the uniform mode and owner
// (hideMode) and as every timestamp the pseudo-mtime of path and the real
// mtime.
func (t *Tree) hide(a *Attr, path string, mtime unix.Timespec) {
	if t.hidden == nil {
		return
	}
	t.hideMode(a)
	mt := unix.Timespec{Sec: hiddenMtime(t.keys.FileID(), path, mtime)}
	a.Atime, a.Mtime, a.Ctime = mt, mt, mt
}

// hideConfigTimes gives a, the attributes of efs.toml or a companion in a
// view that hides metadata, the pseudo-mtime of the plaintext config's
// path, ".efs.toml" (which no entry has: the root's .efs.toml is shown as
// efs.toml only), and of the config file's real mtime (cfg nil: none, the
// time zero). Companions have always taken the config's times: their
// bytes never change with anything else.
func (t *Tree) hideConfigTimes(a *Attr, cfg *configFile) {
	var mtime unix.Timespec
	if cfg != nil {
		mtime = cfg.st.Mtim
	}
	t.hide(a, config.FileName, mtime)
}
