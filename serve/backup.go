package serve

// A backup over WebDAV, by plaintext path: an adapter of forward.Backup, as
// the FUSE view of efs mount (forward/fuse.go) is. Backup.ResolveChain
// serves lookups, Backup.ReadDir listings and Backup.Open the files, whose
// every block is authenticated as it is read. What fails authentication is
// never served as data: a name, companion, header or first chunk that
// fails is 502 Bad Gateway before any byte of the file; a block that fails
// after the status line was sent aborts the response (dav.go, get). Log
// lines name ciphertext paths only; the request paths are plaintext and
// never logged.

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/efs-project/efs/forward"
)

// NewBackup returns the handler serving the decrypted backup b. Its keys
// must outlive it.
func NewBackup(b *forward.Backup, opts Options) *Handler {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return newHandler(&backupSource{b: b, log: log}, opts)
}

// backupSource adapts a backup; a node's ref is its forward.Entry.
type backupSource struct {
	b   *forward.Backup
	log *slog.Logger
}

func (s *backupSource) lookup(names []string) (node, error) {
	chain, err := s.b.ResolveChain(strings.Join(names, "/"))
	e := &chain[len(chain)-1]
	if err != nil {
		// Name the ciphertext path of what failed in the log.
		return node{logPath: "/" + e.CRel}, err
	}
	if e.Kind != forward.Dir && e.Kind != forward.Regular {
		return node{logPath: "/" + e.CRel}, errNotServed
	}
	return s.node(e), nil
}

// errNotServed: a symlink (WebDAV cannot carry one) or something a backup
// cannot hold.
var errNotServed = errors.New("not a file or directory")

func (s *backupSource) node(e *forward.Entry) node {
	st := &e.Stat
	n := node{
		name: e.Name, dir: e.Kind == forward.Dir, size: st.Size,
		mtime:   time.Unix(forward.Mtim(st).Sec, forward.Mtim(st).Nsec),
		logPath: "/" + e.CRel,
		ref:     *e,
	}
	if !n.dir {
		// Of the stored file: it changes when the stored bytes do.
		mt, ct := forward.Mtim(st), forward.Ctim(st)
		n.etag = etag(int64(st.Ino), st.Size, mt.Sec, mt.Nsec, ct.Sec, ct.Nsec)
	}
	return n
}

func (s *backupSource) list(n *node) ([]node, error) {
	e := n.ref.(forward.Entry)
	l, err := s.b.ReadDir(e.Rel, e.CRel)
	if err != nil {
		return nil, err
	}
	for _, p := range l.Damaged {
		s.log.Error("entry failed authentication, left out of the listing", "path", "/"+p.Stored, "err", p.Err)
	}
	for _, p := range l.Foreign {
		s.log.Debug("foreign entry (not an efs name) ignored", "path", "/"+p)
	}
	out := make([]node, 0, len(l.Entries))
	for i := range l.Entries {
		if k := l.Entries[i].Kind; k == forward.Dir || k == forward.Regular {
			out = append(out, s.node(&l.Entries[i]))
		}
	}
	return out, nil
}

func (s *backupSource) open(n *node) (fileReader, error) {
	e := n.ref.(forward.Entry)
	return s.b.Open(e.Rel, e.CRel)
}

// classify words errors of forward.Backup, which name ciphertext paths
// only.
func (s *backupSource) classify(err error) (int, string) {
	var en syscall.Errno
	switch {
	case errors.Is(err, forward.ErrDamaged):
		return http.StatusBadGateway, err.Error()
	case errors.Is(err, errNotServed), errors.Is(err, errNotDir), errors.Is(err, fs.ErrNotExist),
		errors.As(err, &en) && (en == syscall.ENOENT || en == syscall.ENOTDIR):
		return http.StatusNotFound, "no such file or directory in the backup"
	case errors.As(err, &en) && (en == syscall.EACCES || en == syscall.EPERM):
		return http.StatusForbidden, err.Error()
	}
	return http.StatusInternalServerError, err.Error()
}
