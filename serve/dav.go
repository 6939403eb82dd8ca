// Package serve publishes efs's encrypted view of a plaintext tree, or a
// decrypted and authenticated backup, over HTTP as read-only WebDAV:
// PROPFIND with Depth 0 or 1, GET and HEAD with single byte ranges, and
// OPTIONS; every other method is 405. That is what rclone's webdav
// backend needs to copy, sync, check or mount a tree, and what curl needs
// to fetch a file.
//
// The protocol lives here once, over a small source interface with two
// adapters: view.go over reverse.Tree (the same model the FUSE view and
// export adapt, so the bytes are theirs) and backup.go over
// forward.Backup. Neither decides what a directory holds: they map the
// model's items and entries to WebDAV resources and leave out only what
// WebDAV cannot carry (symlinks). Serve (server.go) adds the TLS and
// connection limits.
//
// It is a hand-written responder rather than golang.org/x/net/webdav: that
// package serves a read-write FileSystem (writes, locks, PROPPATCH, COPY
// and MOVE would each have to be refused), walks Depth: infinity, stats
// every child again after listing its directory, and sniffs a content type
// by reading the first 512 bytes of every file whose name has no known
// extension, which is every encrypted name: a listing would encrypt or
// decrypt the first block of every file in it.
package serve

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// node is one WebDAV resource: a directory (collection) or a file.
type node struct {
	name  string // last path segment; "" for the root
	dir   bool
	size  int64 // files: the bytes a GET returns
	mtime time.Time
	etag  string // files: a quoted strong ETag
	// logPath is how log lines may name the node: its view path, or its
	// ciphertext path for a backup, never a plaintext name.
	logPath string
	ref     any // the adapter's own handle
}

// content is an open file.
type fileReader interface {
	io.ReaderAt
	Size() int64 // fixed at open: the response's length
	Close() error
}

// source is what a WebDAV tree is served from.
type source interface {
	// lookup resolves the names of a request path, root first.
	lookup(names []string) (node, error)
	// list returns the children of directory n that WebDAV can carry.
	list(n *node) ([]node, error)
	// open opens file n.
	open(n *node) (fileReader, error)
	// classify maps an error of the source to an HTTP status and words
	// it for a log line and the client, without plaintext names.
	classify(err error) (status int, reason string)
}

// Options configure a Handler.
type Options struct {
	// Log receives the access log (one Info line per request: method,
	// view or ciphertext path, status, bytes, client key comment) and the
	// failures. Nil logs nothing.
	Log *slog.Logger
	// Who names the client of a request for the access log and says
	// whether it may still be served (its key may have been removed since
	// the connection was made). Nil serves every request, as "-".
	Who func(r *http.Request) (string, bool)
	// MaxActive bounds the requests served at once, each with one read
	// buffer and one open file; the others wait. Default: 4 per CPU, at
	// least 16.
	MaxActive int
}

// Handler is the read-only WebDAV handler over a source. It is safe for
// concurrent use.
type Handler struct {
	src  source
	log  *slog.Logger
	who  func(r *http.Request) (string, bool)
	sem  chan struct{}
	bufs sync.Pool
	// writeTimeout and bodyTimeout (tests shorten them).
	writeTimeout, bodyTimeout time.Duration
}

func newHandler(src source, opts Options) *Handler {
	h := &Handler{src: src, log: opts.Log, who: opts.Who, writeTimeout: writeTimeout, bodyTimeout: bodyTimeout}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	n := opts.MaxActive
	if n <= 0 {
		n = max(16, 4*runtime.GOMAXPROCS(0))
	}
	h.sem = make(chan struct{}, n)
	h.bufs.New = func() any { b := make([]byte, chunkSize); return &b }
	return h
}

// chunkSize is what a GET reads and writes at a time: large enough that
// content's block crypto runs on every core, small enough that the
// buffers of MaxActive requests stay a few MiB. The first chunk of a
// response is read, and so authenticated for a backup, before its status
// line is sent.
const chunkSize = 256 << 10

// Timeouts a slow or stuck client meets (the server's own bound the TLS
// handshake, the headers and idle connections, see Serve). Each write of a
// response must finish within writeTimeout, so a whole transfer may take
// as long as it needs. A PROPFIND body must arrive within bodyTimeout; no
// deadline is left on reading once a response is being written, because
// net/http cancels a request whose connection's read deadline passes.
const (
	writeTimeout = time.Minute
	bodyTimeout  = 30 * time.Second
)

// maxPropfindBody bounds a PROPFIND request body.
const maxPropfindBody = 64 << 10

// allow is the Allow header of every resource.
const allow = "OPTIONS, GET, HEAD, PROPFIND"

// reply wraps a ResponseWriter for the access log and the write deadlines.
type reply struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration // for each write
	status  int
	bytes   int64
	logPath string
	werr    error // the first write error: the client went away
}

func (w *reply) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write gives every write the timeout to finish.
func (w *reply) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.rc.SetWriteDeadline(time.Now().Add(w.timeout)) // unsupported by a ResponseRecorder: no matter
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	if err != nil && w.werr == nil {
		w.werr = err
	}
	return n, err
}

// ServeHTTP answers one request and logs it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &reply{ResponseWriter: w, rc: http.NewResponseController(w), timeout: h.writeTimeout, logPath: "-"}
	who := "-"
	aborted := true
	defer func() {
		status := strconv.Itoa(rw.status)
		switch {
		case aborted:
			status = "aborted"
		case rw.werr != nil:
			status += " (client gone)"
		}
		h.log.Info("request", "method", r.Method, "path", rw.logPath, "status", status, "bytes", rw.bytes,
			"ms", time.Since(start).Milliseconds(), "key", who, "remote", r.RemoteAddr)
	}()
	if h.who != nil {
		var ok bool
		if who, ok = h.who(r); !ok {
			h.plain(rw, http.StatusForbidden, "client key no longer authorized")
			aborted = false
			return
		}
	}
	switch r.Method {
	case http.MethodOptions:
		rw.Header().Set("DAV", "1")
		rw.Header().Set("Allow", allow)
		rw.WriteHeader(http.StatusOK)
	case http.MethodGet, http.MethodHead, "PROPFIND":
		select {
		case h.sem <- struct{}{}:
		case <-r.Context().Done():
			rw.status = http.StatusServiceUnavailable
			aborted = false
			return
		}
		defer func() { <-h.sem }()
		if r.Method == "PROPFIND" {
			h.propfind(rw, r)
		} else {
			h.get(rw, r)
		}
	default:
		rw.Header().Set("Allow", allow)
		h.plain(rw, http.StatusMethodNotAllowed, "read-only: "+allow+" only")
	}
	aborted = false
}

// plain answers an error status with a one-line text body.
func (h *Handler) plain(rw *reply, status int, msg string) {
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(status)
	fmt.Fprintf(rw, "efs: %s: %s\n", http.StatusText(status), msg)
}

// fail answers err of the source, logging server-side failures with the
// node's log path.
func (h *Handler) fail(rw *reply, err error) {
	status, reason := h.src.classify(err)
	switch {
	case status == http.StatusBadGateway:
		h.log.Error("failed authentication, not served", "path", rw.logPath, "err", reason)
	case status >= 500 && status != http.StatusServiceUnavailable:
		h.log.Warn("cannot serve", "path", rw.logPath, "err", reason)
	case status == http.StatusServiceUnavailable:
		rw.Header().Set("Retry-After", "1")
	}
	h.plain(rw, status, reason)
}

// errBadPath: a request path that cannot name a resource.
var errBadPath = errors.New("bad path")

// splitPath splits the request path into names, each unescaped; slash
// reports a trailing slash. ".", ".." and empty names are refused rather
// than cleaned away: no client of a tree sends them.
func splitPath(r *http.Request) (names []string, slash bool, err error) {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		return nil, false, errBadPath
	}
	p, slash = strings.CutSuffix(p[1:], "/")
	if p == "" {
		return nil, slash, nil
	}
	for _, s := range strings.Split(p, "/") {
		name, err := url.PathUnescape(s)
		if err != nil || name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
			return nil, false, errBadPath
		}
		names = append(names, name)
	}
	return names, slash, nil
}

// resolve finds the node of the request path, answering the error itself
// (ok false) when there is none.
func (h *Handler) resolve(rw *reply, r *http.Request) (n node, names []string, ok bool) {
	names, slash, err := splitPath(r)
	if err != nil {
		h.plain(rw, http.StatusBadRequest, err.Error())
		return node{}, nil, false
	}
	n, err = h.src.lookup(names)
	if err == nil && slash && !n.dir {
		err = errNotDir
	}
	if n.logPath != "" {
		rw.logPath = n.logPath
	}
	if err != nil {
		h.fail(rw, err)
		return node{}, nil, false
	}
	return n, names, true
}

// errNotDir: a file named with a trailing slash.
var errNotDir = errors.New("not a directory")

// href is the escaped absolute path of names, with a trailing slash for a
// directory.
func href(names []string, dir bool) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(n))
	}
	if dir || len(names) == 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// get answers GET and HEAD: a file's bytes, whole or one range; a
// directory's listing as a small HTML page.
func (h *Handler) get(rw *reply, r *http.Request) {
	n, names, ok := h.resolve(rw, r)
	if !ok {
		return
	}
	if n.dir {
		h.index(rw, r, &n, names)
		return
	}
	c, err := h.src.open(&n)
	if err != nil {
		h.fail(rw, err)
		return
	}
	defer c.Close()
	size := c.Size()
	hdr := rw.Header()
	hdr.Set("Accept-Ranges", "bytes")
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Last-Modified", n.mtime.UTC().Format(http.TimeFormat))
	hdr.Set("ETag", n.etag)
	start, length, status := int64(0), size, http.StatusOK
	if rng := r.Header.Get("Range"); rng != "" && size > 0 && ifRange(r, &n) {
		s, l, err := parseRange(rng, size)
		switch {
		case err == errUnsatisfiable:
			hdr.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			h.plain(rw, http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("the file has %d bytes", size))
			return
		case err == nil:
			start, length, status = s, l, http.StatusPartialContent
			hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", s, s+l-1, size))
		}
		// A range that does not parse, or several: the whole file
		// (RFC 9110 lets a server ignore Range).
	}
	hdr.Set("Content-Length", strconv.FormatInt(length, 10))
	if r.Method == http.MethodHead {
		rw.WriteHeader(status)
		return
	}
	bp := h.bufs.Get().(*[]byte)
	defer h.bufs.Put(bp)
	buf := *bp
	// The first chunk before the status line: a file that fails there
	// (damage, a shrunk plaintext) gets an error status, not a 200.
	k := min(length, int64(len(buf)))
	if err := readFull(c, buf[:k], start); err != nil {
		for _, f := range []string{"Accept-Ranges", "Content-Range", "Content-Length", "ETag", "Last-Modified"} {
			hdr.Del(f)
		}
		h.fail(rw, err)
		return
	}
	rw.WriteHeader(status)
	for off, end := start, start+length; ; {
		if _, err := rw.Write(buf[:k]); err != nil {
			return // the client went away
		}
		if off += k; off >= end {
			return
		}
		k = min(end-off, int64(len(buf)))
		if err := readFull(c, buf[:k], off); err != nil {
			// The status line and part of the body are out: cut the
			// connection, so the client sees a failed transfer (a body
			// shorter than its Content-Length), never a complete one.
			st, reason := h.src.classify(err)
			if st == http.StatusBadGateway {
				h.log.Error("failed authentication mid-response, aborting it", "path", rw.logPath, "offset", off, "err", reason)
			} else {
				h.log.Warn("read failed mid-response, aborting it", "path", rw.logPath, "offset", off, "err", reason)
			}
			panic(http.ErrAbortHandler)
		}
	}
}

// readFull reads exactly len(p) bytes at off: a file shorter than its
// size is an error, not a short body.
func readFull(c fileReader, p []byte, off int64) error {
	n, err := c.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// errUnsatisfiable: a range that starts at or past the end of the file.
var errUnsatisfiable = errors.New("range not satisfiable")

// errIgnoredRange: a Range header that is not one byte range; the whole
// file is served.
var errIgnoredRange = errors.New("range ignored")

// parseRange parses a Range header of one byte range ("bytes=0-99",
// "bytes=100-", "bytes=-100") against a file of size bytes (> 0), and
// returns its start and length, clipped to the file.
func parseRange(s string, size int64) (start, length int64, err error) {
	spec, ok := strings.CutPrefix(s, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, 0, errIgnoredRange
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, errIgnoredRange
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" { // the last n bytes
		n, ok := digits(last)
		if !ok {
			return 0, 0, errIgnoredRange
		}
		if n == 0 {
			return 0, 0, errUnsatisfiable
		}
		n = min(n, size)
		return size - n, n, nil
	}
	a, ok := digits(first)
	if !ok {
		return 0, 0, errIgnoredRange
	}
	if a >= size {
		return 0, 0, errUnsatisfiable
	}
	if last == "" {
		return a, size - a, nil
	}
	b, ok := digits(last)
	if !ok || b < a {
		return 0, 0, errIgnoredRange
	}
	b = min(b, size-1)
	return a, b - a + 1, nil
}

// digits parses a non-negative decimal number without sign.
func digits(s string) (int64, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// ifRange reports whether a Range applies: no If-Range, or one that
// matches the file's ETag (strongly) or its Last-Modified date. A client
// resuming against a file that changed gets the whole new file, never a
// range of it to splice onto the old one.
func ifRange(r *http.Request, n *node) bool {
	v := r.Header.Get("If-Range")
	switch {
	case v == "":
		return true
	case strings.HasPrefix(v, `"`):
		return v == n.etag
	case strings.HasPrefix(v, "W/"):
		return false
	}
	// A date validates only a file whose mtime has no fraction of a
	// second: two versions written within one second share the date.
	t, err := http.ParseTime(v)
	return err == nil && n.mtime.Equal(t)
}

// index answers GET of a directory with a minimal HTML list of links, for
// curl, browsers and rclone's http backend; HEAD with its headers.
func (h *Handler) index(rw *reply, r *http.Request, n *node, names []string) {
	kids, err := h.src.list(n)
	if err != nil {
		h.fail(rw, err)
		return
	}
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>efs</title></head><body><ul>\n")
	for i := range kids {
		k := &kids[i]
		name := k.name
		if k.dir {
			name += "/"
		}
		// A relative link: a ':' in it would read as a scheme.
		link := strings.ReplaceAll(href([]string{k.name}, k.dir)[1:], ":", "%3A")
		fmt.Fprintf(&b, "<li><a href=\"%s\">", link)
		xml.EscapeText(&b, []byte(name))
		b.WriteString("</a></li>\n")
	}
	b.WriteString("</ul></body></html>\n")
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	rw.Header().Set("Last-Modified", n.mtime.UTC().Format(http.TimeFormat))
	rw.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		rw.Write(b.Bytes())
	}
}

// propfind answers PROPFIND with Depth 0 (the resource) or 1 (and its
// children). Depth infinity, which is also what a missing Depth means
// (RFC 4918, 9.1), is refused as the RFC provides: 403 with
// propfind-finite-depth. A listing would otherwise be the whole tree in
// one response.
func (h *Handler) propfind(rw *reply, r *http.Request) {
	depth := r.Header.Get("Depth")
	switch depth {
	case "0", "1":
	case "", "infinity", "Infinity":
		rw.Header().Set("Content-Type", `application/xml; charset="utf-8"`)
		rw.WriteHeader(http.StatusForbidden)
		io.WriteString(rw, xml.Header+`<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>`+"\n")
		return
	default:
		h.plain(rw, http.StatusBadRequest, "Depth must be 0 or 1")
		return
	}
	rw.rc.SetReadDeadline(time.Now().Add(h.bodyTimeout))
	req, err := parsePropfind(http.MaxBytesReader(rw, r.Body, maxPropfindBody))
	if err != nil {
		// The deadline stays: net/http reads what is left of a body
		// before it answers, and must not wait for it for ever.
		h.plain(rw, http.StatusBadRequest, err.Error())
		return
	}
	rw.rc.SetReadDeadline(time.Time{})
	n, names, ok := h.resolve(rw, r)
	if !ok {
		return
	}
	var kids []node
	if depth == "1" && n.dir {
		if kids, err = h.src.list(&n); err != nil {
			h.fail(rw, err)
			return
		}
	}
	rw.Header().Set("Content-Type", `application/xml; charset="utf-8"`)
	rw.WriteHeader(http.StatusMultiStatus)
	bw := bufio.NewWriterSize(rw, 64<<10)
	bw.WriteString(xml.Header + `<D:multistatus xmlns:D="DAV:">` + "\n")
	req.write(bw, href(names, n.dir), &n)
	child := append(names[:len(names):len(names)], "")
	for i := range kids {
		child[len(child)-1] = kids[i].name
		req.write(bw, href(child, kids[i].dir), &kids[i])
	}
	bw.WriteString("</D:multistatus>\n")
	bw.Flush()
}

// propReq is what a PROPFIND asks for.
type propReq struct {
	names bool       // propname: the names of the properties only
	props []xml.Name // prop: these; nil with !names: allprop
}

// parsePropfind parses a PROPFIND body; an empty one is allprop.
func parsePropfind(body io.Reader) (propReq, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return propReq{}, fmt.Errorf("reading the request: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return propReq{}, nil
	}
	var pf struct {
		XMLName  xml.Name  `xml:"DAV: propfind"`
		AllProp  *struct{} `xml:"DAV: allprop"`
		PropName *struct{} `xml:"DAV: propname"`
		Prop     *struct {
			Any []struct {
				XMLName xml.Name
			} `xml:",any"`
		} `xml:"DAV: prop"`
	}
	if err := xml.Unmarshal(data, &pf); err != nil {
		return propReq{}, errors.New("the body is not a DAV:propfind element")
	}
	switch {
	case pf.Prop != nil && pf.AllProp == nil && pf.PropName == nil:
		req := propReq{props: []xml.Name{}}
		for _, p := range pf.Prop.Any {
			req.props = append(req.props, p.XMLName)
		}
		return req, nil
	case pf.PropName != nil && pf.AllProp == nil && pf.Prop == nil:
		return propReq{names: true}, nil
	case pf.AllProp != nil && pf.PropName == nil:
		return propReq{}, nil // include (the only child allowed with it) adds nothing we have
	}
	return propReq{}, errors.New("propfind needs one of allprop, propname or prop")
}

// liveProps are the properties a resource has, in DAV:.
var liveProps = []string{"resourcetype", "getlastmodified", "getcontentlength", "getetag", "getcontenttype"}

// prop returns property local (in DAV:) of n as XML, with its value or
// (value false) as an empty element, and whether n has it.
func prop(n *node, local string, value bool) (string, bool) {
	var v string
	switch local {
	case "resourcetype":
		if value && n.dir {
			return "<D:resourcetype><D:collection/></D:resourcetype>", true
		}
		return "<D:resourcetype/>", true
	case "getlastmodified":
		v = n.mtime.UTC().Format(http.TimeFormat)
	case "getcontentlength", "getetag", "getcontenttype":
		if n.dir {
			return "", false
		}
		switch local {
		case "getcontentlength":
			v = strconv.FormatInt(n.size, 10)
		case "getetag":
			v = n.etag
		default:
			v = "application/octet-stream"
		}
	default:
		return "", false
	}
	if !value {
		return "<D:" + local + "/>", true
	}
	var b strings.Builder
	b.WriteString("<D:" + local + ">")
	xml.EscapeText(&b, []byte(v))
	b.WriteString("</D:" + local + ">")
	return b.String(), true
}

// write writes the response element of n at href: the properties it has
// under 200 OK first (rclone reads the first status only), those asked
// for that it lacks under 404.
func (q *propReq) write(w *bufio.Writer, href string, n *node) {
	w.WriteString("<D:response><D:href>")
	xml.EscapeText(w, []byte(href))
	w.WriteString("</D:href>")
	var found []string
	var missing []xml.Name
	if q.props == nil {
		for _, p := range liveProps {
			if x, ok := prop(n, p, !q.names); ok {
				found = append(found, x)
			}
		}
	} else {
		for _, p := range q.props {
			x, ok := "", false
			if p.Space == "DAV:" {
				x, ok = prop(n, p.Local, true)
			}
			if ok {
				found = append(found, x)
			} else {
				missing = append(missing, p)
			}
		}
	}
	if len(found) > 0 {
		w.WriteString("<D:propstat><D:prop>")
		for _, x := range found {
			w.WriteString(x)
		}
		w.WriteString("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>")
	}
	if len(missing) > 0 {
		w.WriteString("<D:propstat><D:prop>")
		for _, p := range missing {
			switch p.Space {
			case "DAV:":
				w.WriteString("<D:" + p.Local + "/>")
				continue
			case "":
				w.WriteString("<" + p.Local + ` xmlns=""/>`)
				continue
			}
			w.WriteString("<x:" + p.Local + ` xmlns:x="`)
			xml.EscapeText(w, []byte(p.Space))
			w.WriteString(`"/>`)
		}
		w.WriteString("</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>")
	}
	w.WriteString("</D:response>\n")
}
