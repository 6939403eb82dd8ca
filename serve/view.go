package serve

// The encrypted view over WebDAV: an adapter of reverse.Tree's model, as
// the FUSE view (reverse/fs.go) and export (reverse/export.go) are.
// Tree.Resolve serves lookups and Tree.List listings; what a directory
// holds (entries, companions, efs.toml, directory records, and any item
// kind to come) is the model's, with its names and attributes. Items that
// are not entries are files of the bytes the model gives (Item.Data, or
// for a record Tree.SealRecord); entries are directories or files
// encrypted by Tree.Open. Left out, as
// WebDAV cannot carry them: symlinks (the directory records hold them for
// restore) and the entries the view cannot show (Item.Err), which the
// FUSE view leaves out too.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/record"
	"github.com/efs-project/efs/reverse"
)

// NewView returns the handler serving the encrypted view of t. t and its
// keys must outlive it.
func NewView(t *reverse.Tree, opts Options) *Handler {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return newHandler(&viewSource{tree: t, log: log}, opts)
}

// viewSource adapts the view model.
type viewSource struct {
	tree *reverse.Tree
	log  *slog.Logger

	mu     sync.Mutex
	warned map[string]bool // view paths of entries left out and logged
}

// viewDir is the ref of a directory node: the Dir to list.
type viewDir struct{ d reverse.Dir }

// viewFile is the ref of a file node: its item and the directory it is in.
type viewFile struct {
	d  reverse.Dir
	it reverse.Item
}

// maxWarned bounds the memory of entries already logged as left out.
const maxWarned = 4096

// omitted logs, once per view path, an entry the view cannot show.
func (s *viewSource) omitted(viewPath string, err error) {
	s.mu.Lock()
	if s.warned == nil || len(s.warned) >= maxWarned {
		s.warned = make(map[string]bool)
	}
	seen := s.warned[viewPath]
	s.warned[viewPath] = true
	s.mu.Unlock()
	if !seen {
		s.log.Warn("the view leaves out an entry it cannot show", "path", logPath(viewPath), "bytes", len(viewPath), "err", reverse.Reason(err))
	}
}

// logPath is "/"+viewPath for a log line, cut to its first 256 bytes.
func logPath(viewPath string) string {
	const max = 256
	if len(viewPath) > max {
		return "/" + viewPath[:max] + "..."
	}
	return "/" + viewPath
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// isDir and isFile say what an item is served as; anything else (a
// symlink) is not served.
func isDir(it *reverse.Item) bool  { return it.Attr.Type() == syscall.S_IFDIR }
func isFile(it *reverse.Item) bool { return it.Attr.Type() == syscall.S_IFREG }

func (s *viewSource) lookup(names []string) (node, error) {
	it, err := s.tree.Root()
	if err != nil {
		return node{}, err
	}
	var d reverse.Dir // the directory it is in (the root: itself)
	self := reverse.Dir{}
	for _, name := range names {
		if !isDir(&it) {
			return node{}, reverse.ErrNotFound
		}
		d = self
		if it, err = s.tree.Resolve(d, name); err != nil {
			return node{}, err
		}
		if isDir(&it) {
			self = reverse.Dir{Rel: it.Entry.Rel, View: join(d.View, name)}
		}
	}
	switch {
	case len(names) == 0:
		return s.node(d, "", &it), nil
	case isDir(&it) || isFile(&it):
		return s.node(d, it.Name, &it), nil
	}
	return node{}, reverse.ErrNotFound
}

// node is the WebDAV resource of item it, named name in directory d.
func (s *viewSource) node(d reverse.Dir, name string, it *reverse.Item) node {
	a := &it.Attr
	n := node{
		name: name, dir: isDir(it), size: a.Size,
		mtime:   time.Unix(a.Mtime.Sec, a.Mtime.Nsec),
		logPath: logPath(join(d.View, name)),
	}
	if n.dir {
		v := join(d.View, name)
		if name == "" {
			v = d.View
		}
		rel := ""
		if it.Entry != nil {
			rel = it.Entry.Rel
		}
		n.ref = viewDir{reverse.Dir{Rel: rel, View: v}}
		return n
	}
	n.etag = etag(int64(a.Ino), a.Size, a.Mtime.Sec, a.Mtime.Nsec, a.Ctime.Sec, a.Ctime.Nsec)
	n.ref = viewFile{d, *it}
	return n
}

// etag is a strong ETag of a file's attributes as the view (or the
// storage) shows them: it changes whenever the bytes can.
func etag(fields ...int64) string {
	h := sha256.New()
	var b [8]byte
	for _, f := range fields {
		binary.BigEndian.PutUint64(b[:], uint64(f))
		h.Write(b[:])
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:12]) + `"`
}

func (s *viewSource) list(n *node) ([]node, error) {
	d := n.ref.(viewDir).d
	items, err := s.tree.List(d)
	if err != nil {
		return nil, err
	}
	out := make([]node, 0, len(items))
	for i := range items {
		it := &items[i]
		switch {
		case it.Err != nil:
			if it.Kind == reverse.ItemEntry || it.Kind == reverse.ItemRecord {
				s.omitted(join(d.View, it.Name), it.Err)
			}
		case isDir(it) || isFile(it):
			out = append(out, s.node(d, it.Name, it))
		}
	}
	return out, nil
}

// errReplaced: the plaintext file changed between its lookup and its open,
// so the attributes the response would carry (ETag, Last-Modified) are
// not those of the bytes. The client is asked to retry.
var errReplaced = errors.New("the file changed while it was opened")

func (s *viewSource) open(n *node) (fileReader, error) {
	vf := n.ref.(viewFile)
	it := &vf.it
	switch it.Kind {
	case reverse.ItemRecord:
		// The record the lookup computed, which the response's size and
		// mtime describe.
		r, err := s.tree.SealRecord(vf.d, it)
		if err != nil {
			return nil, err
		}
		return sealedRecord{r}, nil
	case reverse.ItemEntry:
	default:
		return bytesContent{bytes.NewReader(it.Data)}, nil
	}
	f, err := s.tree.Open(it.Entry.Rel)
	if err != nil {
		return nil, err
	}
	st, was := f.Stat(), &it.Entry.Stat
	if st.Ino != was.Ino || st.Size != was.Size || st.Mtim != was.Mtim || st.Ctim != was.Ctim {
		f.Close()
		return nil, errReplaced
	}
	return f, nil
}

// bytesContent serves bytes the model holds (efs.toml, a companion).
type bytesContent struct{ *bytes.Reader }

func (bytesContent) Close() error { return nil }

// sealedRecord serves a directory record, sealed as it is read.
type sealedRecord struct{ *record.Sealed }

func (r sealedRecord) Close() error {
	r.Wipe()
	return nil
}

func (s *viewSource) classify(err error) (int, string) {
	var en syscall.Errno
	switch {
	case errors.Is(err, reverse.ErrNotFound), errors.Is(err, errNotDir):
		return http.StatusNotFound, "no such file or directory in the view"
	case errors.Is(err, reverse.ErrUnavailable):
		// Never an empty listing: a sync tool would mirror it by
		// deleting the backup.
		return http.StatusServiceUnavailable, reverse.ErrUnavailable.Error()
	case errors.Is(err, errReplaced):
		return http.StatusServiceUnavailable, err.Error()
	case errors.Is(err, reverse.ErrStale), errors.Is(err, reverse.ErrNotRegular), errors.Is(err, content.ErrChanged):
		return http.StatusServiceUnavailable, reverse.Reason(err)
	case errors.As(err, &en) && (en == syscall.ENOENT || en == syscall.ENOTDIR):
		return http.StatusNotFound, "no such file or directory in the view"
	case errors.As(err, &en) && (en == syscall.EACCES || en == syscall.EPERM):
		return http.StatusForbidden, reverse.Reason(err)
	}
	return http.StatusInternalServerError, reverse.Reason(err)
}
