//go:build unix

package serve

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/forward"
	"github.com/efs-project/efs/internal/treesnap"
	"github.com/efs-project/efs/keys"
	"github.com/efs-project/efs/reverse"
)

// syncBuffer collects log lines from concurrent handlers.
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

// fixture is a plaintext tree with a config, its Tree, and its export.
type fixture struct {
	plain, export string
	tree          *reverse.Tree
	keys          *keys.Keys
	settings      config.Settings
	files         map[string][]byte // plaintext path → bytes
}

// longName is a plaintext name whose encrypted name is a long name.
var longName = strings.Repeat("long name ", 20)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	plain := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	f := &fixture{plain: plain, files: map[string][]byte{}}
	for rel, n := range map[string]int{
		"empty": 0, "one": 1, "block": 4096, "big": 3<<20 + 17,
		"sub/a.txt": 7, "sub/deep/er/b.txt": 9, "sub/" + longName: 4,
		"odd name & <x> %41?#.txt": 5, "non-utf8-\xff": 3, "sub/x:y": 2,
	} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		p := filepath.Join(plain, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
		f.files[rel] = b
	}
	if err := os.Mkdir(filepath.Join(plain, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("one", filepath.Join(plain, "sub", "link")); err != nil {
		t.Fatal(err)
	}
	kdf := config.KDF{Salt: bytes.Repeat([]byte{7}, 16), Time: 1, MemoryKiB: 1024, Threads: 1}
	cfgPath := filepath.Join(plain, config.FileName)
	cfg, mk, err := config.Create([]byte("pw"), config.Defaults(), kdf, "test")
	if err == nil {
		err = cfg.WriteNew(cfgPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	f.keys, err = mk.Derive()
	mk.Wipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.keys.Wipe)
	f.settings = cfg.Settings
	f.tree, err = reverse.New(plain, f.keys, reverse.Options{Settings: cfg.Settings, ConfigPath: cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.tree.Close() })
	f.export = t.TempDir()
	rep, err := reverse.Export(context.Background(), f.tree, f.export, reverse.ExportOptions{})
	if err != nil || len(rep.Failures) > 0 {
		t.Fatalf("export: %v %+v", err, rep.Failures)
	}
	return f
}

// backup opens the fixture's export as a backup.
func (f *fixture) backup(t *testing.T) *forward.Backup {
	t.Helper()
	b, err := forward.New(f.export, f.keys, f.settings)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// server serves h over plain HTTP (the handler tests; Serve adds TLS).
func server(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

func do(t *testing.T, method, u string, hdr map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, u, err)
	}
	return resp, data
}

// multistatus is a PROPFIND answer as a client reads it.
type multistatus struct {
	Responses []struct {
		Href     string `xml:"href"`
		Propstat []struct {
			Prop struct {
				Collection *struct{} `xml:"resourcetype>collection"`
				Length     *int64    `xml:"getcontentlength"`
				Modified   string    `xml:"getlastmodified"`
				ETag       string    `xml:"getetag"`
				Inner      []byte    `xml:",innerxml"`
			} `xml:"prop"`
			Status string `xml:"status"`
		} `xml:"propstat"`
	} `xml:"response"`
}

func propfind(t *testing.T, u, depth, body string) multistatus {
	t.Helper()
	resp, data := do(t, "PROPFIND", u, map[string]string{"Depth": depth}, body)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND %s: %s %s", u, resp.Status, data)
	}
	var ms multistatus
	if err := xml.Unmarshal(data, &ms); err != nil {
		t.Fatalf("PROPFIND %s: %v\n%s", u, err, data)
	}
	return ms
}

// pull copies every file under base (a collection URL ending in /) into a
// map by path, walking with PROPFIND Depth 1 and GET, as rclone does.
func pull(t *testing.T, base string) map[string][]byte {
	t.Helper()
	root, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	var walk func(dir string)
	walk = func(dir string) {
		ms := propfind(t, root.ResolveReference(&url.URL{Path: dir}).String(), "1", "")
		for _, r := range ms.Responses {
			u, err := url.Parse(r.Href)
			if err != nil {
				t.Fatal(err)
			}
			if u.Path == dir {
				continue
			}
			if !strings.HasPrefix(u.Path, dir) {
				t.Fatalf("href %q outside %q", r.Href, dir)
			}
			if r.Propstat[0].Prop.Collection != nil {
				walk(u.Path)
				continue
			}
			resp, data := do(t, "GET", root.ResolveReference(&url.URL{Path: u.Path}).String(), nil, "")
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %s", u.Path, resp.Status)
			}
			if n := *r.Propstat[0].Prop.Length; n != int64(len(data)) {
				t.Errorf("%s: PROPFIND says %d bytes, GET gave %d", u.Path, n, len(data))
			}
			out[strings.TrimPrefix(u.Path, "/")] = data
		}
	}
	walk("/")
	return out
}

// exportFiles reads every regular file of an export.
func exportFiles(t *testing.T, dir string) (files map[string][]byte, symlinks int) {
	t.Helper()
	files = map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[filepath.ToSlash(rel)] = data
		case d.Type()&os.ModeSymlink != 0:
			symlinks++
		}
		return nil
	})
	return files, symlinks
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestViewIsExport: what a WebDAV client pulls from the view is the
// export, name for name and byte for byte, less the symlinks.
func TestViewIsExport(t *testing.T) {
	f := newFixture(t)
	before := treesnap.Take(t, f.plain)
	got := pull(t, server(t, NewView(f.tree, Options{}))+"/")
	want, links := exportFiles(t, f.export)
	if links != 1 {
		t.Errorf("export holds %d symlinks, want 1", links)
	}
	if g, w := strings.Join(keysOf(got), "\n"), strings.Join(keysOf(want), "\n"); g != w {
		t.Fatalf("pulled:\n%s\nexport:\n%s", g, w)
	}
	for k, w := range want {
		if !bytes.Equal(got[k], w) {
			t.Errorf("%s differs from the export", k)
		}
	}
	if _, ok := got["efs.toml"]; !ok {
		t.Error("no efs.toml")
	}
	if d := treesnap.Diff(before, treesnap.Take(t, f.plain), "before", "after"); len(d) > 0 {
		t.Errorf("the plaintext changed: %v", d)
	}
}

// TestBackupByPlainPath: the backup served by plaintext path is the
// plaintext.
func TestBackupByPlainPath(t *testing.T) {
	f := newFixture(t)
	got := pull(t, server(t, NewBackup(f.backup(t), Options{}))+"/")
	if g, w := strings.Join(keysOf(got), "\n"), strings.Join(keysOf(f.files), "\n"); g != w {
		t.Fatalf("pulled:\n%q\nplaintext:\n%q", g, w)
	}
	for k, w := range f.files {
		if !bytes.Equal(got[k], w) {
			t.Errorf("%q differs from the plaintext", k)
		}
	}
}

func TestMethodsRefused(t *testing.T) {
	f := newFixture(t)
	before := treesnap.Take(t, f.plain)
	exBefore := treesnap.Take(t, f.export)
	for _, h := range []http.Handler{NewView(f.tree, Options{}), NewBackup(f.backup(t), Options{})} {
		base := server(t, h)
		for _, m := range []string{"PUT", "DELETE", "MKCOL", "PROPPATCH", "MOVE", "COPY", "LOCK", "UNLOCK", "POST", "PATCH", "TRACE"} {
			for _, p := range []string{"/", "/new", "/efs.toml", "/sub/"} {
				resp, _ := do(t, m, base+p, map[string]string{"Destination": base + "/x", "Overwrite": "T"}, "data")
				if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != allow {
					t.Errorf("%s %s: %s, Allow %q", m, p, resp.Status, resp.Header.Get("Allow"))
				}
			}
		}
		resp, _ := do(t, "OPTIONS", base+"/", nil, "")
		if resp.StatusCode != 200 || resp.Header.Get("DAV") != "1" || resp.Header.Get("Allow") != allow {
			t.Errorf("OPTIONS: %s %v", resp.Status, resp.Header)
		}
	}
	if d := treesnap.Diff(before, treesnap.Take(t, f.plain), "before", "after"); len(d) > 0 {
		t.Errorf("the plaintext changed: %v", d)
	}
	if d := treesnap.Diff(exBefore, treesnap.Take(t, f.export), "before", "after"); len(d) > 0 {
		t.Errorf("the backup changed: %v", d)
	}
}

func TestPropfind(t *testing.T) {
	f := newFixture(t)
	base := server(t, NewBackup(f.backup(t), Options{}))
	for _, depth := range []string{"", "infinity"} {
		resp, body := do(t, "PROPFIND", base+"/", map[string]string{"Depth": depth}, "")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "propfind-finite-depth") {
			t.Errorf("Depth %q: %s %s", depth, resp.Status, body)
		}
	}
	if resp, _ := do(t, "PROPFIND", base+"/", map[string]string{"Depth": "2"}, ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("Depth 2: %s", resp.Status)
	}
	if resp, _ := do(t, "PROPFIND", base+"/", map[string]string{"Depth": "1"}, "<nonsense"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad body: %s", resp.Status)
	}
	if resp, _ := do(t, "PROPFIND", base+"/missing", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing: %s", resp.Status)
	}
	if resp, _ := do(t, "PROPFIND", base+"/one/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a file with a trailing slash: %s", resp.Status)
	}

	// Depth 0 of a file; of a directory, without its children.
	ms := propfind(t, base+"/one", "0", "")
	if len(ms.Responses) != 1 || ms.Responses[0].Href != "/one" || *ms.Responses[0].Propstat[0].Prop.Length != 1 {
		t.Errorf("Depth 0 of a file: %+v", ms)
	}
	ms = propfind(t, base+"/sub", "0", "")
	if len(ms.Responses) != 1 || ms.Responses[0].Href != "/sub/" || ms.Responses[0].Propstat[0].Prop.Collection == nil {
		t.Errorf("Depth 0 of a directory: %+v", ms)
	}
	// The empty directory is there, and names are escaped.
	ms = propfind(t, base+"/", "1", "")
	var hrefs []string
	for _, r := range ms.Responses {
		hrefs = append(hrefs, r.Href)
	}
	for _, want := range []string{"/", "/emptydir/", "/odd%20name%20&%20%3Cx%3E%20%2541%3F%23.txt", "/non-utf8-%FF"} {
		found := false
		for _, h := range hrefs {
			found = found || h == want
		}
		if !found {
			t.Errorf("no href %q in %q", want, hrefs)
		}
	}

	// rclone's request: the properties we have under 200 first, the others
	// under 404.
	const rcloneProps = `<?xml version="1.0"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">
 <d:prop><d:displayname/><d:getlastmodified/><d:getcontentlength/><d:resourcetype/><oc:checksums/></d:prop>
</d:propfind>`
	ms = propfind(t, base+"/block", "0", rcloneProps)
	r := ms.Responses[0]
	if len(r.Propstat) != 2 || !strings.Contains(r.Propstat[0].Status, " 200 ") || !strings.Contains(r.Propstat[1].Status, " 404 ") {
		t.Fatalf("propstats: %+v", r.Propstat)
	}
	if *r.Propstat[0].Prop.Length != 4096 || r.Propstat[0].Prop.Modified == "" || r.Propstat[0].Prop.ETag != "" {
		t.Errorf("found: %s", r.Propstat[0].Prop.Inner)
	}
	if in := string(r.Propstat[1].Prop.Inner); !strings.Contains(in, "<D:displayname/>") || !strings.Contains(in, `<x:checksums xmlns:x="http://owncloud.org/ns"/>`) {
		t.Errorf("missing: %s", in)
	}
	// propname: names only.
	ms = propfind(t, base+"/block", "0", `<propfind xmlns="DAV:"><propname/></propfind>`)
	if in := string(ms.Responses[0].Propstat[0].Prop.Inner); !strings.Contains(in, "<D:getetag/>") || strings.Contains(in, "4096") {
		t.Errorf("propname: %s", in)
	}
}

func TestRanges(t *testing.T) {
	f := newFixture(t)
	base := server(t, NewBackup(f.backup(t), Options{}))
	big := f.files["big"]
	size := int64(len(big))
	resp, _ := do(t, "HEAD", base+"/big", nil, "")
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || resp.ContentLength != size || etag == "" {
		t.Fatalf("HEAD: %s %d %q", resp.Status, resp.ContentLength, etag)
	}
	for _, c := range []struct {
		rng, ifRange string
		status       int
		from, to     int64 // the bytes expected, [from, to)
	}{
		{"bytes=0-0", "", 206, 0, 1},
		{"bytes=0-", "", 206, 0, size},
		{"bytes=4095-4096", "", 206, 4095, 4097},
		{"bytes=1000000-", "", 206, 1000000, size},
		{"bytes=-10", "", 206, size - 10, size},
		{"bytes=-" + fmt.Sprint(size+5), "", 206, 0, size},
		{fmt.Sprintf("bytes=%d-%d", size-1, size+100), "", 206, size - 1, size},
		{fmt.Sprintf("bytes=%d-", size), "", 416, 0, 0},
		{"bytes=-0", "", 416, 0, 0},
		{"bytes=0-1,5-6", "", 200, 0, size},
		{"bytes=5-1", "", 200, 0, size},
		{"items=0-1", "", 200, 0, size},
		{"bytes=1-2", etag, 206, 1, 3},
		{"bytes=1-2", `"other"`, 200, 0, size},
		{"bytes=1-2", "W/" + etag, 200, 0, size},
	} {
		hdr := map[string]string{"Range": c.rng}
		if c.ifRange != "" {
			hdr["If-Range"] = c.ifRange
		}
		resp, body := do(t, "GET", base+"/big", hdr, "")
		if resp.StatusCode != c.status {
			t.Errorf("%s: %s", c.rng, resp.Status)
			continue
		}
		if c.status == 416 {
			if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes */%d", size) {
				t.Errorf("%s: Content-Range %q", c.rng, cr)
			}
			continue
		}
		if !bytes.Equal(body, big[c.from:c.to]) {
			t.Errorf("%s: got %d bytes, want [%d, %d)", c.rng, len(body), c.from, c.to)
		}
		if want := fmt.Sprintf("bytes %d-%d/%d", c.from, c.to-1, size); c.status == 206 && resp.Header.Get("Content-Range") != want {
			t.Errorf("%s: Content-Range %q, want %q", c.rng, resp.Header.Get("Content-Range"), want)
		}
	}
	// An empty file ignores ranges.
	if resp, body := do(t, "GET", base+"/empty", map[string]string{"Range": "bytes=0-10"}, ""); resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("empty file: %s %d bytes", resp.Status, len(body))
	}
}

func TestBadPaths(t *testing.T) {
	f := newFixture(t)
	base := server(t, NewBackup(f.backup(t), Options{}))
	for _, p := range []string{"/sub/../one", "/./one", "/sub//a.txt", "/sub%2Fa.txt", "/a%00b", "/%zz"} {
		req, _ := http.NewRequest("GET", base, nil)
		req.URL.Opaque = p // sent as written, not cleaned by the client
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %s", p, resp.Status)
		}
	}
}

// TestIndex: GET of a directory lists it as links.
func TestIndex(t *testing.T) {
	f := newFixture(t)
	base := server(t, NewBackup(f.backup(t), Options{}))
	resp, body := do(t, "GET", base+"/sub/", nil, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<a href="a.txt">a.txt</a>`) || !strings.Contains(string(body), `<a href="deep/">deep/</a>`) {
		t.Errorf("%s\n%s", resp.Status, body)
	}
	if strings.Contains(string(body), "link") {
		t.Error("the symlink is listed")
	}
	// A ':' would make the relative link a URL of scheme "x".
	if !strings.Contains(string(body), `<a href="x%3Ay">x:y</a>`) {
		t.Errorf("x:y is not linked as x%%3Ay:\n%s", body)
	}
}

// TestSlowPropfindBody: a PROPFIND body that does not arrive in time is
// refused rather than holding its connection and a request slot.
func TestSlowPropfindBody(t *testing.T) {
	f := newFixture(t)
	h := NewView(f.tree, Options{})
	h.bodyTimeout = 200 * time.Millisecond
	base := server(t, h)
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("PROPFIND", base+"/", pr)
	req.Header.Set("Depth", "1")
	req.ContentLength = 100
	go pw.Write([]byte("<?xml"))
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- nil
			return
		}
		resp.Body.Close()
		done <- resp
	}()
	select {
	case resp := <-done:
		if resp != nil && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("slow body: %s", resp.Status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a PROPFIND whose body never came was still waiting after 5 s")
	}
}

// cipherPath is the ciphertext path of plaintext rel in the export.
func (f *fixture) cipherPath(t *testing.T, rel string) string {
	t.Helper()
	crel, _ := f.backup(t).EncryptPath(rel)
	return filepath.Join(f.export, crel)
}

func flip(t *testing.T, p string, off int64) {
	t.Helper()
	fh, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var b [1]byte
	if _, err := fh.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	if _, err := fh.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

// TestDamage: a block that fails authentication is never a 200 with its
// bytes: an error status before the body when the first chunk fails, an
// aborted response after it; the log names the ciphertext path only.
func TestDamage(t *testing.T) {
	f := newFixture(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	base := server(t, NewBackup(f.backup(t), Options{Log: log}))
	cbig := f.cipherPath(t, "big")
	crel, _ := filepath.Rel(f.export, cbig)
	st, err := os.Stat(cbig)
	if err != nil {
		t.Fatal(err)
	}

	// A byte near the end: the status line is out when the block fails.
	flip(t, cbig, st.Size()-100)
	req, _ := http.NewRequest("GET", base+"/big", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || int64(len(data)) >= resp.ContentLength {
		t.Errorf("damaged last block: status %s, %d of %d bytes, err %v: the transfer looks complete", resp.Status, len(data), resp.ContentLength, err)
	}
	if !bytes.Equal(data, f.files["big"][:len(data)]) {
		t.Error("the bytes before the damage are wrong")
	}
	// A range in the damaged block (the last full one: "big" is 768 of
	// them and 17 bytes) fails before the body.
	rng := fmt.Sprintf("bytes=%d-%d", 767*4096+10, 767*4096+20)
	if resp, body := do(t, "GET", base+"/big", map[string]string{"Range": rng}, ""); resp.StatusCode != http.StatusBadGateway || len(body) > 200 {
		t.Errorf("range over the damaged block: %s %q", resp.Status, body)
	}
	flip(t, cbig, st.Size()-100)

	// A byte of the first block: 502 before any byte.
	flip(t, cbig, 40)
	if resp, body := do(t, "GET", base+"/big", nil, ""); resp.StatusCode != http.StatusBadGateway || len(body) > 200 {
		t.Errorf("damaged first block: %s, %d bytes", resp.Status, len(body))
	}
	flip(t, cbig, 40)
	if resp, body := do(t, "GET", base+"/big", nil, ""); resp.StatusCode != 200 || !bytes.Equal(body, f.files["big"]) {
		t.Errorf("repaired: %s", resp.Status)
	}

	// A small file is authenticated whole before its status line.
	ca := f.cipherPath(t, "sub/a.txt")
	flip(t, ca, 40)
	if resp, _ := do(t, "GET", base+"/sub/a.txt", nil, ""); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("damaged small file: %s", resp.Status)
	}
	out := logs.String()
	if !strings.Contains(out, crel) || !strings.Contains(out, "failed authentication") {
		t.Errorf("the log does not name %s:\n%s", crel, out)
	}
	noPlainNames(t, out)
}

// noPlainNames fails if log holds one of the fixture's distinctive
// plaintext names.
func noPlainNames(t *testing.T, log string) {
	t.Helper()
	for _, name := range []string{"a.txt", "b.txt", "deep", longName, "odd name", "non-utf8", "emptydir"} {
		if strings.Contains(log, name) {
			t.Errorf("the log holds the plaintext name %q:\n%s", name, log)
		}
	}
}

// TestViewUnavailable: while the plaintext directory is gone the view
// answers 503, never an empty listing that a sync tool would mirror.
func TestViewUnavailable(t *testing.T) {
	f := newFixture(t)
	base := server(t, NewView(f.tree, Options{}))
	if err := os.Rename(f.plain, f.plain+".moved"); err != nil {
		t.Fatal(err)
	}
	defer os.Rename(f.plain+".moved", f.plain)
	resp, _ := do(t, "PROPFIND", base+"/", map[string]string{"Depth": "1"}, "")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("PROPFIND of a vanished plaintext: %s", resp.Status)
	}
}

// TestViewLogs: the access log of the view names view paths only.
func TestViewLogs(t *testing.T) {
	f := newFixture(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	base := server(t, NewView(f.tree, Options{Log: log, Who: func(*http.Request) (string, bool) { return "alice@laptop", true }}))
	pull(t, base+"/")
	out := logs.String()
	if !strings.Contains(out, "key=alice@laptop") || !strings.Contains(out, "status=207") || !strings.Contains(out, "status=200") {
		t.Errorf("access log:\n%s", out)
	}
	noPlainNames(t, out)
}

// TestRevoked: a request whose key is no longer listed gets 403.
func TestRevoked(t *testing.T) {
	f := newFixture(t)
	base := server(t, NewView(f.tree, Options{Who: func(*http.Request) (string, bool) { return "bob", false }}))
	if resp, body := do(t, "GET", base+"/efs.toml", nil, ""); resp.StatusCode != http.StatusForbidden || bytes.Contains(body, []byte("version")) {
		t.Errorf("%s %s", resp.Status, body)
	}
}
