package reverse

// A directory's record is computed from its listing (names and lstat),
// which every computation reads anyway, and from its entries' xattrs and
// targets, which cost a system call per entry and are what a full sync
// asks for two or three times per directory: at the listing (efs.dir's
// size and mtime), at the lookup of efs.dir once the kernel's entry
// expired, and at its open (the snapshot). recordCache keeps the last
// record of a few directories with the SHA-256 of the listing it came
// from, and a computation whose listing is byte for byte the same takes it
// instead of reading the xattrs and targets again.
//
// That is sound because every change that alters a record entry changes
// the entry's lstat: a setxattr or removexattr, chmod, chown, a write or
// truncate change its ctime, a new symlink target is a new inode. But
// ctime has the file system's granularity (up to 2 s on FAT), so two
// changes within one tick keep it the same: a record is kept only when
// every ctime of its listing is older than recordMargin when its xattrs
// begin to be read. A change after the read then has a later ctime than
// the one kept. A record missing an entry that vanished while it was
// computed is not kept either.

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/efs-project/efs/internal/sys/unix"
)

const (
	// recordMargin is how much older than a record's computation every
	// ctime of its listing must be for the record to be kept.
	recordMargin = 2 * time.Second
	// maxCachedRecords and maxCachedBytes bound the cache: directories,
	// and bytes of records. A full sync asks for a directory's record
	// again within a few directories of the first time, so a few dozen
	// suffice; at 256 directories and 16 MiB (listings kept whole) the
	// daemon's peak in an rsync of 100,000 files was 68 MiB, against
	// 46 MiB without the cache and 53 MiB with these bounds.
	maxCachedRecords = 64
	maxCachedBytes   = 4 << 20
)

// recordCache is the records kept, by plaintext directory path, oldest
// first in order (the first to go).
type recordCache struct {
	mu     sync.Mutex
	dirs   map[string]cachedRecord
	order  []string
	bytes  int
	margin time.Duration // recordMargin but in tests
	// computed counts the records computed (not taken from the cache).
	computed int
}

// cachedRecord is a record's plaintext and the SHA-256 of the listing it
// came from (recordStamp): the listing itself is 72 bytes per entry and
// its name, more than its record.
type cachedRecord struct {
	stamp [sha256.Size]byte
	plain []byte
}

// get is the record kept for dir rel with listing stamp, nil if none.
func (c *recordCache) get(rel string, stamp [sha256.Size]byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.dirs[rel]; ok && r.stamp == stamp {
		return r.plain
	}
	c.computed++
	return nil
}

// put keeps plain, the record of dir rel with listing stamp, in place of
// any other of rel, dropping the oldest records beyond the bounds.
func (c *recordCache) put(rel string, stamp [sha256.Size]byte, plain []byte) {
	size := len(rel) + len(plain)
	if size > maxCachedBytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dirs == nil {
		c.dirs = make(map[string]cachedRecord)
	}
	c.drop(rel)
	for len(c.order) > 0 && (len(c.dirs) >= maxCachedRecords || c.bytes+size > maxCachedBytes) {
		c.drop(c.order[0])
	}
	c.dirs[rel] = cachedRecord{stamp: stamp, plain: plain}
	c.order = append(c.order, rel)
	c.bytes += size
}

func (c *recordCache) drop(rel string) {
	r, ok := c.dirs[rel]
	if !ok {
		return
	}
	c.bytes -= len(rel) + len(r.plain)
	delete(c.dirs, rel)
	if i := slices.Index(c.order, rel); i >= 0 {
		c.order = slices.Delete(c.order, i, i+1)
	}
}

// recordPlainCached is recordPlain, from the cache when the listing is
// the one the kept record came from. The record is shared: read only.
func (t *Tree) recordPlainCached(d Dir, l *listing, shown []*Entry) ([]byte, error) {
	slices.SortFunc(shown, func(a, b *Entry) int { return strings.Compare(a.Plain, b.Plain) })
	stamp, newest := t.recordStamp(l, shown)
	if plain := t.recordsKept.get(d.Rel, stamp); plain != nil {
		return plain, nil
	}
	start := time.Now()
	plain, complete, err := t.recordPlain(d, l, shown)
	margin := t.recordsKept.margin
	if margin == 0 {
		margin = recordMargin
	}
	if err == nil && complete && newest.Add(margin).Before(start) {
		t.recordsKept.put(d.Rel, stamp, plain)
	}
	return plain, err
}

// recordStamp is the SHA-256 of what of listing l, whose entries shown
// are sorted by plaintext name, a record is a function of (but for xattrs
// and targets), and the latest ctime in it. It is hashed entry by entry:
// the bytes themselves (72 per entry and its name) are never kept.
func (t *Tree) recordStamp(l *listing, shown []*Entry) (stamp [sha256.Size]byte, newest time.Time) {
	h := sha256.New()
	b := make([]byte, 0, 8+statStamp+4+256)
	b = binary.LittleEndian.AppendUint64(b, t.rootDev.Load())
	h.Write(appendStat(b, &l.st))
	last := l.st.Ctim
	for _, e := range shown {
		b = binary.LittleEndian.AppendUint32(b[:0], uint32(len(e.Plain)))
		b = append(b, e.Plain...)
		h.Write(appendStat(b, &e.Stat))
		if c := e.Stat.Ctim; c.Sec > last.Sec || c.Sec == last.Sec && c.Nsec > last.Nsec {
			last = c
		}
	}
	h.Sum(stamp[:0])
	return stamp, time.Unix(last.Sec, last.Nsec)
}

// statStamp is the bytes appendStat adds.
const statStamp = 8*6 + 4*5

// appendStat appends the fields of st a record entry or its file ID
// depends on, and the ctime, which changes with its xattrs.
func appendStat(b []byte, st *unix.Stat_t) []byte {
	le := binary.LittleEndian
	b = le.AppendUint64(b, uint64(st.Dev))
	b = le.AppendUint64(b, uint64(st.Ino))
	b = le.AppendUint64(b, uint64(st.Nlink))
	b = le.AppendUint64(b, uint64(st.Size))
	b = le.AppendUint64(b, uint64(st.Mtim.Sec))
	b = le.AppendUint64(b, uint64(st.Ctim.Sec))
	b = le.AppendUint32(b, uint32(st.Mtim.Nsec))
	b = le.AppendUint32(b, uint32(st.Ctim.Nsec))
	b = le.AppendUint32(b, uint32(st.Mode))
	b = le.AppendUint32(b, uint32(st.Uid))
	return le.AppendUint32(b, uint32(st.Gid))
}
