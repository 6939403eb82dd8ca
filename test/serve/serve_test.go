//go:build linux

package serve_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/efs-project/efs/internal/e2e"
	"github.com/efs-project/efs/internal/testenv"
	"github.com/efs-project/efs/internal/treesnap"
)

// keys is a server TLS directory and two client identities, of which only
// alice's is in the authorized keys file.
type keys struct {
	tlsDir, authorized string
	alice, bob         string // efs keygen directories
}

func newKeys(t *testing.T) keys {
	t.Helper()
	dir := t.TempDir()
	k := keys{
		tlsDir: filepath.Join(dir, "tls"), authorized: filepath.Join(dir, "authorized_keys"),
		alice: filepath.Join(dir, "alice"), bob: filepath.Join(dir, "bob"),
	}
	line := strings.TrimSpace(e2e.MustEfs(t, "keygen", "--comment", "alice@test", k.alice).Stdout)
	e2e.MustEfs(t, "keygen", "--comment", "bob@test", k.bob)
	if err := os.WriteFile(k.authorized, []byte("# who may pull\n"+line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return k
}

// server is a running efs serve.
type server struct {
	addr string
	cmd  *exec.Cmd
	log  string // the file its stderr goes to
}

// startServe runs efs serve on 127.0.0.1 with a free port, waits for its
// "serving" line and stops it (SIGTERM) when the test ends.
func startServe(t *testing.T, k keys, args ...string) *server {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "serve.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]string{"serve", "--passfile", e2e.Passfile(t), "--listen", "127.0.0.1:0",
		"--tls-dir", k.tlsDir, "--authorized-keys", k.authorized}, args...)
	cmd := exec.Command(e2e.Bin(t), all...)
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	s := &server{cmd: cmd, log: logPath}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("efs serve after SIGTERM: %v\n%s", err, s.logText(t))
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("efs serve did not stop within 20 s of SIGTERM")
		}
	})
	addrRE := regexp.MustCompile(`msg="serving [^"]*" addr=(127\.0\.0\.1:\d+)`)
	for i := 0; ; i++ {
		if m := addrRE.FindStringSubmatch(s.logText(t)); m != nil {
			s.addr = m[1]
			return s
		}
		select {
		case err := <-exited:
			t.Fatalf("efs serve exited: %v\n%s", err, s.logText(t))
		case <-time.After(50 * time.Millisecond):
		}
		if i > 400 {
			t.Fatalf("efs serve did not start:\n%s", s.logText(t))
		}
	}
}

func (s *server) logText(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(s.log)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// remote is the rclone connection string of the server, over https or,
// for the refusal test, http.
func (s *server) remote(scheme string) string {
	return fmt.Sprintf(`:webdav,url="%s://%s":`, scheme, s.addr)
}

// rcloneFlags pin the server's certificate and present who's key ("" for
// no key).
func rcloneFlags(k keys, who string) []string {
	f := []string{"--ca-cert", filepath.Join(k.tlsDir, "server.crt")}
	if who != "" {
		f = append(f, "--client-cert", filepath.Join(who, "client.crt"), "--client-key", filepath.Join(who, "client.key"))
	}
	return f
}

// rclone runs rclone with args, quiet and without retries, and returns
// its combined output and whether it succeeded.
func rclone(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	args = append(args, "-q", "--retries", "1", "--low-level-retries", "1", "--config", "/dev/null")
	out, err := exec.Command("rclone", args...).CombinedOutput()
	return string(out), err == nil
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.SkipOrFail(t, "%s not installed", tool)
		}
	}
}

// plainTree is a tree with what WebDAV carries (files at block edges and
// a few MiB, long, odd and non-UTF-8 names, an empty directory) and what
// it cannot (symlinks); a fifo the view leaves out.
func plainTree(t *testing.T, dir string) {
	t.Helper()
	r := rand.New(rand.NewPCG(13, 17))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for _, n := range []int{0, 1, 4095, 4096, 4097, 262143, 262144, 262145, 5<<20 + 3} {
		e2e.WriteFile(t, filepath.Join(dir, "sizes", fmt.Sprintf("f%08d", n)), random(n))
	}
	e2e.WriteFile(t, filepath.Join(dir, "names", strings.Repeat("a long name ", 20)), []byte("long"))
	e2e.WriteFile(t, filepath.Join(dir, "names", "odd & <name> %41 ?#;.txt"), []byte("odd"))
	e2e.WriteFile(t, filepath.Join(dir, "names", "latin1-\xe9t\xe9"), []byte("not UTF-8"))
	e2e.WriteFile(t, filepath.Join(dir, "deep", "a", "b", "c", "d", "bottom"), []byte("deep"))
	if err := os.MkdirAll(filepath.Join(dir, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sizes/f00000001", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// plainNames are names of plainTree that must never reach a log line.
var plainNames = []string{"sizes", "f00004096", "a long name", "odd & <name>", "latin1", "deep", "bottom", "emptydir"}

func noPlainNames(t *testing.T, log string) {
	t.Helper()
	for _, n := range plainNames {
		if strings.Contains(log, n) {
			t.Errorf("the server log holds the plaintext name %q", n)
		}
	}
}

// files reads every regular file below root by relative path, and lists
// its directories and symlinks.
func files(t *testing.T, root string) (map[string][]byte, []string, []string) {
	t.Helper()
	out := map[string][]byte{}
	var dirs, links []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[rel] = data
		case d.IsDir():
			dirs = append(dirs, rel)
		case d.Type()&os.ModeSymlink != 0:
			links = append(links, rel)
		}
		return nil
	})
	return out, dirs, links
}

// sameFiles fails unless got holds exactly want's regular files and
// directories, byte for byte (leaving out skip).
func sameFiles(t *testing.T, what, want, got string, skip ...string) {
	t.Helper()
	wf, wd, _ := files(t, want)
	gf, gd, _ := files(t, got)
	for _, s := range skip {
		delete(wf, s)
	}
	if a, b := strings.Join(wd, "\n"), strings.Join(gd, "\n"); a != b {
		t.Errorf("%s: directories differ:\n%s\n--- and ---\n%s", what, a, b)
	}
	for rel, data := range wf {
		if g, ok := gf[rel]; !ok {
			t.Errorf("%s: %q missing", what, rel)
		} else if !bytes.Equal(g, data) {
			t.Errorf("%s: %q differs", what, rel)
		}
	}
	for rel := range gf {
		if _, ok := wf[rel]; !ok {
			t.Errorf("%s: %q extra", what, rel)
		}
	}
}

// TestPullWithRclone: the authorized client pulls the view with rclone's
// webdav backend; the copy is efs export's, byte for byte, and restores
// to the plaintext. The other key, no key, plain HTTP and every write
// are refused, and nothing is written to PLAINDIR.
func TestPullWithRclone(t *testing.T) {
	needTools(t, "rclone", "curl")
	plain := t.TempDir()
	plainTree(t, plain)
	e2e.InitTree(t, plain)
	k := newKeys(t)
	before := treesnap.Take(t, plain)
	s := startServe(t, k, plain)
	if !strings.Contains(s.logText(t), "made a new server certificate") {
		t.Errorf("no new certificate reported:\n%s", s.logText(t))
	}

	pulled := filepath.Join(t.TempDir(), "pulled")
	if out, ok := rclone(t, append([]string{"copy", "--create-empty-src-dirs", s.remote("https"), pulled}, rcloneFlags(k, k.alice)...)...); !ok {
		t.Fatalf("rclone copy: %s\n%s", out, s.logText(t))
	}
	export := filepath.Join(t.TempDir(), "export")
	e2e.MustEfs(t, "export", "-q", "--passfile", e2e.Passfile(t), plain, export)
	sameFiles(t, "pulled vs export", export, pulled)
	_, _, links := files(t, pulled)
	if len(links) > 0 {
		t.Errorf("the pull holds symlinks: %v", links)
	}
	if out, ok := rclone(t, append([]string{"check", s.remote("https"), export}, rcloneFlags(k, k.alice)...)...); !ok {
		t.Errorf("rclone check against the export: %s", out)
	}

	// Restore of the pulled copy: every file and directory of the
	// plaintext. Symlinks come back only from directory records (format
	// v2), which the pull carries like any file; without them a pull
	// lacks its symlinks.
	restored := filepath.Join(t.TempDir(), "restored")
	r := e2e.RunEfs(t, "restore", "-q", "--passfile", e2e.Passfile(t), pulled, restored)
	if r.Code != 0 {
		t.Fatalf("efs restore of the pull: exit %d\n%s", r.Code, r.Stderr)
	}
	sameFiles(t, "restored pull vs plaintext", plain, restored, ".efs.toml")
	hasRecords := false
	filepath.WalkDir(pulled, func(p string, d os.DirEntry, err error) error {
		hasRecords = hasRecords || d.Name() == "efs.dir"
		return nil
	})
	target, err := os.Readlink(filepath.Join(restored, "link"))
	switch {
	case hasRecords && (err != nil || target != "sizes/f00000001"):
		t.Errorf("the records did not restore the symlink: %q, %v", target, err)
	case !hasRecords && err == nil:
		t.Errorf("a symlink restored without directory records")
	case !hasRecords:
		t.Log("the view has no directory records yet: a pulled copy restores without its symlinks")
	}

	// Refused: the other key, no key, plain HTTP.
	for _, c := range []struct {
		name, scheme, who string
	}{{"unlisted key", "https", k.bob}, {"no key", "https", ""}, {"plain HTTP", "http", k.alice}} {
		out, ok := rclone(t, append([]string{"lsf", "-R", s.remote(c.scheme)}, rcloneFlags(k, c.who)...)...)
		if ok || strings.Contains(out, "efs.toml") {
			t.Errorf("%s: rclone lsf succeeded:\n%s", c.name, out)
		}
	}
	// Refused: writes, through rclone and by hand. (rclone mkdir takes
	// MKCOL's 405 for "already exists" and exits 0; the snapshot below
	// shows nothing was made.)
	src := t.TempDir()
	e2e.WriteFile(t, filepath.Join(src, "new.txt"), []byte("new"))
	for _, args := range [][]string{
		{"copy", src, s.remote("https")},
		{"delete", s.remote("https")},
		{"purge", s.remote("https") + "x"},
	} {
		if out, ok := rclone(t, append(args, rcloneFlags(k, k.alice)...)...); ok {
			t.Errorf("rclone %s succeeded: %s", args[0], out)
		}
	}
	curl := []string{"-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", filepath.Join(k.tlsDir, "server.crt"),
		"--cert", filepath.Join(k.alice, "client.crt"), "--key", filepath.Join(k.alice, "client.key")}
	base := "https://" + s.addr
	for _, m := range [][]string{{"-X", "PUT", "--data", "x", base + "/new"}, {"-X", "DELETE", base + "/efs.toml"}, {"-X", "MKCOL", base + "/newdir"},
		{"-X", "PROPPATCH", base + "/efs.toml"}, {"-X", "MOVE", "-H", "Destination: " + base + "/moved", base + "/efs.toml"}} {
		out, _ := exec.Command("curl", append(curl, m...)...).Output()
		if string(out) != "405" {
			t.Errorf("curl %v: status %s, want 405", m, out)
		}
	}
	if out, _ := exec.Command("curl", append(curl, "-X", "PROPFIND", "-H", "Depth: infinity", base+"/")...).Output(); string(out) != "403" {
		t.Errorf("PROPFIND Depth infinity: %s, want 403", out)
	}
	if d := treesnap.Diff(before, treesnap.Take(t, plain), "before", "after"); len(d) > 0 {
		t.Errorf("PLAINDIR changed:\n%s", strings.Join(d, "\n"))
	}
	log := s.logText(t)
	noPlainNames(t, log)
	for _, want := range []string{"key=alice@test", "is not in the authorized keys file", "client didn't provide a certificate", "first record does not look like a TLS handshake", "status=405"} {
		if !strings.Contains(log, want) {
			t.Errorf("the server log lacks %q:\n%s", want, log)
		}
	}

	// A second start reuses the certificate the clients pinned.
	crt, _ := os.ReadFile(filepath.Join(k.tlsDir, "server.crt"))
	s2 := startServe(t, k, plain)
	if strings.Contains(s2.logText(t), "made a new server certificate") {
		t.Error("the second start made a new certificate")
	}
	if again, _ := os.ReadFile(filepath.Join(k.tlsDir, "server.crt")); !bytes.Equal(again, crt) {
		t.Error("server.crt changed")
	}
	if out, ok := rclone(t, append([]string{"lsf", s2.remote("https")}, rcloneFlags(k, k.alice)...)...); !ok || !strings.Contains(out, "efs.toml") {
		t.Errorf("rclone lsf after a restart: %s", out)
	}
}

// curlGet fetches path from a backup server as alice and returns the body,
// the status and curl's exit code (18: the transfer ended before its
// Content-Length).
func curlGet(t *testing.T, k keys, s *server, path string) ([]byte, string, int) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "body")
	cmd := exec.Command("curl", "-sS", "-o", out, "-w", "%{http_code}", "--cacert", filepath.Join(k.tlsDir, "server.crt"),
		"--cert", filepath.Join(k.alice, "client.crt"), "--key", filepath.Join(k.alice, "client.key"), "https://"+s.addr+path)
	status, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(out)
	return body, string(status), code
}

// TestServeBackup: the backup by plaintext path is the plaintext; after a
// flipped ciphertext byte the same GET does not return the file as intact
// and the log names the ciphertext path.
func TestServeBackup(t *testing.T) {
	needTools(t, "rclone", "curl")
	plain := t.TempDir()
	plainTree(t, plain)
	e2e.InitTree(t, plain)
	backup := filepath.Join(t.TempDir(), "backup")
	e2e.MustEfs(t, "export", "-q", "--passfile", e2e.Passfile(t), plain, backup)
	k := newKeys(t)
	s := startServe(t, k, "--backup", backup)

	for _, rel := range []string{"sizes/f00004097", "names/odd & <name> %41 ?#;.txt", "names/latin1-\xe9t\xe9", "sizes/f05242883"} {
		want, _ := os.ReadFile(filepath.Join(plain, rel))
		esc := strings.NewReplacer(" ", "%20", "&", "%26", "<", "%3C", ">", "%3E", "%", "%25", "?", "%3F", "#", "%23", ";", "%3B", "\xe9", "%E9").Replace(rel)
		body, status, code := curlGet(t, k, s, "/"+esc)
		if status != "200" || code != 0 || !bytes.Equal(body, want) {
			t.Errorf("GET %q: %s (curl %d), %d bytes, want %d", rel, status, code, len(body), len(want))
		}
	}
	pulled := filepath.Join(t.TempDir(), "pulled")
	if out, ok := rclone(t, append([]string{"copy", "--create-empty-src-dirs", s.remote("https"), pulled}, rcloneFlags(k, k.alice)...)...); !ok {
		t.Fatalf("rclone copy of the backup: %s", out)
	}
	sameFiles(t, "pulled backup vs plaintext", plain, pulled, ".efs.toml")

	// The first block of a small file, then the last blocks of the 5 MiB
	// one (after the first chunk, sent with the status line).
	crel := func(rel string) string {
		return strings.TrimSpace(e2e.MustEfs(t, "encrypt-path", "--passfile", e2e.Passfile(t), plain, rel).Stdout)
	}
	small, big := crel("sizes/f00004097"), crel("sizes/f05242883")
	flipByte(t, filepath.Join(backup, small), 40)
	body, status, code := curlGet(t, k, s, "/sizes/f00004097")
	if status != "502" || len(body) > 300 {
		t.Errorf("damaged small file: %s (curl %d), %d bytes", status, code, len(body))
	}
	st, err := os.Stat(filepath.Join(backup, big))
	if err != nil {
		t.Fatal(err)
	}
	flipByte(t, filepath.Join(backup, big), st.Size()-50)
	body, status, code = curlGet(t, k, s, "/sizes/f05242883")
	if code == 0 || len(body) >= 5<<20+3 {
		t.Errorf("damaged end of a large file: %s, curl exit %d, %d bytes: the transfer looks complete", status, code, len(body))
	}
	if out, ok := rclone(t, append([]string{"copy", s.remote("https") + "sizes", filepath.Join(t.TempDir(), "again")}, rcloneFlags(k, k.alice)...)...); ok {
		t.Errorf("rclone copy of damaged files succeeded: %s", out)
	}
	log := s.logText(t)
	for _, c := range []string{small, big} {
		if !strings.Contains(log, c) {
			t.Errorf("the log does not name the ciphertext path %s:\n%s", c, log)
		}
	}
	if !strings.Contains(log, "failed authentication mid-response, aborting it") {
		t.Errorf("no aborted response in the log:\n%s", log)
	}
	noPlainNames(t, log)
}

func flipByte(t *testing.T, p string, off int64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

// TestLoad: 16 clients for EFS_SERVE_LOAD (default 20s) pull whole files
// and random ranges of the view in parallel: no error, every byte the
// export's, and the daemon's memory bounded.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	dur := 20 * time.Second
	if v := os.Getenv("EFS_SERVE_LOAD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		dur = d
	}
	plain := t.TempDir()
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 40 {
		n := []int{0, 100, 4096, 70000, 1 << 20, 3<<20 + 5}[i%6]
		if i == 0 {
			n = 64 << 20
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		e2e.WriteFile(t, filepath.Join(plain, fmt.Sprintf("d%d", i%4), fmt.Sprintf("file%02d", i)), b)
	}
	e2e.InitTree(t, plain)
	export := filepath.Join(t.TempDir(), "export")
	e2e.MustEfs(t, "export", "-q", "--passfile", e2e.Passfile(t), plain, export)
	want, _, _ := files(t, export)
	var paths []string
	for p := range want {
		paths = append(paths, p)
	}
	k := newKeys(t)
	s := startServe(t, k, plain)

	crt, err := os.ReadFile(filepath.Join(k.tlsDir, "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pin := x509.NewCertPool()
	pin.AppendCertsFromPEM(crt)
	cert, err := tls.LoadX509KeyPair(filepath.Join(k.alice, "client.crt"), filepath.Join(k.alice, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var errs []string
	var requests, bytesRead int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(dur)
	for c := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pin, Certificates: []tls.Certificate{cert}}}}
			rr := rand.New(rand.NewPCG(uint64(c), 99))
			for time.Now().Before(deadline) {
				p := paths[rr.IntN(len(paths))]
				data := want[p]
				req, _ := http.NewRequest("GET", "https://"+s.addr+"/"+p, nil)
				from, to := 0, len(data)
				if rr.IntN(2) == 0 && len(data) > 0 {
					from = rr.IntN(len(data))
					to = from + 1 + rr.IntN(min(len(data)-from, 2<<20))
					req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, to-1))
				}
				resp, err := cl.Do(req)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				requests++
				bytesRead += int64(len(body))
				switch {
				case err != nil:
					errs = append(errs, fmt.Sprintf("%s: %v", p, err))
				case resp.StatusCode != 200 && resp.StatusCode != 206:
					errs = append(errs, fmt.Sprintf("%s: %s", p, resp.Status))
				case !bytes.Equal(body, data[from:to]):
					errs = append(errs, fmt.Sprintf("%s [%d,%d): wrong bytes", p, from, to))
				}
				mu.Unlock()
			}
		}()
	}
	pid := s.cmd.Process.Pid
	peak := 0
	for time.Now().Before(deadline) {
		peak = max(peak, int(testenv.StatusKiB(t, pid, "VmRSS")))
		time.Sleep(500 * time.Millisecond)
	}
	wg.Wait()
	hwm := int(testenv.StatusKiB(t, pid, "VmHWM"))
	t.Logf("%d requests, %.0f MB in %v by 16 clients (%.0f MB/s); daemon RSS peak sampled %d MiB, VmHWM %d MiB",
		requests, float64(bytesRead)/1e6, dur, float64(bytesRead)/1e6/dur.Seconds(), peak>>10, hwm>>10)
	if len(errs) > 0 {
		t.Errorf("%d of %d requests failed, e.g.:\n%s", len(errs), requests, strings.Join(errs[:min(10, len(errs))], "\n"))
	}
	// 16 requests × one 256 KiB buffer, the TLS state and the garbage
	// collector's headroom: far below the 64 MiB file served whole.
	if hwm > 150<<10 {
		t.Errorf("daemon VmHWM %d MiB, want at most 150", hwm>>10)
	}
}
